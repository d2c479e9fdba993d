// Test support: a hand-driven UmbraApi (each call waits until the test answers it), snapshots,
// and rendering with a store.
import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { tunnelStatus } from '../../helper/ipc/testing/status.js';
import type { HelperEvent, HostInfo, MethodName, Params, Result, ServerInfo, Settings, Snapshot, UmbraApi, UmbraError } from '../api.js';
import { StoreProvider } from '../store/context.js';
import { createUmbraStore, type UmbraStore } from '../store/store.js';

const KEY = `${'A'.repeat(43)}=`;

/** A wg-quick config as a provider hands it out. */
export const CONF = `[Interface]
PrivateKey = ${'B'.repeat(43)}=
Address = 100.64.0.2/32

[Peer]
PublicKey = ${'C'.repeat(43)}=
Endpoint = 198.51.100.7:51820
AllowedIPs = 0.0.0.0/0
`;

function server(id: string, city: string | undefined, country: string | undefined, lat?: number, lon?: number, extra: Partial<ServerInfo> = {}): ServerInfo {
  return {
    id,
    name: extra.name ?? (city ? `${city} ${id.split('-').pop()}` : id),
    city,
    country,
    latitude: lat,
    longitude: lon,
    endpoint: '198.51.100.1:51820',
    publicKey: KEY,
    source: 'catalog',
    ...extra,
  };
}

export const SERVERS: ServerInfo[] = [
  server('se-sto-1', 'Stockholm', 'Sweden', 59.33, 18.07, { countryCode: 'se', exitIp: '203.0.113.5' }),
  server('se-sto-2', 'Stockholm', 'Sweden', 59.33, 18.07, { countryCode: 'se' }),
  server('se-sto-3', 'Stockholm', 'Sweden', 59.33, 18.07, { countryCode: 'se' }),
  server('es-mad-1', 'Madrid', 'Spain', 40.42, -3.7, { countryCode: 'es' }),
  server('es-mad-2', 'Madrid', 'Spain', 40.42, -3.7, { countryCode: 'es' }),
  server('gb-lon-1', 'London', 'United Kingdom', 51.51, -0.13, { countryCode: 'gb' }),
  server('au-syd-1', 'Sydney', 'Australia', -33.87, 151.21, { countryCode: 'au' }),
  server('home', undefined, undefined, undefined, undefined, { name: 'Home server', source: 'import' }),
];

/** A status, disconnected unless overridden (the same test factory the helper's tests use). */
export const status = tunnelStatus;

export function settings(overrides: Partial<Settings> = {}): Settings {
  return { killSwitch: false, killSwitchOnBoot: false, allowLan: false, autoConnect: false, ...overrides };
}

interface PendingCall {
  method: MethodName;
  params: unknown;
  resolve(value: unknown): void;
  reject(error: UmbraError): void;
}

export interface MockApi {
  api: UmbraApi;
  /** Pushes a helper event to the subscriber (if any). */
  emit(event: HelperEvent): void;
  /** The calls not answered yet, oldest first. */
  pending: PendingCall[];
  /** Takes the oldest unanswered call of `method` (throws when there is none). */
  take<M extends MethodName>(method: M): { params: Params<M>; resolve(value: Result<M>): void; reject(error: UmbraError): void };
  setReachable(reachable: boolean, message?: string, host?: HostInfo): void;
  subscribed(): boolean;
  /** What subscribe answers next (or, with an error, how it fails). */
  snapshot: Snapshot;
  subscribeError?: UmbraError;
  subscribeCount: number;
}

export function mockApi(snapshot: Partial<Snapshot> = {}, app?: UmbraApi['app']): MockApi {
  let onEvent: ((e: HelperEvent) => void) | null = null;
  const conn = new Set<(ok: boolean, message?: string, host?: HostInfo) => void>();
  const m: MockApi = {
    snapshot: { status: status(), settings: settings(), servers: SERVERS, ...snapshot },
    subscribeCount: 0,
    pending: [],
    api: {
      call: <M extends MethodName>(method: M, params: Params<M>) =>
        new Promise<Result<M>>((resolve, reject) => m.pending.push({ method, params, resolve: resolve as (v: unknown) => void, reject })),
      subscribe: async (cb) => {
        m.subscribeCount++;
        await Promise.resolve();
        if (m.subscribeError) throw m.subscribeError;
        onEvent = cb;
        return structuredClone(m.snapshot);
      },
      unsubscribe: () => {
        onEvent = null;
      },
      onConnectionChange: (cb) => {
        conn.add(cb);
        return () => conn.delete(cb);
      },
      ...(app ? { app } : {}),
    },
    emit: (e) => onEvent?.(e),
    take(method) {
      const i = m.pending.findIndex((p) => p.method === method);
      if (i < 0) throw new Error(`no pending ${method} call (pending: ${m.pending.map((p) => p.method).join(', ') || 'none'})`);
      const [p] = m.pending.splice(i, 1);
      return p as never;
    },
    setReachable(ok, message, host) {
      for (const cb of conn) cb(ok, message, host);
    },
    subscribed: () => onEvent !== null,
  };
  return m;
}

/** A fresh in-memory Storage. */
export function memoryStorage(initial: Record<string, string> = {}): Storage {
  const data = new Map(Object.entries(initial));
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => void data.delete(k),
    setItem: (k, v) => void data.set(k, String(v)),
  };
}

/** Renders `ui` with a store on `api`, started (subscribed) and ready. */
export function renderWith(ui: ReactElement, api: UmbraApi, storage: Storage = memoryStorage()): RenderResult & { store: UmbraStore } {
  const store = createUmbraStore(api, { storage });
  store.getState().start();
  const r = render(<StoreProvider store={store}>{ui}</StoreProvider>);
  return Object.assign(r, { store });
}

/** Lets pending promise callbacks run. */
export const flush = () => new Promise<void>((r) => setTimeout(r, 0));
