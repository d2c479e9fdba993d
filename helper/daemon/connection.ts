// The tunnel state machine (DESIGN.md, Contracts): disconnected → connecting → connected →
// disconnecting, and error, driven by the user's wish and by what the engine reports.
// "Connected" means a handshake completed. While the user wants to be connected and the kill
// switch is on, the firewall blocks everything but the tunnel and its endpoint — through
// retries, server switches and errors; only the user's own disconnect lifts it.
import type { WgQuickConfig } from '../config/wg-quick.js';
import { formatCidr } from '../config/wg-quick.js';
import type { ErrorInfo, ServerInfo, TunnelState, TunnelStatus } from '../ipc/schema.js';
import type { Undo } from '../platform/undo.js';
import type { ResolvedEndpoint } from '../tunnel/endpoints.js';
import type { TunnelPeerStatus } from '../tunnel/tunnel.js';

/** The kill switch's description of what may pass (see platform/firewall). */
export interface BlockSpec {
  tunnelInterface?: string;
  endpoints: { address: string; port: number }[];
  fwmark: number;
  dnsServers: string[];
  lanPrefixes: string[];
}

export interface TunnelLike {
  readonly interfaceName: string;
  peerStatus(): TunnelPeerStatus;
  rehandshake(): void;
  stop(): Promise<Error[]>;
}

export interface TunnelHooks {
  onHandshake(): void;
  /** The engine gave up after REKEY_ATTEMPT_TIME without an answer. */
  onGiveUp(): void;
  onFatal(e: Error): void;
}

export interface ConnectionDeps {
  resolve(ep: { host: string; port: number }): Promise<ResolvedEndpoint>;
  startTunnel(cfg: WgQuickConfig, hooks: TunnelHooks): Promise<TunnelLike>;
  applyBlock(spec: BlockSpec): Promise<void>;
  removeBlock(): Promise<void>;
  applyDns(cfg: { interfaceName: string; servers: string[]; searchDomains: string[] }): Promise<Undo>;
  lanPrefixes(): Promise<string[]>;
  fwmark: number;
  log(line: string): void;
  /** Epoch milliseconds. */
  now(): number;
}

export interface Policy {
  killSwitch: boolean;
  allowLan: boolean;
}

export interface ConnectTarget {
  server: ServerInfo;
  config: WgQuickConfig;
}

// Tuning (ours, not the protocol's).
/** No handshake this long after starting an attempt: say so (error), keep trying. */
export const CONNECT_TIMEOUT_MS = 12_000;
/** Initiations unanswered this long while connected: the server is gone; reconnecting. */
export const LOST_AFTER_MS = 10_000;
/** Delays between fresh attempts while in error (the last repeats). */
export const BACKOFF_MS = [2_000, 4_000, 8_000, 15_000, 30_000];
const HEALTH_EVERY_MS = 1_000;

interface Active {
  target: ConnectTarget;
  endpoint?: ResolvedEndpoint;
  tunnel?: TunnelLike;
  dnsUndo?: Undo;
}

export class Connection {
  private state: TunnelState = 'disconnected';
  private active: Active | undefined;
  private error: ErrorInfo | undefined;
  private attempt = 0;
  private connectedSince: number | undefined;
  private blockApplied = false;
  private firewallPresent = false;
  /** Bumped on every connect/disconnect so stale async steps know to stop. */
  private generation = 0;
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly deps: ConnectionDeps,
    private readonly policy: () => Policy,
    private readonly onChange: (s: TunnelStatus) => void,
  ) {}

  /** Whether the user currently wants to be connected (so a block must hold). */
  get wantsConnection(): boolean {
    return this.active !== undefined;
  }

  /** The block that should be in the kernel now, or undefined for none. */
  async desiredBlock(): Promise<BlockSpec | undefined> {
    if (!this.active || !this.policy().killSwitch) return undefined;
    return this.blockFor(this.active, this.active.tunnel?.interfaceName);
  }

  /** Told by the firewall watchdog what is really in the kernel. */
  setFirewallPresent(present: boolean): void {
    if (present === this.firewallPresent) return;
    this.firewallPresent = present;
    this.emit();
  }

  status(): TunnelStatus {
    const a = this.active;
    const ps = a?.tunnel?.peerStatus();
    return {
      state: this.state,
      blocked: this.firewallPresent,
      firewallActive: this.firewallPresent,
      server: a?.target.server,
      interfaceName: a?.tunnel?.interfaceName,
      addresses: a ? a.target.config.interface.addresses.map(formatCidr) : [],
      dns: a ? a.target.config.interface.dns : [],
      connectedSince: this.state === 'connected' ? this.connectedSince : undefined,
      lastHandshake: ps?.lastHandshakeAt,
      rxBytes: ps?.rxBytes ?? 0,
      txBytes: ps?.txBytes ?? 0,
      error: this.error,
      attempt: this.attempt,
    };
  }

  /** Connects, or switches to another server without lifting the block in between. */
  async connect(target: ConnectTarget): Promise<void> {
    const gen = ++this.generation;
    const previous = this.active;
    this.clearTimers();
    this.active = { target };
    this.attempt = 0;
    this.error = undefined;
    this.set('connecting');
    if (previous?.tunnel || previous?.dnsUndo) {
      // Switching: the old tunnel goes, but the block stays up (now also allowing the new endpoint).
      if (this.policy().killSwitch && previous.endpoint) {
        const ep = await this.resolveQuietly(target);
        const spec = await this.blockFor(previous, previous.tunnel?.interfaceName);
        if (ep) spec.endpoints.push({ address: ep.host, port: ep.port });
        await this.block(spec);
      }
      await this.teardownTunnel(previous);
    }
    if (gen !== this.generation) return;
    await this.attemptConnect(gen);
  }

  /** The user's disconnect: the tunnel goes, then DNS, then (last) the block. */
  async disconnect(): Promise<void> {
    ++this.generation;
    this.clearTimers();
    const a = this.active;
    this.active = undefined;
    this.set('disconnecting');
    if (a) await this.teardownTunnel(a);
    await this.unblock();
    this.error = undefined;
    this.attempt = 0;
    this.set('disconnected');
  }

  /** Kill switch or allow-LAN changed: put the kernel in line with the new policy. */
  async policyChanged(): Promise<void> {
    const spec = await this.desiredBlock();
    if (spec) await this.block(spec);
    else if (this.active) await this.unblock();
    this.emit();
  }

  /** The helper is stopping (not the user disconnecting): tear the tunnel down, keep any block. */
  async shutdown(): Promise<void> {
    ++this.generation;
    this.clearTimers();
    if (this.active) await this.teardownTunnel(this.active);
  }

  // ------------------------------------------------------------------ the attempt

  private async attemptConnect(gen: number): Promise<void> {
    const a = this.active!;
    try {
      a.endpoint = await this.deps.resolve(this.peerEndpoint(a.target));
      if (gen !== this.generation) return;
      if (this.policy().killSwitch) await this.block(await this.blockFor(a, undefined));
      if (gen !== this.generation) return;
      const cfg = withEndpoint(a.target.config, a.endpoint);
      const tunnel = await this.deps.startTunnel(cfg, {
        onHandshake: () => gen === this.generation && this.onHandshake(),
        onGiveUp: () => gen === this.generation && this.onGiveUp(),
        onFatal: (e) => gen === this.generation && void this.onFatal(e),
      });
      if (gen !== this.generation) {
        await tunnel.stop();
        return;
      }
      a.tunnel = tunnel;
      if (this.policy().killSwitch) await this.block(await this.blockFor(a, tunnel.interfaceName));
      const dns = cfg.interface.dns;
      if (dns.length > 0) a.dnsUndo = await this.deps.applyDns({ interfaceName: tunnel.interfaceName, servers: dns, searchDomains: cfg.interface.dnsSearch });
      if (gen !== this.generation) return;
      this.emit();
      this.every(HEALTH_EVERY_MS, () => this.checkHealth());
      this.after(CONNECT_TIMEOUT_MS, () => {
        if (this.state !== 'connected') this.fail('NO_HANDSHAKE', `no answer from ${a.target.server.name} (${a.target.server.endpoint}) after ${CONNECT_TIMEOUT_MS / 1000} s. Umbra keeps trying; check your internet connection or pick another server.`);
      });
    } catch (e) {
      if (gen !== this.generation) return;
      this.deps.log(`connect to ${a.target.server.id} failed: ${(e as Error).message}`);
      // Whatever half-started goes; the block (if any) stays while we retry.
      await this.teardownTunnel(a);
      this.fail('START_FAILED', (e as Error).message, () => void this.retryFromScratch(gen));
    }
  }

  private async retryFromScratch(gen: number): Promise<void> {
    if (gen !== this.generation || !this.active) return;
    this.set('connecting');
    await this.attemptConnect(gen);
  }

  private onHandshake(): void {
    if (this.state !== 'connected') {
      this.connectedSince = this.deps.now();
      this.clearTimers();
      this.every(HEALTH_EVERY_MS, () => this.checkHealth());
    }
    this.attempt = 0;
    this.error = undefined;
    this.set('connected');
  }

  private onGiveUp(): void {
    this.fail('NO_HANDSHAKE', `the server ${this.active?.target.server.name ?? ''} stopped answering. Umbra keeps trying; check your internet connection or pick another server.`);
  }

  private async onFatal(e: Error): Promise<void> {
    const gen = this.generation;
    this.deps.log(`tunnel failed: ${e.message}`);
    if (this.active) await this.teardownTunnel(this.active);
    this.fail('TUNNEL_FAILED', `the tunnel stopped: ${e.message}`, () => void this.retryFromScratch(gen));
  }

  private checkHealth(): void {
    const ps = this.active?.tunnel?.peerStatus();
    if (!ps) return;
    if (this.state === 'connected' && ps.handshakeFailingSince !== undefined && this.deps.now() - ps.handshakeFailingSince > LOST_AFTER_MS) {
      this.attempt++;
      this.error = { code: 'NO_RESPONSE', message: 'lost contact with the server; reconnecting…' };
      this.set('connecting');
      return;
    }
    this.emit(); // traffic counters move
  }

  /** Error state; retries keep going on a backoff (by default: a fresh handshake). */
  private fail(code: string, message: string, retry?: () => void): void {
    this.error = { code, message };
    this.set('error');
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]!;
    this.attempt++;
    this.after(delay, () => {
      if (retry) return retry();
      this.active?.tunnel?.rehandshake();
      this.after(CONNECT_TIMEOUT_MS, () => {
        if (this.state !== 'connected') this.fail(code, message);
      });
    });
  }

  // ------------------------------------------------------------------ helpers

  private async blockFor(a: Active, tunnelInterface: string | undefined): Promise<BlockSpec> {
    return {
      tunnelInterface,
      endpoints: a.endpoint ? [{ address: a.endpoint.host, port: a.endpoint.port }] : [],
      fwmark: this.deps.fwmark,
      dnsServers: a.target.config.interface.dns,
      lanPrefixes: this.policy().allowLan ? await this.deps.lanPrefixes() : [],
    };
  }

  private async block(spec: BlockSpec): Promise<void> {
    await this.deps.applyBlock(spec);
    this.blockApplied = true;
    this.setFirewallPresent(true);
  }

  private async unblock(): Promise<void> {
    await this.deps.removeBlock();
    this.blockApplied = false;
    this.setFirewallPresent(false);
  }

  /** Adopts a block found in the kernel at start (fail closed after a crash, or from boot). */
  adoptBlock(): void {
    this.blockApplied = true;
    this.setFirewallPresent(true);
  }

  get hasBlock(): boolean {
    return this.blockApplied;
  }

  private async teardownTunnel(a: Active): Promise<void> {
    const t = a.tunnel;
    const dns = a.dnsUndo;
    a.tunnel = undefined;
    a.dnsUndo = undefined;
    if (t) for (const f of await t.stop()) this.deps.log(f.message);
    if (dns) {
      try {
        await dns();
      } catch (e) {
        this.deps.log(`restoring DNS failed: ${(e as Error).message}`);
      }
    }
  }

  private async resolveQuietly(t: ConnectTarget): Promise<ResolvedEndpoint | undefined> {
    try {
      return await this.deps.resolve(this.peerEndpoint(t));
    } catch {
      return undefined;
    }
  }

  private peerEndpoint(t: ConnectTarget): { host: string; port: number } {
    const ep = t.config.peers[0]?.endpoint;
    if (!ep) throw new Error(`server ${t.server.id} has no endpoint`);
    return ep;
  }

  private set(state: TunnelState): void {
    this.state = state;
    this.emit();
  }

  private emit(): void {
    this.onChange(this.status());
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function withEndpoint(cfg: WgQuickConfig, ep: ResolvedEndpoint): WgQuickConfig {
  const [first, ...rest] = cfg.peers;
  return { ...cfg, peers: [{ ...first!, endpoint: { host: ep.host, port: ep.port } }, ...rest] };
}
