// The preload: exposes `window.umbra` (renderer/api.ts) and nothing else. It runs sandboxed, so
// it is CommonJS and self-contained: its only import at run time is 'electron' (a sandboxed
// preload cannot load other files). The channel names below are those of
// electron/main/ipc-contract.ts; preload.test.ts runs this file against the main side to hold
// the two together. No Electron object (ipcRenderer, an IPC event) ever reaches the page.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS form of import; sandboxed preloads cannot be ES modules
import electron = require('electron');
import type { DesktopAppInfo, ExcludedApp, HelperEvent, HostInfo, MethodName, Params, Result, Snapshot, UmbraApi, UmbraError } from '../../renderer/api.js';

const CHANNELS = {
  call: 'umbra:call',
  subscribe: 'umbra:subscribe',
  unsubscribe: 'umbra:unsubscribe',
  getReachable: 'umbra:get-reachable',
  app: 'umbra:app',
  event: 'umbra:event',
  reachable: 'umbra:reachable',
} as const;

type Ipc = Pick<electron.IpcRenderer, 'invoke' | 'send' | 'on'>;

function umbraError(code: unknown, message: unknown): UmbraError {
  return {
    code: typeof code === 'number' || typeof code === 'string' ? code : 'error',
    message: typeof message === 'string' && message !== '' ? message : 'something went wrong, and the app gave no reason',
  };
}

/** Invokes `channel` and unwraps main's { ok, value } / { ok: false, error } reply. */
async function request<T>(ipc: Ipc, channel: string, payload?: unknown): Promise<T> {
  let reply: unknown;
  try {
    reply = await ipc.invoke(channel, payload);
  } catch (e) {
    throw umbraError('ipc', `the app's main process did not answer: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof reply === 'object' && reply !== null) {
    const r = reply as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
    if (r.ok === true) return r.value as T;
    if (r.ok === false) throw umbraError(r.error?.code, r.error?.message);
  }
  throw umbraError('ipc', "the app's main process sent a reply this window cannot read");
}

const INSTALL_KINDS: readonly string[] = ['package', 'appimage', 'demo', 'checkout'];

/** Main's HostInfo as a fresh plain object (nothing else of the message reaches the page). */
function hostInfo(v: unknown): HostInfo | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const h = v as { install?: unknown; socket?: unknown; lastBlocked?: unknown; elsewhere?: unknown };
  if (typeof h.install !== 'string' || !INSTALL_KINDS.includes(h.install)) return undefined;
  const out: HostInfo = { install: h.install as HostInfo['install'] };
  if (typeof h.socket === 'string') out.socket = h.socket;
  if (typeof h.lastBlocked === 'boolean') out.lastBlocked = h.lastBlocked;
  if (h.elsewhere === true) out.elsewhere = true;
  return out;
}

function createUmbraApi(ipc: Ipc): UmbraApi {
  let listener: ((event: HelperEvent) => void) | undefined;
  /** Bumped by every subscribe and unsubscribe: only the latest subscribe gets events. */
  let epoch = 0;
  const reachability = new Set<(reachable: boolean, message: string | undefined, host: HostInfo | undefined) => void>();

  ipc.on(CHANNELS.event, (_event, payload: unknown) => {
    if (listener && typeof payload === 'object' && payload !== null) listener(payload as HelperEvent);
  });
  ipc.on(CHANNELS.reachable, (_event, reachable: unknown, message: unknown, host: unknown) => {
    if (typeof reachable !== 'boolean') return;
    for (const deliver of [...reachability]) deliver(reachable, typeof message === 'string' ? message : undefined, hostInfo(host));
  });

  return {
    call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
      return request<Result<M>>(ipc, CHANNELS.call, { method, params });
    },

    async subscribe(onEvent: (event: HelperEvent) => void): Promise<Snapshot> {
      const mine = ++epoch;
      // Events still on the way belong to the picture about to arrive.
      listener = undefined;
      const snapshot = await request<Snapshot>(ipc, CHANNELS.subscribe);
      // Runs before the next message from main: events sent after the reply reach onEvent.
      if (mine === epoch) listener = onEvent;
      return snapshot;
    },

    unsubscribe(): void {
      epoch++;
      listener = undefined;
      ipc.send(CHANNELS.unsubscribe);
    },

    onConnectionChange(cb: (helperReachable: boolean, message?: string, host?: HostInfo) => void): () => void {
      let last: string | undefined;
      let active = true;
      const deliver = (reachable: boolean, message: string | undefined, host: HostInfo | undefined) => {
        const key = `${reachable}\n${message ?? ''}\n${host?.lastBlocked}`;
        if (!active || key === last) return;
        last = key;
        cb(reachable, message, host);
      };
      reachability.add(deliver);
      ipc.invoke(CHANNELS.getReachable).then(
        (info: unknown) => {
          const i = info as { known?: unknown; reachable?: unknown; message?: unknown; host?: unknown } | null;
          if (i && i.known === true && typeof i.reachable === 'boolean') deliver(i.reachable, typeof i.message === 'string' ? i.message : undefined, hostInfo(i.host));
        },
        () => undefined,
      );
      return () => {
        active = false;
        reachability.delete(deliver);
      };
    },

    app: {
      getLaunchAtLogin: () => request<boolean>(ipc, CHANNELS.app, { method: 'getLaunchAtLogin', params: {} }),
      setLaunchAtLogin: (enabled: boolean) => request<boolean>(ipc, CHANNELS.app, { method: 'setLaunchAtLogin', params: { enabled } }),
    },

    splitApps: {
      listInstalled: () => request<DesktopAppInfo[]>(ipc, CHANNELS.app, { method: 'listInstalledApps', params: {} }),
      listExcluded: () => request<ExcludedApp[]>(ipc, CHANNELS.app, { method: 'listExcludedApps', params: {} }),
      add: (id: string) => request<ExcludedApp[]>(ipc, CHANNELS.app, { method: 'addExcludedApp', params: { id } }),
      remove: (id: string) => request<ExcludedApp[]>(ipc, CHANNELS.app, { method: 'removeExcludedApp', params: { id } }),
      launch: (id: string) => request<{ pid: number }>(ipc, CHANNELS.app, { method: 'launchExcludedApp', params: { id } }),
    },
  };
}

electron.contextBridge.exposeInMainWorld('umbra', createUmbraApi(electron.ipcRenderer));
