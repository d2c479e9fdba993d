// The renderer's state: a mirror of what the helper reported (a snapshot from `subscribe`, then
// its events), plus what is the UI's own (selection, favourites, which calls are in flight, the
// errors they returned). Nothing here guesses the helper's state: a call in flight shows as busy,
// and the shown state changes only when the helper reports it (in an event or a call's result).
import { createStore, type StoreApi } from 'zustand/vanilla';
import { toUmbraError, type HelperEvent, type HostInfo, type LeakCheckProgress, type NetworkRules, type LeakCheckResult, type LeakReport, type Params, type Result, type ServerInfo, type Settings, type TunnelState, type TunnelStatus, type UmbraApi, type UmbraError } from '../api.js';
import { gatherCandidates, webrtcCheck, webrtcElsewhere, type CandidateGatherer, type GatherResult } from '../features/leak-check/webrtc.js';

type HelperPhase = 'starting' | 'ready' | 'unreachable';
/** Where an error is shown. */
type ErrorScope = 'connection' | 'killSwitch' | 'settings' | 'import' | 'catalog' | 'launchAtLogin';
/** The settings a person toggles (the on/off ones; lastServerId is the helper's own). */
export type SwitchSetting = { [K in keyof Settings]-?: NonNullable<Settings[K]> extends boolean ? K : never }[keyof Settings];

/** The leak check: the helper's checks plus the page's own (WebRTC), as last run. */
export interface LeakCheckState {
  running: boolean;
  /** Every check's result, in order (the helper's, then WebRTC); null before the first run. */
  results: LeakCheckResult[] | null;
  /** The helper's report of the last run (null when it failed or before the first run). */
  report: LeakReport | null;
  /** Epoch ms of the last run, and the tunnel's state then. */
  checkedAt: number | null;
  state: TunnelState | null;
  /** Why the helper's checks could not run (the WebRTC check still shows). */
  error?: UmbraError;
  /** What started the last run: the button, or the status turning connected. */
  trigger: 'user' | 'connect' | null;
  /** While a run is under way: the helper's checks still running and its results so far, as it tells them (null until it does). */
  progress: Pick<LeakCheckProgress, 'running' | 'done'> | null;
}

/** How long the page gathers WebRTC candidates. */
const WEBRTC_GATHER_MS = 5_000;

interface Busy {
  /** Connect pressed; until the helper reports a new state (or the call fails). */
  connect: boolean;
  disconnect: boolean;
  settings: Partial<Record<SwitchSetting, boolean>>;
  import: boolean;
  catalog: boolean;
  launchAtLogin: boolean;
}

export interface UmbraState {
  helper: { phase: HelperPhase; message?: string };
  /** What the window's host said last: how this copy was installed, whether the helper's last status held a block. */
  host: HostInfo | null;
  /** The helper's last word on each; null until the snapshot. */
  status: TunnelStatus | null;
  settings: Settings | null;
  servers: ServerInfo[];
  /** Launch at login as the main process reports it; null when unknown or not offered. */
  launchAtLogin: boolean | null;
  selectedId: string | null;
  favourites: string[];
  busy: Busy;
  errors: Partial<Record<ErrorScope, UmbraError>>;
  leakCheck: LeakCheckState;
  /** The last config imported here and the lines the helper left out of it; null before one, and while the next is under way or after it failed. */
  imported: Result<'importConfig'> | null;
  /** What the helper said of the last catalog loaded here: signed by a pinned key, or not (null: none loaded, or an older helper). */
  catalogTrust: CatalogTrust | null;
  /** What the server search holds: it filters both the list and the map's markers. */
  serverQuery: string;
}

/** Whether a loaded catalog was signed, and by which key's fingerprint. */
type CatalogTrust = NonNullable<Result<'loadCatalog'>['trust']>;

/** A config's text and the name to give its server (e.g. the file's name). */
export interface ImportSource {
  text: string;
  name?: string;
}

/** The provider's signing key the person pinned, or their explicit consent to an unsigned catalog from a URL. */
interface CatalogOptions {
  signingKey?: string;
  allowUnsigned?: boolean;
}

export interface UmbraActions {
  /** Listens for reachability and subscribes; returns the function that stops both. */
  start(): () => void;
  /** Subscribes again (the "Try again" of the helper-down view). */
  retry(): Promise<void>;
  /** Connects to `serverId`, else the selected server, else the helper's choice (the last one). */
  connect(serverId?: string): Promise<void>;
  disconnect(): Promise<void>;
  setSetting(key: SwitchSetting, value: boolean): Promise<void>;
  /** The user's own DNS servers (null: each config's); resolves with the helper's error, if it refused them. */
  setDnsServers(servers: string[] | null): Promise<UmbraError | undefined>;
  /** Local network domains (Settings.lanDns); null: off. */
  setLanDns(lanDns: NonNullable<Settings['lanDns']> | null): Promise<UmbraError | undefined>;
  /** Trusted networks on (the rules) or off (null); resolves with the helper's error, if it refused. */
  setNetworkRules(rules: NetworkRules | null): Promise<UmbraError | undefined>;
  /** One network's rule and/or name ("current": the one the machine is on); resolves with the helper's error, if any. */
  setNetwork(params: Params<'setNetwork'>): Promise<UmbraError | undefined>;
  /** Resolves with the imported server and the lines the helper left out, or undefined (the error is in `errors.import`). */
  importConfig(text: string, name?: string): Promise<Result<'importConfig'> | undefined>;
  /**
   * The same, for a config the page must first read (a dropped or chosen file, a QR code image):
   * `read` runs while the import shows busy; its rejection is the import's error (no call is made).
   */
  importFrom(read: () => Promise<ImportSource>): Promise<Result<'importConfig'> | undefined>;
  /**
   * An http(s) URL (typed), or the text of a catalog file the person chose (read by the page: the
   * helper never opens a path); resolves with the number of servers, or undefined on error.
   */
  loadCatalog(source: string | { text: string }, opts?: CatalogOptions): Promise<number | undefined>;
  setLaunchAtLogin(enabled: boolean): Promise<void>;
  toggleFavourite(serverId: string): void;
  select(serverId: string | null): void;
  setServerQuery(query: string): void;
  dismissError(scope: ErrorScope): void;
  /** Runs every leak check (joins the run under way); also runs by itself when the status turns connected. */
  runLeakCheck(trigger?: 'user' | 'connect'): Promise<void>;
}

export type UmbraStore = StoreApi<UmbraState & UmbraActions>;

export const FAVOURITES_KEY = 'umbra.favourites';

type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem'>;

export interface StoreOptions {
  /** Where favourites live; default window.localStorage. */
  storage?: KeyValueStorage | null;
  /** How the WebRTC check gathers candidates; default: RTCPeerConnection (tests pass a fake). */
  webrtc?: CandidateGatherer;
}

const idle = (): Busy => ({ connect: false, disconnect: false, settings: {}, import: false, catalog: false, launchAtLogin: false });

const NOT_RUNNING_MESSAGE = 'the Umbra helper is not running';

export function createUmbraStore(api: UmbraApi, options: StoreOptions = {}): UmbraStore {
  const storage = options.storage === undefined ? defaultStorage() : options.storage;
  const gather: CandidateGatherer = options.webrtc ?? ((stun, ms) => gatherCandidates(stun, ms));
  /** The leak check under way, if any. */
  let leakRun: Promise<void> | undefined;

  // Counters of what the helper reported, so a call's result never overwrites a newer event.
  let statusSeq = 0;
  let settingsSeq = 0;
  let serversSeq = 0;
  /** The state when Connect/Disconnect was pressed: busy ends when the helper reports another. */
  let pressedFrom: TunnelStatus['state'] | undefined;
  /** Which subscription is current; events and snapshots of older ones are dropped. */
  let generation = 0;

  const store = createStore<UmbraState & UmbraActions>()((set, get) => {
    const fail = (scope: ErrorScope, reason: unknown) => set((s) => ({ errors: { ...s.errors, [scope]: toUmbraError(reason) } }));
    const clear = (scope: ErrorScope) => {
      if (get().errors[scope]) set((s) => ({ errors: { ...s.errors, [scope]: undefined } }));
    };
    const busy = (patch: Partial<Busy>) => set((s) => ({ busy: { ...s.busy, ...patch } }));

    /** Imports a config given as text, or read first (a file, a QR code) while the import shows busy. */
    async function runImport(source: ImportSource | (() => Promise<ImportSource>)): Promise<Result<'importConfig'> | undefined> {
      if (get().busy.import) return undefined;
      clear('import');
      set({ imported: null });
      busy({ import: true });
      try {
        // A text is sent at once (no await before the call); a reader first reads.
        const { text, name } = typeof source === 'function' ? await source() : source;
        const result = await api.call('importConfig', name ? { text, name: name.slice(0, 100) } : { text });
        const done = { server: result.server, notes: result.notes ?? [] };
        set((s) => ({ imported: done, selectedId: s.servers.some((x) => x.id === done.server.id) ? done.server.id : s.selectedId }));
        return done;
      } catch (e) {
        fail('import', e);
        return undefined;
      } finally {
        busy({ import: false });
      }
    }

    /**
     * A call that changes settings, whose error the caller shows: `call` resolves with how the
     * settings read after the helper's answer, which stands unless a settings event came first.
     */
    async function changeSettings(call: () => Promise<(before: Settings | null) => Settings | null>): Promise<UmbraError | undefined> {
      const seq = settingsSeq;
      try {
        const after = await call();
        if (seq === settingsSeq) {
          settingsSeq++;
          set((s) => ({ settings: after(s.settings) }));
        }
        return undefined;
      } catch (e) {
        return toUmbraError(e);
      }
    }

    function applyStatus(status: TunnelStatus): void {
      statusSeq++;
      const before = get().status?.state;
      const b = get().busy;
      const ended = (pressed: boolean, done: (st: TunnelStatus['state']) => boolean) => pressed && (status.state !== pressedFrom || done(status.state));
      const endConnect = ended(b.connect, (st) => st === 'connecting');
      const endDisconnect = ended(b.disconnect, (st) => st === 'disconnecting' || st === 'disconnected');
      set((s) => ({
        status,
        busy: endConnect || endDisconnect ? { ...s.busy, connect: s.busy.connect && !endConnect, disconnect: s.busy.disconnect && !endDisconnect } : s.busy,
      }));
      // After each connect: prove that nothing escapes the new tunnel.
      if (status.state === 'connected' && before !== undefined && before !== 'connected') void runLeakCheck('connect');
    }

    function runLeakCheck(trigger: 'user' | 'connect'): Promise<void> {
      if (leakRun) return leakRun;
      const stun = get().settings?.stunServers ?? [];
      const stateNow = get().status?.state ?? 'disconnected';
      set((s) => ({ leakCheck: { ...s.leakCheck, running: true, trigger, progress: null } }));
      const run = async () => {
        // A window outside the helper's network would judge another network's candidates: it does not gather.
        const elsewhere = get().host?.elsewhere === true;
        const [helper, rtc] = await Promise.allSettled([api.call('leakCheck', {}), elsewhere ? Promise.resolve(null) : gather(stun, WEBRTC_GATHER_MS)]);
        const report = helper.status === 'fulfilled' ? helper.value : null;
        const gathered: GatherResult | null = rtc.status === 'fulfilled' ? rtc.value : { candidates: [], stunServers: stun, error: toUmbraError(rtc.reason).message };
        const state = report?.state ?? stateNow;
        const results = [...(report?.checks ?? []), gathered ? webrtcCheck(gathered, report, state) : webrtcElsewhere()];
        set({
          leakCheck: {
            running: false,
            results,
            report,
            checkedAt: report?.checkedAt ?? Date.now(),
            state,
            trigger,
            progress: null,
            ...(helper.status === 'rejected' ? { error: toUmbraError(helper.reason) } : {}),
          },
        });
      };
      leakRun = run().finally(() => {
        leakRun = undefined;
      });
      return leakRun;
    }

    function onEvent(event: HelperEvent): void {
      if (get().helper.phase !== 'ready') return;
      switch (event.type) {
        case 'status':
          applyStatus(event.status);
          break;
        case 'settings':
          settingsSeq++;
          set({ settings: event.settings });
          break;
        case 'servers':
          serversSeq++;
          set((s) => ({ servers: event.servers, selectedId: s.selectedId && event.servers.some((x) => x.id === s.selectedId) ? s.selectedId : null }));
          break;
        case 'leakCheck':
          // The run this page waits for (the helper joins a run under way, so it is that one).
          if (leakRun) set((s) => ({ leakCheck: { ...s.leakCheck, progress: { running: event.progress.running, done: event.progress.done } } }));
          break;
      }
    }

    async function subscribe(): Promise<void> {
      const gen = ++generation;
      api.unsubscribe();
      try {
        const snap = await api.subscribe((e) => {
          if (gen === generation) onEvent(e);
        });
        if (gen !== generation) return;
        statusSeq++;
        settingsSeq++;
        serversSeq++;
        set((s) => ({
          helper: { phase: 'ready' },
          // Errors about the lost connection ("the helper closed the connection") are over now.
          errors: withoutTransportErrors(s.errors),
          status: snap.status,
          settings: snap.settings,
          servers: snap.servers,
          selectedId: s.selectedId && snap.servers.some((x) => x.id === s.selectedId) ? s.selectedId : null,
        }));
      } catch (e) {
        if (gen !== generation) return;
        set({ helper: { phase: 'unreachable', message: toUmbraError(e).message }, busy: idle() });
      }
    }

    async function refreshLaunchAtLogin(): Promise<void> {
      if (!api.app) return;
      try {
        set({ launchAtLogin: await api.app.getLaunchAtLogin() });
      } catch (e) {
        fail('launchAtLogin', e);
      }
    }

    return {
      helper: { phase: 'starting' },
      host: null,
      status: null,
      settings: null,
      servers: [],
      launchAtLogin: null,
      selectedId: null,
      favourites: readFavourites(storage),
      busy: idle(),
      errors: {},
      imported: null,
      leakCheck: { running: false, results: null, report: null, checkedAt: null, state: null, trigger: null, progress: null },
      catalogTrust: null,
      serverQuery: '',

      runLeakCheck: (trigger = 'user') => runLeakCheck(trigger),

      start() {
        const off = api.onConnectionChange((reachable, message, host) => {
          if (host) set({ host });
          if (!reachable) {
            generation++; // whatever is in flight belongs to the old connection
            pressedFrom = undefined;
            set({ helper: { phase: 'unreachable', message: message ?? NOT_RUNNING_MESSAGE }, busy: idle() });
          } else if (get().helper.phase === 'unreachable') {
            void subscribe();
          }
        });
        void subscribe();
        void refreshLaunchAtLogin();
        return () => {
          generation++;
          off();
          api.unsubscribe();
        };
      },

      async retry() {
        set({ helper: { phase: 'starting' } });
        await subscribe();
      },

      async connect(serverId) {
        const s = get();
        if (s.busy.connect || s.busy.disconnect || !s.status) return;
        const target = serverId ?? s.selectedId ?? undefined;
        clear('connection');
        pressedFrom = s.status.state;
        busy({ connect: true });
        const seq = statusSeq;
        try {
          const status = await api.call('connect', target ? { serverId: target } : {});
          if (seq === statusSeq) applyStatus(status);
        } catch (e) {
          fail('connection', e);
        } finally {
          busy({ connect: false });
        }
      },

      async disconnect() {
        const s = get();
        if (s.busy.disconnect || !s.status) return;
        clear('connection');
        pressedFrom = s.status.state;
        busy({ disconnect: true });
        const seq = statusSeq;
        try {
          const status = await api.call('disconnect', {});
          if (seq === statusSeq) applyStatus(status);
        } catch (e) {
          fail('connection', e);
        } finally {
          busy({ disconnect: false });
        }
      },

      async setSetting(key, value) {
        const s = get();
        if (s.busy.settings[key] || !s.settings) return;
        const scope: ErrorScope = key === 'killSwitch' ? 'killSwitch' : 'settings';
        clear(scope);
        set((st) => ({ busy: { ...st.busy, settings: { ...st.busy.settings, [key]: true } } }));
        const seq = settingsSeq;
        try {
          const settings = await api.call('setSettings', { [key]: value });
          if (seq === settingsSeq) {
            settingsSeq++;
            set({ settings });
          }
        } catch (e) {
          fail(scope, e);
        } finally {
          set((st) => ({ busy: { ...st.busy, settings: { ...st.busy.settings, [key]: false } } }));
        }
      },

      setDnsServers: (servers) => changeSettings(async () => {
        const settings = await api.call('setSettings', { dnsServers: servers });
        return () => settings;
      }),
      setLanDns: (lanDns) => changeSettings(async () => {
        const settings = await api.call('setSettings', { lanDns });
        return () => settings;
      }),
      setNetworkRules: (rules) => changeSettings(async () => {
        const settings = await api.call('setSettings', { networks: rules });
        return () => settings;
      }),
      // The rules are part of the settings: the answer replaces them there.
      setNetwork: (params) => changeSettings(async () => {
        const networks = await api.call('setNetwork', params);
        return (before) => before && { ...before, networks };
      }),

      importConfig: (text, name) => runImport({ text, name }),
      importFrom: (read) => runImport(read),

      async loadCatalog(source, opts = {}) {
        if (get().busy.catalog) return undefined;
        clear('catalog');
        const src = typeof source === 'string' ? source.trim() : undefined;
        if (src === '' || (typeof source !== 'string' && source.text.trim() === '')) {
          fail('catalog', { code: 'empty', message: src === '' ? 'enter the catalog’s http(s) URL, or choose a catalog file' : 'the chosen file is empty: a catalog is a JSON file with a "servers" list' });
          return undefined;
        }
        if (src !== undefined && !/^https?:\/\//i.test(src)) {
          fail('catalog', { code: 'not-a-url', message: 'type an http(s) URL here; for a file on this computer, use “Choose a catalog file”' });
          return undefined;
        }
        busy({ catalog: true });
        const seq = serversSeq;
        try {
          const key = opts.signingKey?.trim() ? { signingKey: opts.signingKey.trim() } : {};
          const params: Params<'loadCatalog'> =
            src !== undefined
              ? { url: src, ...key, ...(opts.allowUnsigned && !key.signingKey ? { allowUnsigned: true } : {}) }
              : { text: (source as { text: string }).text, ...key };
          const { servers, trust } = await api.call('loadCatalog', params);
          set({ catalogTrust: trust ?? null });
          if (seq === serversSeq) {
            serversSeq++;
            set({ servers });
          }
          return servers.length;
        } catch (e) {
          fail('catalog', e);
          return undefined;
        } finally {
          busy({ catalog: false });
        }
      },

      async setLaunchAtLogin(enabled) {
        const app = api.app;
        if (!app || get().busy.launchAtLogin) return;
        clear('launchAtLogin');
        busy({ launchAtLogin: true });
        try {
          set({ launchAtLogin: await app.setLaunchAtLogin(enabled) });
        } catch (e) {
          fail('launchAtLogin', e);
        } finally {
          busy({ launchAtLogin: false });
        }
      },

      toggleFavourite(serverId) {
        const favs = get().favourites;
        const next = favs.includes(serverId) ? favs.filter((f) => f !== serverId) : [...favs, serverId];
        set({ favourites: next });
        writeFavourites(storage, next);
      },

      select(serverId) {
        set({ selectedId: serverId });
      },

      setServerQuery(query) {
        set({ serverQuery: query });
      },

      dismissError(scope) {
        clear(scope);
      },
    };
  });
  return store;
}

/** Codes of trouble reaching the helper (renderer/api.ts), as opposed to the helper's own answers. */
const TRANSPORT_CODES = new Set(['not-running', 'closed', 'unreachable', 'timeout', 'permission-denied', 'ipc']);

function withoutTransportErrors(errors: UmbraState['errors']): UmbraState['errors'] {
  const kept = Object.entries(errors).filter(([, e]) => e !== undefined && !(typeof e.code === 'string' && TRANSPORT_CODES.has(e.code)));
  return kept.length === Object.keys(errors).length ? errors : Object.fromEntries(kept);
}

function defaultStorage(): KeyValueStorage | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null;
  } catch {
    return null; // storage can be disabled; favourites then last for the session
  }
}

function readFavourites(storage: KeyValueStorage | null): string[] {
  try {
    const raw = storage?.getItem(FAVOURITES_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function writeFavourites(storage: KeyValueStorage | null, favourites: string[]): void {
  try {
    storage?.setItem(FAVOURITES_KEY, JSON.stringify(favourites));
  } catch {
    // full or disabled: the favourites still hold for this session
  }
}
