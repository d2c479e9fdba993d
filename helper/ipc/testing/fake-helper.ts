// An in-memory helper behind the IPC schema: handlers with state, an event source, and a record
// of the calls. For tests of the IPC server, the CLI and (later) the Electron main process.
import { tunnelStatus } from './status.js';
import { BLOCKED_REASON, IN_USE_REASON } from '../../latency/measure.js';
import { DEFAULT_SETTINGS, ErrorCode, RpcError, type Caller, type ExcludedProcess, type Handlers, type HelperEvent, type LatencyReport, type LeakCheckResult, type LeakReport, type Params, type ServerInfo, type Settings, type TunnelStatus } from '../schema.js';

export const FAKE_KEY = `${'A'.repeat(42)}E=`;

export const FAKE_SERVERS: readonly ServerInfo[] = [
  { id: 'se-sto', name: 'Stockholm', country: 'Sweden', countryCode: 'se', city: 'Stockholm', latitude: 59.33, longitude: 18.07, endpoint: '198.51.100.10:51820', publicKey: FAKE_KEY, exitIp: '203.0.113.10', source: 'catalog' },
  { id: 'de-fra', name: 'Frankfurt', country: 'Germany', countryCode: 'de', city: 'Frankfurt', latitude: 50.11, longitude: 8.68, endpoint: '198.51.100.20:51820', publicKey: FAKE_KEY, source: 'catalog' },
];

/** A status (disconnected unless overridden); the firewall fields agree (testing/status.ts). */
export const disconnectedStatus = tunnelStatus;

export type ConnectOutcome = 'connected' | 'error' | 'hang';

export interface FakeHelperOptions {
  /** What a connect leads to, after `connectDelayMs`. Default 'connected'. */
  outcome?: ConnectOutcome;
  connectDelayMs?: number;
  now?: () => number;
}

export class FakeHelper {
  status: TunnelStatus = disconnectedStatus();
  settings: Settings = { ...DEFAULT_SETTINGS };
  servers: ServerInfo[] = [...FAKE_SERVERS];
  readonly calls: { method: string; params: unknown; caller: Caller }[] = [];
  outcome: ConnectOutcome;
  connectDelayMs: number;
  private readonly now: () => number;
  private readonly listeners = new Set<(e: HelperEvent) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: FakeHelperOptions = {}) {
    this.outcome = opts.outcome ?? 'connected';
    this.connectDelayMs = opts.connectDelayMs ?? 20;
    this.now = opts.now ?? Date.now;
  }

  /** For startIpcServer's `subscribe`. */
  readonly subscribe = (listener: (e: HelperEvent) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  emit(event: HelperEvent): void {
    for (const l of this.listeners) l(event);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  setStatus(status: TunnelStatus): void {
    this.status = status;
    this.emit({ type: 'status', status });
  }

  /** Stops a pending connect timer. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private record<T>(method: string, params: unknown, caller: Caller, value: T): Promise<T> {
    this.calls.push({ method, params, caller });
    return Promise.resolve(value);
  }

  readonly handlers: Handlers = {
    version: (p, c) => this.record('version', p, c, { version: '0.1.0-fake', protocol: 1 }),
    status: (p, c) => this.record('status', p, c, this.status),
    connect: (p, c) => this.connect(p, c),
    disconnect: (p, c) => {
      this.dispose();
      this.setStatus(disconnectedStatus());
      return this.record('disconnect', p, c, this.status);
    },
    listServers: (p, c) => this.record('listServers', p, c, { servers: this.servers }),
    importConfig: (p, c) => {
      const server: ServerInfo = { id: 'imported', name: p.name ?? 'imported', endpoint: '198.51.100.30:51820', publicKey: FAKE_KEY, source: 'import' };
      this.servers = [...this.servers.filter((s) => s.id !== server.id), server];
      this.emit({ type: 'servers', servers: this.servers });
      return this.record('importConfig', { ...p, text: '(redacted)' }, c, { server, notes: [] });
    },
    removeServer: (p, c) => {
      if (!this.servers.some((s) => s.id === p.id)) throw new RpcError(ErrorCode.NotFound, `no server "${p.id}": see umbra servers`);
      this.servers = this.servers.filter((s) => s.id !== p.id);
      return this.record('removeServer', p, c, { servers: this.servers });
    },
    loadCatalog: (p, c) => this.record('loadCatalog', p, c, { servers: this.servers }),
    getSettings: (p, c) => this.record('getSettings', p, c, this.settings),
    setSettings: (p, c) => {
      this.settings = { ...this.settings, ...p };
      this.emit({ type: 'settings', settings: this.settings });
      return this.record('setSettings', p, c, this.settings);
    },
    setNetwork: (p, c) => {
      const rules = this.settings.networks ?? { unseen: 'untrusted', known: [] };
      const key = p.key === 'current' ? this.status.network?.key : p.key;
      const known = rules.known.find((n) => n.key === key);
      if (!key || !known) throw new RpcError(ErrorCode.NotFound, 'no such network: see umbra networks');
      const next = { ...rules, known: rules.known.map((n) => (n === known ? { ...n, ...(p.rule ? { rule: p.rule } : {}), ...(p.name ? { name: p.name } : {}) } : n)) };
      this.settings = { ...this.settings, networks: next };
      return this.record('setNetwork', p, c, next);
    },
    leakCheck: (p, c) => this.record('leakCheck', p, c, this.leakReport()),
    measureLatency: (p, c) => this.record('measureLatency', p, c, this.latencyReport(p.serverIds)),
    excludeProcess: (p, c) => {
      if (!this.excluded.some((x) => x.pid === p.pid)) this.excluded = [...this.excluded, { pid: p.pid, name: `process ${p.pid}`, uid: c.uid }];
      return this.record('excludeProcess', p, c, { excluded: this.excludedOf(c) });
    },
    includeProcess: (p, c) => {
      if (!this.excludedOf(c).some((x) => x.pid === p.pid)) throw new RpcError(ErrorCode.NotFound, `process ${p.pid} is not excluded from the tunnel`);
      this.excluded = this.excluded.filter((x) => x.pid !== p.pid);
      return this.record('includeProcess', p, c, { excluded: this.excludedOf(c) });
    },
    listExcluded: (p, c) => this.record('listExcluded', p, c, { available: true, excluded: this.excludedOf(c) }),
    subscribe: (p, c) => this.record('subscribe', p, c, { status: this.status, settings: this.settings, servers: this.servers }),
  };

  /** Split tunnelling: the processes moved out of the tunnel (none really are). */
  excluded: ExcludedProcess[] = [];

  private excludedOf(c: Caller): ExcludedProcess[] {
    return this.excluded.filter((x) => c.uid === 0 || x.uid === c.uid);
  }

  /** Latency as the helper reports it: none while blocked; the server in use skipped while connected; else 10 ms, 20 ms, … in order. */
  latency: ((ids: readonly string[]) => LatencyReport) | undefined;

  latencyReport(serverIds?: readonly string[]): LatencyReport {
    const ids = serverIds ?? this.servers.map((s) => s.id);
    if (this.latency) return this.latency(ids);
    const connected = this.status.state === 'connected' ? this.status.server?.id : undefined;
    const blocked = this.status.blocked && !connected;
    const results = ids.map((id, i) => {
      if (blocked) return { id, rttMs: null, reason: BLOCKED_REASON };
      if (id === connected) return { id, rttMs: null, reason: IN_USE_REASON };
      return { id, rttMs: 10 * (i + 1) };
    });
    return { results, measuredAt: this.now(), ...(connected ? { via: connected } : {}) };
  }

  /** A leak report that fits the fake's state: everything passes while connected. */
  leakReport(): LeakReport {
    const connected = this.status.state === 'connected';
    const seen = connected ? (this.status.server?.exitIp ?? '203.0.113.99') : '198.51.100.2';
    const check = (id: LeakCheckResult['id'], title: string, finding: string): LeakCheckResult => ({
      id,
      title,
      verdict: connected ? 'pass' : 'warn',
      finding: connected ? finding : `Not connected: ${title} is not protected`,
      evidence: [{ label: 'Fake', text: 'from the in-memory helper' }],
    });
    return {
      checkedAt: this.now(),
      state: this.status.state,
      ...(connected && this.status.server ? { serverId: this.status.server.id } : {}),
      checks: [
        check('public-ip', 'Public IP address', `The internet sees ${seen}`),
        check('dns', 'DNS', 'The resolver is reached through the tunnel'),
        check('ipv6', 'IPv6', 'IPv6 is blocked'),
        check('kill-switch', 'Kill switch', 'The kill switch’s rules are in the kernel'),
      ],
      addresses: { seen: [seen], seen6: [], own: ['198.51.100.2'], tunnel: connected ? this.status.addresses : [] },
      stunServers: this.settings.stunServers ?? [],
    };
  }

  private connect(p: Params<'connect'>, c: Caller): Promise<TunnelStatus> {
    const id = p.serverId ?? this.settings.lastServerId ?? this.servers[0]?.id;
    const server = this.servers.find((s) => s.id === id);
    if (!server) return Promise.reject(new RpcError(ErrorCode.NotFound, `no server "${String(id)}": see umbra servers`, { reason: 'not-found' }));
    // As the helper: asked again for the server in use (or on its way up), nothing is redone.
    if ((this.status.state === 'connected' || this.status.state === 'connecting') && this.status.server?.id === id) return this.record('connect', p, c, this.status);
    this.dispose();
    // The policy per state (DESIGN.md): the kill switch blocks while a tunnel is wanted; without
    // it, a tunnel that is up is guarded and one on the way up has nothing.
    const block = this.settings.killSwitch;
    this.setStatus(disconnectedStatus({ state: 'connecting', server, blocked: block }));
    this.timer = setTimeout(() => {
      if (this.outcome === 'connected') {
        const firewall = block ? this.status.firewall : ({ wanted: 'guard', kernel: 'guard' } as const);
        this.setStatus({ ...this.status, state: 'connected', firewall, firewallActive: firewall.kernel !== 'none', addresses: ['100.64.1.2/32'], dns: ['100.64.0.1'], connectedSince: this.now(), lastHandshake: this.now(), rxBytes: 1_234_567, txBytes: 300_000 });
      } else if (this.outcome === 'error') {
        this.setStatus({ ...this.status, state: 'error', attempt: 1, error: { code: 'handshake-timeout', message: 'no handshake answer from 198.51.100.10:51820 within 5 s: is the server up and is UDP allowed?' } });
      }
    }, this.connectDelayMs);
    return this.record('connect', p, c, this.status);
  }
}
