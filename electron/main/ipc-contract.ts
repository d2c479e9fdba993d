// What crosses between the preload and the main process: the channel names, which helper methods
// a window may call, the app-only methods, and the checks main makes before forwarding anything
// to the helper. Every reply is a value ({ ok, value } or { ok: false, error }), so an error keeps
// its code and message across Electron's IPC (a thrown Error would arrive as a bare message).
//
// Which helper methods: every one of the schema's, because a window may do nothing the `umbra`
// CLI could not do with the same socket permissions; main checks method names and params with the
// schema before forwarding. `subscribe` is the exception: it ties the event stream to one window,
// so it has its own channel.
import { z } from 'zod';
import { ErrorCode, METHOD_NAMES, RpcError, type MethodName, type Params } from '../../helper/ipc/schema.js';
import { splitAppMethods, type SplitAppMethodName } from '../../helper/ipc/split-apps.js';
import type { HostInfo } from '../../helper/ipc/tunnel-words.js';
import { describeIssues, validateParams } from '../../helper/ipc/validation.js';

/** Channel names. The preload (electron/preload/index.cts) spells the same ones. */
export const CHANNELS = {
  /** invoke { method, params } → Reply: one helper method. */
  call: 'umbra:call',
  /** invoke → Reply<Snapshot>: the picture now; this window gets `event` from then on. */
  subscribe: 'umbra:subscribe',
  /** send: this window stops getting `event`. */
  unsubscribe: 'umbra:unsubscribe',
  /** invoke → ReachableInfo: whether the helper can be reached now. */
  getReachable: 'umbra:get-reachable',
  /** invoke { method, params } → Reply: an app-only method (launch at login, split tunnelling's apps). */
  app: 'umbra:app',
  /** main → window: a HelperEvent, to subscribed windows. */
  event: 'umbra:event',
  /** main → window: (reachable: boolean, message?: string, host?: HostInfo), to every window. */
  reachable: 'umbra:reachable',
} as const;

/** An error as it crosses to the renderer (renderer/api.ts UmbraError). */
export interface UmbraError {
  code: number | string;
  message: string;
}

export type Reply<T> = { ok: true; value: T } | { ok: false; error: UmbraError };

export interface ReachableInfo {
  /** false until the first connection attempt has an outcome. */
  known: boolean;
  reachable: boolean;
  message?: string;
  /** What the helper-down page needs from main: how this copy was installed, whether the last status held a block. */
  host?: HostInfo;
}

/** Helper methods a window may call through CHANNELS.call. */
export const RENDERER_METHODS: readonly MethodName[] = Object.freeze(METHOD_NAMES.filter((m) => m !== 'subscribe'));
const rendererMethods = new Set<string>(RENDERER_METHODS);

/** Methods the main process answers itself (settings it owns, not the helper). */
const appMethods = {
  getLaunchAtLogin: { params: z.strictObject({}), result: z.boolean() },
  setLaunchAtLogin: { params: z.strictObject({ enabled: z.boolean() }), result: z.boolean() },
  ...splitAppMethods,
} as const;
export type AppMethodName = keyof typeof appMethods;
type AppParams<M extends AppMethodName> = z.infer<(typeof appMethods)[M]['params']>;
export const APP_METHOD_NAMES = Object.freeze(Object.keys(appMethods) as AppMethodName[]);

export type CallRequest = { [M in MethodName]: { method: M; params: Params<M> } }[MethodName];
export type AppRequest = { [M in AppMethodName]: { method: M; params: AppParams<M> } }[AppMethodName];
export type Checked<T> = { ok: true; value: T } | { ok: false; error: UmbraError };

function envelope(req: unknown): { method: string; params: unknown } | UmbraError {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return { code: ErrorCode.InvalidRequest, message: 'a request is an object { method, params }' };
  }
  const extra = Object.keys(req).filter((k) => k !== 'method' && k !== 'params');
  if (extra.length > 0) return { code: ErrorCode.InvalidRequest, message: `a request has only method and params, not ${extra.join(', ')}` };
  const { method, params } = req as { method?: unknown; params?: unknown };
  if (typeof method !== 'string') return { code: ErrorCode.InvalidRequest, message: 'a request names its method as a string' };
  return { method, params };
}

/** A window's helper call, checked against the allowlist and the schema. */
export function checkCallRequest(req: unknown): Checked<CallRequest> {
  const env = envelope(req);
  if ('code' in env) return { ok: false, error: env };
  if (!rendererMethods.has(env.method)) {
    const hint = env.method === 'subscribe' ? ': use umbra.subscribe()' : '';
    return { ok: false, error: { code: ErrorCode.MethodNotFound, message: `the app cannot call ${JSON.stringify(env.method.slice(0, 64))}${hint}` } };
  }
  const method = env.method as MethodName;
  const checked = validateParams(method, env.params);
  if (!checked.ok) return { ok: false, error: toUmbraError(checked.error) };
  return { ok: true, value: { method, params: checked.value } as CallRequest };
}

/** A window's app-only call, checked; `only`: the methods this host answers (browser mode has no launch at login). */
export function checkAppRequest(req: unknown, only?: ReadonlySet<AppMethodName>): Checked<AppRequest> {
  const env = envelope(req);
  if ('code' in env) return { ok: false, error: env };
  if (!Object.hasOwn(appMethods, env.method) || (only && !only.has(env.method as AppMethodName))) {
    return { ok: false, error: { code: ErrorCode.MethodNotFound, message: `the app has no method ${JSON.stringify(env.method.slice(0, 64))}` } };
  }
  const method = env.method as AppMethodName;
  const parsed = appMethods[method].params.safeParse(env.params === undefined ? {} : env.params);
  if (!parsed.success) {
    return { ok: false, error: { code: ErrorCode.InvalidParams, message: `invalid params for ${method}: ${describeIssues(parsed.error.issues, 'params')}` } };
  }
  return { ok: true, value: { method, params: parsed.data } as AppRequest };
}

export const SPLIT_APP_METHODS: ReadonlySet<AppMethodName> = new Set(Object.keys(splitAppMethods) as SplitAppMethodName[]);

export const isSplitAppRequest = (r: AppRequest): r is Extract<AppRequest, { method: SplitAppMethodName }> => SPLIT_APP_METHODS.has(r.method);

/**
 * Any rejection as an UmbraError: RpcError keeps its numeric code, IpcError its kind, an
 * UmbraError passes through; nothing else of the error (stack, data, cause) crosses.
 */
export function toUmbraError(reason: unknown): UmbraError {
  if (reason instanceof RpcError) return { code: reason.code, message: reason.message };
  if (typeof reason === 'object' && reason !== null) {
    const r = reason as { code?: unknown; kind?: unknown; message?: unknown };
    const message = typeof r.message === 'string' && r.message.trim() !== '' ? r.message : 'something went wrong, and the helper gave no reason';
    const code = typeof r.kind === 'string' ? r.kind : typeof r.code === 'number' || typeof r.code === 'string' ? r.code : 'error';
    return { code, message };
  }
  if (typeof reason === 'string' && reason.trim() !== '') return { code: 'error', message: reason };
  return { code: 'error', message: 'something went wrong, and the helper gave no reason' };
}

const NOT_RUNNING_MESSAGE = 'the Umbra helper is not running';

/** The error for "the helper cannot be reached", with a code the renderer can tell apart. */
export function unreachableError(message: string | undefined): UmbraError {
  const text = message ?? NOT_RUNNING_MESSAGE;
  const code = /permission denied/i.test(text) ? 'permission-denied' : /not running/i.test(text) ? 'not-running' : 'unreachable';
  return { code, message: text };
}
