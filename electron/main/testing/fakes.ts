// Test doubles for the main process's plain modules: a link to the helper that the test drives
// by hand, and statuses and servers to feed it. Never used by the app.
import { EventEmitter } from 'node:events';
import type { HelperEvent, MethodName, Params, Result, ServerInfo, Settings, TunnelStatus } from '../../../helper/ipc/schema.js';
import { tunnelStatus } from '../../../helper/ipc/testing/status.js';
import type { LinkEvents, LinkPort, Snapshot } from '../state-mirror.js';

const KEY = `${'A'.repeat(42)}E=`;

export const STOCKHOLM: ServerInfo = { id: 'se-sto-1', name: 'Stockholm 1', country: 'Sweden', countryCode: 'se', city: 'Stockholm', endpoint: '198.51.100.10:51820', publicKey: KEY, source: 'catalog' };
export const FRANKFURT: ServerInfo = { id: 'de-fra-1', name: 'Frankfurt 1', country: 'Germany', countryCode: 'de', city: 'Frankfurt', endpoint: '198.51.100.20:51820', publicKey: KEY, source: 'catalog' };
export const HOMELAB: ServerInfo = { id: 'homelab', name: 'homelab', endpoint: '203.0.113.5:51820', publicKey: KEY, source: 'import' };
export const SERVERS: readonly ServerInfo[] = [STOCKHOLM, FRANKFURT, HOMELAB];

export const SETTINGS: Settings = { killSwitch: false, killSwitchOnBoot: false, allowLan: false, autoConnect: false };

/** A status, disconnected unless overridden; its firewall fields agree (helper/ipc/testing/status.ts). */
export const status = tunnelStatus;

export function connected(server: ServerInfo = STOCKHOLM, overrides: Partial<TunnelStatus> = {}): TunnelStatus {
  return status({ state: 'connected', server, addresses: ['100.64.0.2/32'], dns: ['100.64.0.1'], connectedSince: 1_000, ...overrides });
}

export function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return { status: status(), settings: { ...SETTINGS }, servers: [...SERVERS], ...overrides };
}

interface Deferred<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

/** A HelperLink the test drives: setReachable, push events, answer snapshots and calls. */
export class FakeLink extends EventEmitter<LinkEvents> implements LinkPort {
  reachable = false;
  readonly calls: { method: string; params: unknown }[] = [];
  /** Snapshot requests not yet answered (when `autoSnapshot` is off). */
  readonly snapshotRequests: Deferred<Snapshot>[] = [];
  /** What snapshot() answers at once, unless undefined (then the test answers). */
  autoSnapshot: Snapshot | undefined = snapshot();
  /** What call() answers; by default the status of a plausible helper. */
  answer: (method: string, params: unknown) => unknown = (method) => (method === 'getSettings' || method === 'setSettings' ? SETTINGS : status());
  callError: unknown;

  setReachable(reachable: boolean, message?: string): void {
    this.reachable = reachable;
    this.emit('reachable', reachable, message);
  }

  push(event: HelperEvent): void {
    this.emit('event', event);
  }

  snapshot(): Promise<Snapshot> {
    if (this.autoSnapshot) return Promise.resolve(structuredClone(this.autoSnapshot));
    return new Promise((resolve, reject) => this.snapshotRequests.push({ resolve, reject }));
  }

  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    this.calls.push({ method, params });
    if (this.callError !== undefined) return Promise.reject(this.callError);
    return Promise.resolve(this.answer(method, params) as Result<M>);
  }
}

/** Lets pending promise callbacks run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
