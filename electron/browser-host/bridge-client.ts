// The page script of browser mode: `window.umbra` (renderer/api.ts's UmbraApi) over the
// browser-mode host's HTTP API, for a renderer served by the host instead of Electron.
//
// - call → POST /api/call; the helper's errors come back as {code, message} values.
// - subscribe / onConnectionChange → GET /api/events, a Server-Sent Events stream read with
//   fetch (EventSource cannot send the token header, and every /api request must carry it).
// - The token arrives in the address bar's fragment (#token=…, never sent to any server); this
//   script moves it to sessionStorage (this tab only) and takes it out of the address bar.
// - No launch-at-login (`app`): there is no Electron main process here. Split tunnelling's apps
//   (`splitApps`) → POST /api/app, which the host answers as Electron's main would.
//
// It runs in the page as one ES module (served as /umbra-bridge.js, before the app's own script),
// so it imports nothing at run time: only types, and the protocol's constants are repeated below,
// typed against protocol.ts so that the two cannot drift apart.
import type { SplitAppMethodName, SplitAppParams, SplitAppResult } from '../../helper/ipc/split-apps.js';
import type { HelperEvent, HostInfo, MethodName, Params, Result, Snapshot, UmbraApi, UmbraError } from '../../renderer/api.js';
import type * as P from './protocol.js';

const TOKEN_HEADER: typeof P.TOKEN_HEADER = 'x-umbra-token';
const CALL_PATH: typeof P.CALL_PATH = '/api/call';
const APP_PATH: typeof P.APP_PATH = '/api/app';
const EVENTS_PATH: typeof P.EVENTS_PATH = '/api/events';
const TOKEN_STORAGE_KEY: typeof P.TOKEN_STORAGE_KEY = 'umbra.browserHostToken';
const READY_EVENT = 'umbra:ready';

export const HOST_GONE_MESSAGE =
  'this page cannot reach the Umbra browser host that served it (it stopped): start it again and open the link it prints';
const NO_TOKEN_MESSAGE =
  'this page has no key for the Umbra browser host: open the link the host printed (it ends in #token=…)';
const TOKEN_REFUSED_MESSAGE =
  'the Umbra browser host refused this page\'s key (it was restarted?): open the link it printed again';

export interface BridgeOptions {
  /** The page's address; API paths are resolved against it. */
  baseUrl: string;
  /** The session's token; null: every call fails with a message saying how to get one. */
  token: string | null;
  fetch?: typeof fetch;
  /** Delays before reopening the event stream after the host went away, the last repeating. */
  retryMs?: number[];
}

export interface UmbraBridge extends UmbraApi {
  /** Stops the event stream and its retries (tests; a page never needs it). */
  close(): void;
}

interface Deferred {
  resolve(s: Snapshot): void;
  reject(e: UmbraError): void;
}

interface Stream {
  abort: AbortController;
  /** Events go to the listener only after this stream delivered the snapshot subscribe asked for. */
  delivering: boolean;
  pending: Deferred | undefined;
}

const DEFAULT_RETRY_MS = [500, 1000, 2000, 5000];

export function createUmbraBridge(opts: BridgeOptions): UmbraBridge {
  const fetchFn = opts.fetch ?? fetch;
  const retryMs = opts.retryMs && opts.retryMs.length > 0 ? opts.retryMs : DEFAULT_RETRY_MS;
  const token = opts.token;
  const url = (path: string) => new URL(path, opts.baseUrl).href;

  let listener: ((e: HelperEvent) => void) | null = null;
  const connCbs = new Set<(reachable: boolean, message?: string, host?: HostInfo) => void>();
  let reachable: boolean | undefined;
  let message: string | undefined;
  let host: HostInfo | undefined;
  let current: Stream | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let closed = false;

  function setReachable(r: boolean, m: string | undefined, h: HostInfo | undefined = host): void {
    const msg = r ? undefined : m;
    if (reachable === r && message === msg && host?.lastBlocked === h?.lastBlocked) return;
    reachable = r;
    message = msg;
    host = h;
    for (const cb of [...connCbs]) {
      try {
        cb(r, msg, h);
      } catch (e) {
        console.error('umbra bridge: a connection callback failed', e);
      }
    }
  }

  function headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, [TOKEN_HEADER]: token ?? '' };
  }

  function httpError(status: number): UmbraError {
    if (status === 403) return { code: 'forbidden', message: TOKEN_REFUSED_MESSAGE };
    return { code: 'host-error', message: `the Umbra browser host answered HTTP ${status}` };
  }

  function call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    return post(CALL_PATH, method, params) as Promise<Result<M>>;
  }

  function appCall<M extends SplitAppMethodName>(method: M, params: SplitAppParams<M>): Promise<SplitAppResult<M>> {
    return post(APP_PATH, method, params) as Promise<SplitAppResult<M>>;
  }

  async function post(path: string, method: string, params: unknown): Promise<unknown> {
    if (!token) throw { code: 'no-token', message: NO_TOKEN_MESSAGE } satisfies UmbraError;
    let res: Response;
    try {
      res = await fetchFn(url(path), {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json' }),
        body: JSON.stringify({ method, params: params ?? {} } satisfies P.CallRequest),
        credentials: 'omit',
      });
    } catch {
      throw { code: 'host-unreachable', message: HOST_GONE_MESSAGE } satisfies UmbraError;
    }
    if (!res.ok) throw httpError(res.status);
    let body: P.CallResponse;
    try {
      body = (await res.json()) as P.CallResponse;
    } catch {
      throw { code: 'host-error', message: 'the Umbra browser host sent an answer this page cannot read' } satisfies UmbraError;
    }
    if ('error' in body) throw { code: body.error.code, message: body.error.message } satisfies UmbraError;
    return body.result;
  }

  // ---------------------------------------------------------------- the event stream

  function closeStream(reason: UmbraError | undefined): void {
    const s = current;
    current = null;
    if (!s) return;
    s.abort.abort();
    if (s.pending && reason) s.pending.reject(reason);
    s.pending = undefined;
  }

  function openStream(pending?: Deferred): void {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    closeStream({ code: 'closed', message: 'a newer subscribe replaced this one' });
    const s: Stream = { abort: new AbortController(), delivering: false, pending };
    current = s;
    void readStream(s);
  }

  function retryLater(): void {
    if (closed || retryTimer) return;
    const delay = retryMs[Math.min(failures, retryMs.length - 1)]!;
    failures++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!current && !closed) openStream();
    }, delay);
  }

  async function readStream(s: Stream): Promise<void> {
    let res: Response;
    try {
      res = await fetchFn(url(EVENTS_PATH), { headers: headers({ accept: 'text/event-stream' }), credentials: 'omit', signal: s.abort.signal });
    } catch {
      return streamEnded(s, { code: 'host-unreachable', message: HOST_GONE_MESSAGE });
    }
    if (!res.ok || !res.body) {
      void res.body?.cancel().catch(() => undefined);
      const e = httpError(res.status);
      return streamEnded(s, e, res.status !== 403);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (current !== s) return;
          onBlock(s, block);
        }
      }
    } catch {
      /* aborted, or the host went away mid-stream */
    }
    streamEnded(s, { code: 'host-unreachable', message: HOST_GONE_MESSAGE });
  }

  function streamEnded(s: Stream, error: UmbraError, retry = true): void {
    if (current !== s) return; // replaced or closed on purpose
    current = null;
    s.pending?.reject(error);
    s.pending = undefined;
    setReachable(false, error.message);
    if (retry) retryLater();
  }

  function onBlock(s: Stream, block: string): void {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '') return; // a comment (keep-alive)
    let msg: P.StreamMessage;
    try {
      msg = JSON.parse(data) as P.StreamMessage;
    } catch {
      return;
    }
    switch (msg.type) {
      case 'reachable':
        failures = 0;
        if (!msg.reachable) {
          s.delivering = false;
          s.pending?.reject({ code: msg.code ?? 'not-running', message: msg.message ?? 'the Umbra helper cannot be reached' });
          s.pending = undefined;
        }
        setReachable(msg.reachable, msg.message, msg.host);
        return;
      case 'snapshot':
        // Only the snapshot a subscribe asked for starts delivery; after the helper comes back,
        // the renderer subscribes again (onConnectionChange's contract) for a fresh one.
        if (s.pending) {
          const p = s.pending;
          s.pending = undefined;
          s.delivering = true;
          p.resolve(msg.snapshot);
        }
        return;
      case 'snapshot-error':
        s.pending?.reject(msg.error);
        s.pending = undefined;
        return;
      case 'event':
        if (s.delivering && listener) listener(msg.event);
        return;
    }
  }

  // ---------------------------------------------------------------- UmbraApi

  const bridge: UmbraBridge = {
    call,
    splitApps: {
      listInstalled: () => appCall('listInstalledApps', {}),
      listExcluded: () => appCall('listExcludedApps', {}),
      add: (id) => appCall('addExcludedApp', { id }),
      remove: (id) => appCall('removeExcludedApp', { id }),
      launch: (id) => appCall('launchExcludedApp', { id }),
    },
    subscribe(onEvent) {
      listener = onEvent;
      if (!token) {
        setReachable(false, NO_TOKEN_MESSAGE);
        return Promise.reject({ code: 'no-token', message: NO_TOKEN_MESSAGE } satisfies UmbraError);
      }
      if (closed) return Promise.reject({ code: 'closed', message: 'the bridge is closed' } satisfies UmbraError);
      return new Promise<Snapshot>((resolve, reject) => openStream({ resolve, reject }));
    },
    unsubscribe() {
      listener = null;
      if (current) current.delivering = false;
    },
    onConnectionChange(cb) {
      connCbs.add(cb);
      if (!token) setReachable(false, NO_TOKEN_MESSAGE);
      else if (!current && !retryTimer && !closed) openStream();
      if (reachable !== undefined) {
        const r = reachable;
        const m = message;
        queueMicrotask(() => {
          if (connCbs.has(cb) && reachable === r && message === m) cb(r, m, host);
        });
      }
      return () => {
        connCbs.delete(cb);
      };
    },
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      closeStream({ code: 'closed', message: 'the bridge is closed' });
    },
  };
  return bridge;
}

// ------------------------------------------------------------------ in the page

/** The few browser globals this script uses (the project's Node typings have no DOM). */
export interface BridgeWindow {
  umbra?: UmbraApi;
  location: { href: string; hash: string; pathname: string; search: string };
  history: { state: unknown; replaceState(data: unknown, unused: string, url?: string): void };
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  fetch: typeof fetch;
  dispatchEvent(event: Event): boolean;
}

/** Takes the token out of the address bar (#token=…) into sessionStorage; returns the tab's token. */
export function takeToken(win: BridgeWindow): string | null {
  const m = /^#(?:.*&)?token=([A-Za-z0-9_-]{16,128})(?:&|$)/.exec(win.location.hash);
  let token = m?.[1] ?? null;
  if (m) {
    try {
      win.history.replaceState(win.history.state, '', win.location.pathname + win.location.search);
    } catch {
      /* the token stays visible; it still works */
    }
  }
  try {
    if (token) win.sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
    else token = win.sessionStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    /* storage disabled: works until the page is reloaded */
  }
  return token;
}

/** Sets window.umbra (read-only) and announces it with `umbra:ready`. */
function installUmbraBridge(win: BridgeWindow): void {
  if (win.umbra) return;
  const bridge = createUmbraBridge({ baseUrl: win.location.href, token: takeToken(win), fetch: win.fetch.bind(win) });
  const api: UmbraApi = Object.freeze({
    call: bridge.call,
    splitApps: Object.freeze(bridge.splitApps!),
    subscribe: bridge.subscribe,
    unsubscribe: bridge.unsubscribe,
    onConnectionChange: bridge.onConnectionChange,
  });
  Object.defineProperty(win, 'umbra', { value: api, writable: false, enumerable: true, configurable: false });
  win.dispatchEvent(new Event(READY_EVENT));
}

const page = globalThis as unknown as Partial<BridgeWindow> & { document?: unknown };
if (typeof page.document === 'object' && page.document !== null && page.location && page.history) installUmbraBridge(page as BridgeWindow);
