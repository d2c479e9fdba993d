// The thin, impure half of the tunnel state machine (tunnel-state/ is the pure half): it feeds
// events to transition() one at a time, runs each step's effects in order, and turns what the
// effects produce (a lookup's answer, a tunnel, a handshake, a timer) back into events.
//
// The one rule that keeps every state from leaking is enforced here: a step's first effect is its
// state's firewall, and when the kernel refuses it, nothing of that step that could send a packet
// (lookup, tunnel, handshake) runs; the step is reported as firewallFailed instead.
import type { WgQuickConfig } from '../config/wg-quick.js';
import { formatPrefix } from '../net/ip.js';
import type { TunnelStatus } from '../ipc/schema.js';
import type { Undo } from '../platform/undo.js';
import type { TunnelPeerStatus } from '../tunnel/tunnel.js';
import type { PathMtuShortfall } from '../tunnel/path-mtu.js';
import { QUIET_PROBE_AFTER } from '../wireguard/constants.js';
import { kindOf, type FirewallOwner } from './firewall-owner.js';
import { isWanting, transition } from './tunnel-state/transition.js';
import type { Context, Effect, Endpoint, Event, State, Target, TimerName } from './tunnel-state/types.js';

export interface TunnelLike {
  readonly interfaceName: string;
  peerStatus(): TunnelPeerStatus;
  /** The path MTU the kernel learnt toward the server, when below the tunnel's packets (asks the kernel: for status only). */
  pathMtu?(): PathMtuShortfall | undefined;
  rehandshake(): void;
  stop(): Promise<Error[]>;
}

export interface TunnelHooks {
  /** The TUN exists, its routes are being made: the firewall of the state it leads to goes in now (never rejects). */
  onInterface(name: string): Promise<void>;
  onHandshake(): void;
  /** An initiation went out: until it is answered, the health check watches for LOST_AFTER_MS. */
  onHandshakeStarted(): void;
  /** The engine gave up after REKEY_ATTEMPT_TIME without an answer. */
  onGiveUp(): void;
  onFatal(e: Error): void;
}

export interface DriverDeps {
  firewall: Pick<FirewallOwner, 'set' | 'wanted' | 'kernel'>;
  /** host:port to an address (the helper's own marked lookup; the last good answer when it fails). */
  resolve(ep: { host: string; port: number }): Promise<{ host: string; port: number }>;
  /** The system resolvers those lookups go to (the block lets the helper reach them). */
  lookupResolvers(): Promise<string[]>;
  startTunnel(cfg: WgQuickConfig, hooks: TunnelHooks): Promise<TunnelLike>;
  applyDns(cfg: { interfaceName: string; servers: string[]; searchDomains: string[] }): Promise<Undo>;
  settings(): { killSwitch: boolean; allowLan: boolean; lockdown?: boolean | undefined; lanDns?: { servers: string[] } | null | undefined };
  fwmark: number;
  /** Split tunnelling: the excluded apps' cgroup, once there is one (every state's firewall lets it out). */
  excluded?(): Context['excluded'];
  log(line: string): void;
  /** Epoch milliseconds. */
  now(): number;
  onChange(s: TunnelStatus): void;
  /** What the data path runs on (AEAD backend, runtime), reported in every status. */
  engine?: TunnelStatus['engine'];
  /** Adds what others know of the connection (its measured exit) to every status. */
  decorate?(s: TunnelStatus): TunnelStatus;
}

// Tuning (ours, not the protocol's).
/** Initiations unanswered this long while connected: the server is gone; reconnecting. */
export const LOST_AFTER_MS = 10_000;
const HEALTH_EVERY_MS = 1_000;
/** While a subscriber's counters stay the same, the check backs off to this (a change: every second again). */
export const HEALTH_IDLE_MAX_MS = 4_000;

/** Effects that may send a packet: never run when the step's firewall could not be set. */
const SENDS = new Set<Effect['type']>(['resolve', 'startTunnel', 'rehandshake']);

export class TunnelDriver {
  private current: State = { name: 'disconnected' };
  /** Events to step through, a connect with the read of the resolvers started for it. */
  private readonly queue: { e: Event; resolvers?: Promise<string[]> }[] = [];
  private pumping: Promise<void> | undefined;
  private tokens = 0;
  private resolvers: string[] = [];
  private tunnel: TunnelLike | undefined;
  private dnsUndo: Undo | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private health: NodeJS.Timeout | undefined;
  private healthEvery = HEALTH_EVERY_MS;
  private stopped = false;
  private lastEmitted: string | undefined;
  /** Whether anyone subscribes to status (the byte counters are worth a timer only then). */
  private watched = false;

  constructor(private readonly deps: DriverDeps) {}

  get state(): State {
    return this.current;
  }

  /** Whether the user wants to be connected (connecting, connected, reconnecting, error). */
  get wantsConnection(): boolean {
    return isWanting(this.current);
  }

  /** Queues `e`; resolves when it and everything it led to at once (not later timers or lookups) ran. */
  dispatch(e: Event): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.queue.push({ e });
    return this.pump();
  }

  /**
   * Dispatches a connect once `first` (the caller saving the wish) is done, the system's resolvers
   * for its block (a file, or `resolvectl`) being read meanwhile rather than after.
   */
  async connect(target: Target, first: () => Promise<void>): Promise<void> {
    const resolvers = this.deps.lookupResolvers();
    resolvers.catch(() => undefined); // the step reports a failure, or `first` failed
    await first();
    if (this.stopped) return;
    this.queue.push({ e: { type: 'connect', target }, resolvers });
    return this.pump();
  }

  status(): TunnelStatus {
    const own = this.ownStatus();
    return this.deps.decorate ? this.deps.decorate(own) : own;
  }

  private ownStatus(): TunnelStatus {
    const s = this.current;
    const target = s.name === 'disconnected' ? undefined : s.target;
    const ps = this.tunnel?.peerStatus();
    const pathMtu = this.tunnel?.pathMtu?.();
    const kernel = this.deps.firewall.kernel;
    // Lockdown first: a disconnect lifts the other holds, never it.
    const hold = s.name === 'disconnected' ? (this.deps.settings().lockdown ? 'lockdown' : s.hold) : undefined;
    return {
      state: s.name,
      blocked: kernel === 'block',
      firewallActive: kernel !== 'none',
      firewall: { wanted: kindOf(this.deps.firewall.wanted), kernel },
      ...(hold ? { hold } : {}),
      server: target?.server,
      interfaceName: this.tunnel?.interfaceName,
      addresses: target ? target.config.interface.addresses.map(formatPrefix) : [],
      dns: target ? target.config.interface.dns : [],
      connectedSince: s.name === 'connected' ? s.since : undefined,
      lastHandshake: ps?.lastHandshakeAt,
      ...(s.name === 'connected' && ps?.quietSince !== undefined && this.deps.now() - ps.quietSince >= QUIET_PROBE_AFTER ? { noReplySince: ps.quietSince } : {}),
      rxBytes: ps?.rxBytes ?? 0,
      txBytes: ps?.txBytes ?? 0,
      ...(ps?.pathMtuFragmented !== undefined ? { pathMtuFragmented: ps.pathMtuFragmented } : {}),
      ...(pathMtu ? { pathMtu } : {}),
      ...(ps?.handshakeFloodDropped ? { handshakeFloodDropped: ps.handshakeFloodDropped } : {}),
      error: 'error' in s ? s.error : undefined,
      attempt: isWanting(s) ? s.attempt : 0,
      ...(this.deps.engine ? { engine: this.deps.engine } : {}),
    };
  }

  /**
   * Tells subscribers, when the status differs from the last one they got (also for a change the
   * driver did not make itself: the kernel's table, settings). Idle, nothing is sent; while
   * traffic flows the byte counters change, and the health check sends them once a second.
   */
  emit(): void {
    const status = this.status();
    const key = JSON.stringify(status);
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    this.deps.onChange(status);
  }

  /** Someone subscribes to status, or no one any more: the health check runs for them or not. */
  setWatched(watched: boolean): void {
    this.watched = watched;
    this.healthSoon();
  }

  /**
   * The helper is stopping (not the user disconnecting): timers and the tunnel go; a block stays
   * (fail closed, the next start adopts it), a guard goes with the tunnel it guarded.
   */
  async shutdown(): Promise<void> {
    await this.pumping;
    this.stopped = true;
    this.cancelTimers();
    await this.stopTunnel();
    if (this.deps.firewall.wanted?.block === false) await this.deps.firewall.set(undefined).catch((e: Error) => this.deps.log(`removing the guard failed: ${e.message}`));
  }

  // ------------------------------------------------------------------ the loop

  private pump(): Promise<void> {
    if (!this.pumping) {
      this.pumping = (async () => {
        try {
          for (let q = this.queue.shift(); q; q = this.queue.shift()) await this.step(q.e, q.resolvers);
        } finally {
          this.pumping = undefined;
        }
      })();
    }
    return this.pumping;
  }

  private async context(e: Event, ahead?: Promise<string[]>): Promise<Context & { token: number }> {
    // A new attempt's block lets the helper's lookups reach the resolvers the system has now.
    if (e.type === 'connect' || e.type === 'retry') {
      try {
        this.resolvers = await (ahead ?? this.deps.lookupResolvers());
      } catch (err) {
        this.deps.log(`could not read the system's resolvers: ${(err as Error).message}`);
      }
    }
    return { ...this.policyContext(), token: ++this.tokens };
  }

  private policyContext(): Context {
    const { killSwitch, allowLan, lockdown = false, lanDns } = this.deps.settings();
    const excluded = this.deps.excluded?.();
    const lan = lanDns ? { lanDnsServers: lanDns.servers } : {};
    return { killSwitch, lockdown, allowLan, fwmark: this.deps.fwmark, lookupResolvers: this.resolvers, now: this.deps.now(), ...(excluded ? { excluded } : {}), ...lan };
  }

  private async step(e: Event, resolvers?: Promise<string[]>): Promise<void> {
    const next = transition(this.current, e, await this.context(e, resolvers));
    if (!next) return;
    this.current = next.state;
    const follow: Event[] = [];
    let firewallFailed: string | undefined;
    try {
      for (const effect of next.effects) {
        if (firewallFailed !== undefined && SENDS.has(effect.type)) continue;
        if (effect.type !== 'firewall') {
          await this.run(effect, follow);
          continue;
        }
        try {
          await this.deps.firewall.set(effect.spec);
        } catch (err) {
          firewallFailed = (err as Error).message;
          this.deps.log(`the firewall for ${next.state.name} could not be set: ${firewallFailed}`);
        }
      }
    } finally {
      // Failing to set the firewall of the step that reports a firewall failure must not loop;
      // that step's retry timer tries again later.
      if (firewallFailed !== undefined && e.type !== 'firewallFailed') follow.push({ type: 'firewallFailed', message: firewallFailed });
      this.queue.unshift(...follow.map((f) => ({ e: f })));
      this.healthSoon();
      this.emit();
    }
  }

  private async run(effect: Exclude<Effect, { type: 'firewall' }>, follow: Event[]): Promise<void> {
    switch (effect.type) {
      case 'resolve':
        // In the background: a slow resolver must not hold a disconnect back.
        void this.deps.resolve({ host: effect.host, port: effect.port }).then(
          (r) => this.dispatch({ type: 'resolved', token: effect.token, endpoint: { address: r.host, port: r.port } }),
          (err: Error) => this.dispatch({ type: 'unresolvable', token: effect.token, message: err.message }),
        );
        return;
      case 'startTunnel':
        follow.push(await this.startTunnel(effect.token, effect.target, effect.endpoint));
        return;
      case 'stopTunnel':
        await this.stopTunnel();
        return;
      case 'rehandshake':
        this.tunnel?.rehandshake();
        return;
      case 'timer': {
        clearTimeout(this.timers.get(effect.name));
        const t = setTimeout(() => {
          this.timers.delete(effect.name);
          void this.dispatch({ type: effect.name, token: effect.token });
        }, effect.ms);
        this.timers.set(effect.name, t);
        return;
      }
      case 'cancelTimers':
        this.cancelTimers();
        return;
      case 'then':
        follow.push(effect.event);
        return;
    }
  }

  // ------------------------------------------------------------------ the tunnel

  private async startTunnel(token: number, target: Target, endpoint: Endpoint): Promise<Event> {
    const cfg = withEndpoint(target.config, endpoint);
    let tunnel: TunnelLike | undefined;
    try {
      tunnel = await this.deps.startTunnel(cfg, {
        onInterface: (name) => this.firewallAhead(token, name),
        onHandshake: () => void this.dispatch({ type: 'handshake', token }),
        onHandshakeStarted: () => this.healthSoon(),
        onGiveUp: () => void this.dispatch({ type: 'giveUp', token }),
        onFatal: (err) => {
          this.deps.log(`tunnel failed: ${err.message}`);
          void this.dispatch({ type: 'tunnelFailed', token, message: err.message, started: true });
        },
      });
      this.tunnel = tunnel;
      const dns = cfg.interface.dns;
      if (dns.length > 0) this.dnsUndo = await this.deps.applyDns({ interfaceName: tunnel.interfaceName, servers: dns, searchDomains: cfg.interface.dnsSearch });
      return { type: 'tunnelUp', token, interfaceName: tunnel.interfaceName };
    } catch (err) {
      this.deps.log(`connect to ${target.server.id} failed: ${(err as Error).message}`);
      await this.stopTunnel();
      return { type: 'tunnelFailed', token, message: (err as Error).message, started: false };
    }
  }

  /**
   * The firewall that tunnelUp's step will set (the same pure transition computes it), put in while
   * the routes are still being made: `nft` and `ip` then wait on the kernel side by side, and the
   * step finds it in place instead of holding the first packets back for it. It lets out no more
   * than the tunnel that now exists; the step still sets its own policy first (and reports a
   * failure), so one that fails here is only logged.
   */
  private async firewallAhead(token: number, interfaceName: string): Promise<void> {
    const ahead = transition(this.current, { type: 'tunnelUp', token, interfaceName }, { ...this.policyContext(), token: this.tokens })?.effects[0];
    if (ahead?.type !== 'firewall') return;
    try {
      await this.deps.firewall.set(ahead.spec);
    } catch (err) {
      this.deps.log(`the firewall for the new tunnel could not be set yet: ${(err as Error).message}`);
    }
  }

  /** The tunnel, then its DNS (restored). The firewall is the state's business. */
  private async stopTunnel(): Promise<void> {
    const t = this.tunnel;
    const dns = this.dnsUndo;
    this.tunnel = undefined;
    this.dnsUndo = undefined;
    if (t) for (const f of await t.stop()) this.deps.log(f.message);
    if (dns) {
      try {
        await dns();
      } catch (e) {
        this.deps.log(`restoring DNS failed: ${(e as Error).message}`);
      }
    }
  }

  /**
   * While a tunnel is up and there is something to watch: traffic counters for subscribers (when
   * they changed), and an unanswered handshake, "connected but lost" after LOST_AFTER_MS. With no
   * subscriber and every handshake answered there is nothing to check: no timer, the helper sleeps.
   */
  private watchHealth(): void {
    const needed = this.tunnel !== undefined && (this.watched || this.tunnel.peerStatus().handshakeFailingSince !== undefined);
    if (!needed) {
      clearTimeout(this.health);
      this.health = undefined;
      return;
    }
    this.health ??= setTimeout(() => this.checkHealth(), this.healthEvery);
  }

  /** Something happened (a step, an initiation, a new subscriber): the next check within a second. */
  private healthSoon(): void {
    if (this.healthEvery > HEALTH_EVERY_MS) {
      this.healthEvery = HEALTH_EVERY_MS;
      clearTimeout(this.health);
      this.health = undefined;
    }
    this.watchHealth();
  }

  private checkHealth(): void {
    this.health = undefined;
    const s = this.current;
    const ps = this.tunnel?.peerStatus();
    const failing = ps?.handshakeFailingSince !== undefined;
    if (s.name === 'connected' && failing && this.deps.now() - ps.handshakeFailingSince! > LOST_AFTER_MS) {
      void this.dispatch({ type: 'handshakeLost', token: s.token });
      return;
    }
    const before = this.lastEmitted;
    if (!this.pumping) this.emit();
    // Counters that stay the same are looked at less and less often, back to every second on a change.
    this.healthEvery = failing || this.lastEmitted !== before ? HEALTH_EVERY_MS : Math.min(2 * this.healthEvery, HEALTH_IDLE_MAX_MS);
    this.watchHealth();
  }

  private cancelTimers(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.stopped) {
      clearTimeout(this.health);
      this.health = undefined;
    }
  }
}

function withEndpoint(cfg: WgQuickConfig, ep: Endpoint): WgQuickConfig {
  const [first, ...rest] = cfg.peers;
  return { ...cfg, peers: [{ ...first!, endpoint: { host: ep.address, port: ep.port } }, ...rest] };
}
