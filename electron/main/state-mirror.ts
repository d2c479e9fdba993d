// The main process's picture of the helper (DESIGN.md: main holds no VPN state of its own). It
// keeps the latest status, settings and servers the helper sent — a snapshot on every
// (re)connection, then the pushed events — and says when the picture changes. It never fills in
// what the helper did not say: while the helper is unreachable the picture is empty, but for
// whether its last status held a block (which outlives the helper: see helperDownVerdict).
import { EventEmitter } from 'node:events';
import type { HelperEvent, MethodName, Params, Result, ServerInfo, Settings, TunnelStatus } from '../../helper/ipc/schema.js';
import { unreachableError, type UmbraError } from './ipc-contract.js';

export type Snapshot = Result<'subscribe'>;

/** What HelperLink (helper-link.ts) emits. */
export type LinkEvents = { event: [HelperEvent]; reachable: [boolean, string | undefined] };

/** The part of HelperLink this app uses (HelperLink satisfies it; tests use a fake). */
export interface LinkPort extends EventEmitter<LinkEvents> {
  readonly reachable: boolean;
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  snapshot(): Promise<Snapshot>;
}

export interface MirrorState {
  /** undefined until the link's first verdict (its first connection attempt is under way). */
  readonly reachable: boolean | undefined;
  /** Why the helper cannot be reached, and what to do (from the link). */
  readonly message: string | undefined;
  readonly status: TunnelStatus | undefined;
  readonly settings: Settings | undefined;
  readonly servers: readonly ServerInfo[] | undefined;
  /** While unreachable: the last status seen before the helper went (undefined: none seen). */
  readonly lastStatus?: TunnelStatus | undefined;
}

export const EMPTY_STATE: MirrorState = Object.freeze({
  reachable: undefined, message: undefined, status: undefined, settings: undefined, servers: undefined,
});

interface MirrorEvents {
  /** The picture changed: the new one and the one before. */
  change: [next: MirrorState, prev: MirrorState];
  /** A helper event, after it was applied to the picture (for forwarding to windows). */
  event: [HelperEvent];
}

export interface MirrorOptions {
  /** Delay before asking again when a snapshot fails while the helper stays reachable. */
  retryMs?: number;
}

interface Waiter {
  resolve: (s: Snapshot) => void;
  reject: (e: UmbraError) => void;
  timer: NodeJS.Timeout | undefined;
}

export class StateMirror extends EventEmitter<MirrorEvents> {
  private current: MirrorState = EMPTY_STATE;
  /** Bumped on every (re)connection, so a late snapshot of an older one is dropped. */
  private generation = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly retryMs: number;
  private started = false;

  private readonly onEvent = (event: HelperEvent) => this.apply(event);
  private readonly onReachable = (reachable: boolean, message: string | undefined) => this.setReachable(reachable, message);

  constructor(private readonly link: LinkPort, opts: MirrorOptions = {}) {
    super();
    this.retryMs = opts.retryMs ?? 2000;
  }

  get state(): MirrorState {
    return this.current;
  }

  /** The whole picture, when the helper is reachable and has told all three parts. */
  snapshot(): Snapshot | undefined {
    const s = this.current;
    if (s.reachable !== true || !s.status || !s.settings || !s.servers) return undefined;
    return { status: s.status, settings: s.settings, servers: [...s.servers] };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.link.on('event', this.onEvent);
    this.link.on('reachable', this.onReachable);
    if (this.link.reachable) this.setReachable(true, undefined);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.link.off('event', this.onEvent);
    this.link.off('reachable', this.onReachable);
    this.clearRetry();
    this.generation++;
    for (const w of [...this.waiters]) this.settle(w, { code: 'closed', message: 'Umbra is quitting' });
  }

  /**
   * The whole picture as soon as there is one. Rejects with an UmbraError when the helper is
   * unreachable (now, or when the link says so) or nothing arrives within `timeoutMs`.
   */
  whenReady(timeoutMs = 5000): Promise<Snapshot> {
    const now = this.snapshot();
    if (now) return Promise.resolve(now);
    if (this.current.reachable === false) return Promise.reject(unreachableError(this.current.message));
    return new Promise<Snapshot>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => this.settle(waiter, {
        code: 'timeout',
        message: 'the Umbra helper did not answer in time: check it with sudo systemctl status umbrad',
      }), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  // ---------------------------------------------------------------- input

  private setReachable(reachable: boolean, message: string | undefined): void {
    this.clearRetry();
    this.generation++;
    if (!reachable) {
      // Nothing the helper said before still holds for sure: show nothing rather than stale state,
      // but keep its last status (a block in the kernel stays when the helper goes).
      const lastStatus = this.current.status ?? this.current.lastStatus;
      this.update({ reachable: false, message, status: undefined, settings: undefined, servers: undefined, lastStatus });
      return;
    }
    this.update({ ...this.current, reachable: true, message: undefined, lastStatus: undefined });
    this.fetchSnapshot(this.generation);
  }

  private fetchSnapshot(gen: number): void {
    this.link.snapshot().then(
      (snap) => {
        if (gen !== this.generation || !this.started) return;
        this.update({ ...this.current, status: snap.status, settings: snap.settings, servers: snap.servers });
      },
      () => {
        // The link reports lost connections itself; if it still says reachable, ask again later.
        if (gen !== this.generation || !this.started) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (gen === this.generation && this.started && this.current.reachable === true) this.fetchSnapshot(gen);
        }, this.retryMs);
      },
    );
  }

  private apply(event: HelperEvent): void {
    if (this.current.reachable === false) return;
    switch (event.type) {
      case 'status':
        this.update({ ...this.current, reachable: true, status: event.status });
        break;
      case 'settings':
        this.update({ ...this.current, reachable: true, settings: event.settings });
        break;
      case 'servers':
        this.update({ ...this.current, reachable: true, servers: event.servers });
        break;
    }
    this.emit('event', event);
  }

  private update(next: MirrorState): void {
    const prev = this.current;
    this.current = Object.freeze(next);
    this.emit('change', this.current, prev);
    if (this.waiters.size === 0) return;
    const snap = this.snapshot();
    for (const w of [...this.waiters]) {
      if (snap) this.settle(w, snap);
      else if (this.current.reachable === false) this.settle(w, unreachableError(this.current.message));
    }
  }

  private settle(w: Waiter, outcome: Snapshot | UmbraError): void {
    if (!this.waiters.delete(w)) return;
    if (w.timer) clearTimeout(w.timer);
    if ('status' in outcome) w.resolve(outcome);
    else w.reject(outcome);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
