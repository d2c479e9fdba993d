// An in-memory `window.umbra` for unit tests and the `?fake` development mode; never the real
// app's path (there, the preload or the browser-mode bridge provides window.umbra). It behaves
// like the helper as the renderer sees it: events before replies, connecting → connected after a
// delay, counters that move, the firewall policy per state of DESIGN.md "in the kernel" (a block
// while a connection is wanted with the kill switch on, the guard on a tunnel that is up), and a
// server that can fall silent (reconnecting).
// No network: endpoints and addresses come from the documentation ranges and are never used.
import type {
  FirewallKind, HelperEvent, LeakCheckResult, LeakReport, MethodName, Params, Result, ServerInfo, Settings, Snapshot, TunnelState, TunnelStatus, UmbraApi, UmbraError,
} from '../api.js';
import { CITIES, type City } from './cities.js';
import { fakeNetworkSeen, fakeSetNetwork } from './fake-networks.js';
import { fakeSplitTunnel } from './fake-split-tunnel.js';

// No STUN servers: the WebRTC check in ?fake mode gathers only this machine's own candidates (no network).
const DEFAULTS: Settings = { killSwitch: false, killSwitchOnBoot: false, allowLan: false, autoConnect: false, stunServers: [] };
const OWN_ADDRESS = '198.51.100.77';

/** What the helper's leak checks would report in the fake's state: all pass while connected with the kill switch. */
export function fakeLeakReport(status: TunnelStatus, settings: Settings, now = Date.now()): LeakReport {
  const connected = status.state === 'connected';
  const wants = status.state !== 'disconnected';
  const exit = status.server?.exitIp ?? '203.0.113.200';
  const seen = connected ? exit : wants && status.blocked ? undefined : OWN_ADDRESS;
  const r = (id: LeakCheckResult['id'], title: string, verdict: LeakCheckResult['verdict'], finding: string, evidence: [string, string][]): LeakCheckResult => ({
    id,
    title,
    verdict,
    finding,
    evidence: evidence.map(([label, text]) => ({ label, text })),
  });
  const blocked = status.blocked;
  const checks: LeakCheckResult[] = [
    connected
      ? r('public-ip', 'Public IP address', 'pass', `The internet sees ${exit}, the exit address of ${status.server?.name ?? 'the server'}`, [['Seen by https://echo.example/', exit], ['Seen without the VPN', OWN_ADDRESS]])
      : seen
        ? r('public-ip', 'Public IP address', 'warn', `Not connected: the internet sees your own address ${seen} (exposed by choice while the VPN is off, not a leak)`, [['Seen by https://echo.example/', seen]])
        : r('public-ip', 'Public IP address', 'pass', 'Nothing reached the IP-echo service: the kill switch blocks traffic outside the tunnel', [['Seen by https://echo.example/', 'no answer (ECONNREFUSED)']]),
    connected
      ? r('dns', 'DNS', 'pass', 'The resolver is reached through the tunnel', [['Resolver 100.64.0.1 (nameserver in /etc/resolv.conf)', 'through the tunnel: 100.64.0.1 dev umbra0 src 100.64.12.7']])
      : r('dns', 'DNS', 'warn', 'Not connected: DNS goes straight to 192.168.1.1 (not a leak while the VPN is off)', [['Resolver 192.168.1.1 (nameserver in /etc/resolv.conf)', 'OUTSIDE the tunnel: 192.168.1.1 dev eth0 src 192.168.1.20']]),
    blocked
      ? r('ipv6', 'IPv6', 'pass', 'IPv6 outside the tunnel is blocked by the kill switch', [['Route to 2606:4700:4700::1111', 'outside the tunnel, but blocked by the kill switch: 2606:4700:4700::1111 via fe80::1 dev eth0']])
      : r('ipv6', 'IPv6', 'pass', 'IPv6 has no route out: nothing can leave over IPv6', [['Route to 2606:4700:4700::1111', 'nowhere: no route: 2606:4700:4700::1111: no route (Network is unreachable)']]),
    settings.killSwitch
      ? r('kill-switch', 'Kill switch', 'pass', wants ? 'The kill switch’s rules are in the kernel exactly as the helper applied them' : 'On: it blocks traffic outside the tunnel whenever you want to be connected (nothing to block now)', [['Setting', 'kill switch on']])
      : r('kill-switch', 'Kill switch', wants ? 'warn' : 'pass', wants ? 'The kill switch is off: if the tunnel drops, traffic goes out unprotected' : 'Off, and nothing is blocked, as set', [['Setting', 'kill switch off']]),
  ];
  return {
    checkedAt: now,
    state: status.state,
    ...(wants && status.server ? { serverId: status.server.id } : {}),
    checks,
    addresses: { seen: seen ? [seen] : [], seen6: [], ...(wants && status.server?.exitIp ? { exit: status.server.exitIp } : {}), preVpn: OWN_ADDRESS, own: [OWN_ADDRESS], tunnel: wants ? status.addresses.map((a) => a.replace(/\/\d+$/, '')) : [] },
    stunServers: settings.stunServers ?? [],
  };
}
const NOT_RUNNING = 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock): start it with sudo systemctl start umbrad';

const slug = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** A 44-character base64 "public key", the same for the same seed. */
export function fakeKey(seed: number): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  let raw = '';
  for (let i = 0; i < 32; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    raw += String.fromCharCode(x & 0xff);
  }
  return btoa(raw);
}

/** `perCity` servers in each city (default 2–8, varying), ids like "se-stockholm-3". */
export function makeServers(cities: readonly City[] = CITIES, perCity?: number): ServerInfo[] {
  const out: ServerInfo[] = [];
  cities.forEach((c, i) => {
    const n = perCity ?? 2 + ((i * 5) % 7);
    for (let k = 1; k <= n; k++) {
      const seq = out.length;
      out.push({
        id: `${c.countryCode}-${slug(c.city)}-${k}`,
        name: `${c.city} ${k}`,
        country: c.country,
        countryCode: c.countryCode,
        city: c.city,
        latitude: c.latitude,
        longitude: c.longitude,
        endpoint: `198.51.100.${(seq % 250) + 1}:${51820 + Math.floor(seq / 250)}`,
        publicKey: fakeKey(seq + 1),
        exitIp: `203.0.113.${(seq % 250) + 1}`,
        source: 'catalog',
      });
    }
  });
  return out;
}

/** `count` distinct locations spread over the land-ish latitudes (for rendering tests). */
export function makeManyServers(count: number): ServerInfo[] {
  const out: ServerInfo[] = [];
  for (let i = 0; i < count; i++) {
    const lat = -45 + ((i * 37) % 110);
    const lon = -170 + ((i * 71) % 340) + (i % 7) * 0.37;
    out.push({
      id: `loc-${i}`,
      name: `Place ${i} 1`,
      country: `Country ${Math.floor(i / 10)}`,
      city: `Place ${i}`,
      latitude: lat,
      longitude: lon,
      endpoint: `198.51.100.${(i % 250) + 1}:51820`,
      publicKey: fakeKey(i + 1),
      source: 'catalog',
    });
  }
  return out;
}

export interface FakeOptions {
  servers?: ServerInfo[];
  settings?: Partial<Settings>;
  /** Reply delay of every call, ms. Default 0. */
  latencyMs?: number;
  /** connecting → connected after this many ms. Default 800. */
  connectMs?: number;
  /** How often counters move while connected, ms (0: never). Default 1000. */
  tickMs?: number;
  /** Start connected to this server. */
  connectedTo?: string;
  /** Connects end in `error` (no handshake) instead of `connected`. */
  failConnect?: boolean;
  reachable?: boolean;
  /** Offer window.umbra.app (launch at login). Default true. */
  app?: boolean;
}

export interface FakeControl {
  /** The helper goes away (or comes back): callbacks of onConnectionChange hear it. */
  setReachable(reachable: boolean, message?: string): void;
  /** Pushes an event as the helper would. */
  emit(event: HelperEvent): void;
  /** The next call of `method` fails with this error. */
  failNext(method: MethodName, error: UmbraError): void;
  failConnect: boolean;
  readonly calls: { method: MethodName; params: unknown }[];
  state(): Snapshot;
  /** The connected server stops answering: reconnecting, then (unless `recover` is false, or with failConnect) connected again after `connectMs`. */
  silenceServer(opts?: { recover?: boolean }): void;
  /** Stops the timers. */
  dispose(): void;
}

export type FakeUmbra = UmbraApi & { control: FakeControl };

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const clone = <T>(v: T): T => structuredClone(v);

export function createFakeUmbra(opts: FakeOptions = {}): FakeUmbra {
  const latency = opts.latencyMs ?? 0;
  const connectMs = opts.connectMs ?? 800;
  const tickMs = opts.tickMs ?? 1000;
  let servers: ServerInfo[] = opts.servers ? [...opts.servers] : makeServers();
  let settings: Settings = { ...DEFAULTS, ...opts.settings };
  let status: TunnelStatus = {
    state: 'disconnected',
    blocked: false,
    firewallActive: false,
    firewall: { wanted: 'none', kernel: 'none' },
    addresses: [],
    dns: [],
    rxBytes: 0,
    txBytes: 0,
    attempt: 0,
  };
  let reachable = opts.reachable ?? true;
  let launchAtLogin = false;
  let listener: ((e: HelperEvent) => void) | null = null;
  const connListeners = new Set<(ok: boolean, message?: string) => void>();
  const failures = new Map<MethodName, UmbraError>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  let generation = 0;
  let wantConnected = false;
  const calls: FakeControl['calls'] = [];

  const emit = (e: HelperEvent) => {
    if (reachable) listener?.(clone(e));
  };
  /** The policy a state wants (DESIGN.md); a disconnect keeps what there is until it is done. */
  const policy = (state: TunnelState): FirewallKind | undefined => {
    if (state === 'disconnecting') return undefined;
    if (state === 'disconnected') return 'none';
    if (settings.killSwitch && wantConnected) return 'block';
    return state === 'connected' || state === 'reconnecting' ? 'guard' : 'none';
  };
  /** The kernel does as the fake wants, at once. */
  const withFirewall = (s: TunnelStatus): TunnelStatus => {
    const kind = policy(s.state) ?? s.firewall.kernel;
    const kernel = kind === 'foreign' ? 'none' : kind;
    return { ...s, firewall: { wanted: kernel, kernel }, blocked: kernel === 'block', firewallActive: kernel !== 'none' };
  };
  const setStatus = (patch: Partial<TunnelStatus>) => {
    const next = withFirewall({ ...status, ...patch });
    // As the helper's: the measured exit belongs to one connection, and only while connected.
    if (next.state !== 'connected') delete next.measuredExit;
    status = next;
    emit({ type: 'status', status });
  };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };

  function becomeConnected(gen: number, server: ServerInfo): void {
    if (gen !== generation) return;
    if (control.failConnect) {
      setStatus({
        state: 'error',
        attempt: status.attempt + 1,
        error: { code: 'NO_HANDSHAKE', message: `no answer from ${server.name} (${server.endpoint}) after 10 s. Umbra keeps trying; check your internet connection or pick another server.` },
      });
      return;
    }
    const since = Date.now();
    setStatus({ state: 'connected', connectedSince: since, lastHandshake: since, error: undefined, attempt: 0, interfaceName: 'umbra0', measuredExit: { state: 'measuring', matchesCatalog: null } });
    // The fake's echo service sees the catalog's exit (the leak report says the same).
    later(Math.min(400, connectMs), () => {
      if (gen !== generation || status.state !== 'connected') return;
      setStatus({ measuredExit: { state: 'measured', ipv4: server.exitIp ?? '203.0.113.200', at: Date.now(), matchesCatalog: server.exitIp ? true : null } });
    });
    stopTicker();
    if (tickMs > 0) {
      ticker = setInterval(() => {
        if (status.state !== 'connected') return;
        setStatus({ rxBytes: status.rxBytes + 180_000 + Math.floor(Math.random() * 900_000), txBytes: status.txBytes + 20_000 + Math.floor(Math.random() * 90_000) });
      }, tickMs);
    }
  }

  function startConnect(server: ServerInfo): void {
    const gen = ++generation;
    wantConnected = true;
    stopTicker();
    setStatus({
      state: 'connecting',
      server,
      addresses: ['100.64.12.7/32'],
      dns: ['100.64.0.1'],
      connectedSince: undefined,
      rxBytes: 0,
      txBytes: 0,
      error: undefined,
      attempt: 0,
      interfaceName: undefined,
    });
    later(connectMs, () => becomeConnected(gen, server));
  }

  const split = fakeSplitTunnel();
  const handlers: { [M in MethodName]: (p: Params<M>) => Result<M> } = {
    version: () => ({ version: '0.1.0-fake', protocol: 1 }),
    status: () => status,
    connect: (p) => {
      const id = p.serverId ?? settings.lastServerId ?? servers[0]?.id;
      if (!id) throw { code: -32002, message: "no servers yet: import your provider's WireGuard config first (umbra import FILE)" };
      const server = servers.find((s) => s.id === id);
      if (!server) throw { code: -32002, message: `no server "${id}": list them with \`umbra servers\`` };
      if (settings.lastServerId !== id) {
        settings = { ...settings, lastServerId: id };
        emit({ type: 'settings', settings });
      }
      startConnect(server);
      return status;
    },
    disconnect: () => {
      ++generation;
      wantConnected = false;
      stopTicker();
      setStatus({ state: 'disconnecting' });
      later(Math.min(300, connectMs / 2), () => {
        if (wantConnected) return;
        setStatus({ state: 'disconnected', server: undefined, hold: undefined, addresses: [], dns: [], connectedSince: undefined, rxBytes: 0, txBytes: 0, error: undefined, attempt: 0, interfaceName: undefined });
      });
      return status;
    },
    listServers: () => ({ servers }),
    importConfig: (p) => {
      const text = p.text;
      const key = /^\s*PublicKey\s*=\s*(\S{44})\s*$/m.exec(text)?.[1];
      const endpoint = /^\s*Endpoint\s*=\s*(\S+)\s*$/m.exec(text)?.[1];
      if (!/^\s*\[Interface\]/m.test(text) || !/^\s*\[Peer\]/m.test(text)) {
        throw { code: -32003, message: 'this is not a WireGuard config: it needs an [Interface] and a [Peer] section' };
      }
      if (!/^\s*PrivateKey\s*=/m.test(text)) throw { code: -32003, message: 'line [Interface]: PrivateKey is missing' };
      if (!key) throw { code: -32003, message: 'line [Peer]: PublicKey is missing or is not 44 characters of base64' };
      if (!endpoint) throw { code: -32003, message: 'line [Peer]: Endpoint is missing (host:port)' };
      const name = p.name ?? 'Imported';
      let id = slug(name) || 'imported';
      while (servers.some((s) => s.id === id)) id = `${id}-2`;
      const server: ServerInfo = { id, name, endpoint, publicKey: key, source: 'import' };
      servers = [...servers, server];
      emit({ type: 'servers', servers });
      // As the helper does: hooks and the keys it decides itself are left out, line by line.
      const notes = text.split(/\r\n|\n|\r/).flatMap((line, i) => {
        const key = /^\s*(PreUp|PostUp|PreDown|PostDown|SaveConfig|Table|FwMark|ListenPort)\s*=/i.exec(line)?.[1];
        if (!key) return [];
        const why = /up|down/i.test(key) ? 'Umbra never runs commands from a config; its kill switch replaces the firewall rules such lines usually set up' : 'the helper decides this itself';
        return [{ line: i + 1, key, why }];
      });
      return { server, notes };
    },
    removeServer: (p) => {
      servers = servers.filter((s) => s.id !== p.id);
      emit({ type: 'servers', servers });
      return { servers };
    },
    loadCatalog: (p) => {
      if ('url' in p && /missing|bad/.test(p.url)) throw { code: -32002, message: `no catalog at ${p.url}: check the URL` };
      if ('text' in p) {
        try {
          JSON.parse(p.text);
        } catch {
          throw { code: -32003, message: 'the catalog is not valid JSON; a catalog is a JSON file' };
        }
      }
      servers = [...servers.filter((s) => s.source === 'import'), ...makeServers()];
      emit({ type: 'servers', servers });
      return { servers };
    },
    getSettings: () => settings,
    setSettings: (p) => {
      const before = settings;
      settings = { ...settings, ...p };
      // With network rules on, the fake machine is on one network (remembered at once).
      const seen = settings.networks ? fakeNetworkSeen(settings.networks) : undefined;
      if (seen) settings = { ...settings, networks: seen.rules };
      if (before.killSwitch !== settings.killSwitch || before.allowLan !== settings.allowLan || status.network?.key !== seen?.network.key) setStatus({ network: seen?.network });
      emit({ type: 'settings', settings });
      return settings;
    },
    setNetwork: (p) => {
      const networks = fakeSetNetwork(settings.networks, status.network, p);
      settings = { ...settings, networks };
      emit({ type: 'settings', settings });
      const network = networks.known.find((n) => n.key === status.network?.key);
      if (network) setStatus({ network });
      return networks;
    },
    leakCheck: () => fakeLeakReport(status, settings),
    // The dev fake measures nothing: every server without a figure, as the helper says when it cannot.
    measureLatency: (p) => ({ results: (p.serverIds ?? servers.map((s) => s.id)).map((id) => ({ id, rttMs: null, reason: 'not measured by the dev fake' })), measuredAt: Date.now() }),
    ...split.handlers,
    subscribe: () => ({ status, settings, servers }),
  };

  const control: FakeControl = {
    setReachable(ok, message) {
      reachable = ok;
      for (const l of connListeners) l(ok, ok ? undefined : (message ?? NOT_RUNNING));
    },
    emit(e) {
      if (e.type === 'status') status = e.status;
      if (e.type === 'settings') settings = e.settings;
      if (e.type === 'servers') servers = e.servers;
      emit(e);
    },
    failNext(method, error) {
      failures.set(method, error);
    },
    failConnect: opts.failConnect ?? false,
    silenceServer({ recover = true } = {}) {
      if (status.state !== 'connected' || !status.server) return;
      const server = status.server;
      const gen = ++generation;
      stopTicker();
      setStatus({
        state: 'reconnecting',
        error: { code: 'NO_HANDSHAKE', message: `no answer from ${server.name} (${server.endpoint}) for 3 minutes. Umbra keeps the tunnel up and keeps trying.` },
      });
      if (!recover) return;
      later(connectMs, () => {
        if (!control.failConnect) becomeConnected(gen, server);
      });
    },
    calls,
    state: () => clone({ status, settings, servers }),
    dispose() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      stopTicker();
    },
  };

  if (opts.connectedTo) {
    const server = servers.find((s) => s.id === opts.connectedTo);
    if (server) {
      wantConnected = true;
      settings = { ...settings, lastServerId: server.id };
      status = { ...withFirewall({ ...status, state: 'connected' }), server, addresses: ['100.64.12.7/32'], dns: ['100.64.0.1'], connectedSince: Date.now() - 754_000, rxBytes: 48_213_000, txBytes: 3_902_000, interfaceName: 'umbra0' };
      becomeConnected(++generation, server);
      status = { ...status, connectedSince: Date.now() - 754_000, rxBytes: 48_213_000, txBytes: 3_902_000 };
    }
  }

  const api: FakeUmbra = {
    async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
      calls.push({ method, params: clone(params) });
      if (latency > 0) await wait(latency);
      else await Promise.resolve();
      if (!reachable) throw { code: 'not-running', message: NOT_RUNNING } satisfies UmbraError;
      const failure = failures.get(method);
      if (failure) {
        failures.delete(method);
        throw failure;
      }
      return clone(handlers[method](params));
    },
    async subscribe(onEvent) {
      if (latency > 0) await wait(latency);
      else await Promise.resolve();
      if (!reachable) throw { code: 'not-running', message: NOT_RUNNING } satisfies UmbraError;
      listener = onEvent;
      return clone({ status, settings, servers });
    },
    unsubscribe() {
      listener = null;
    },
    onConnectionChange(cb) {
      connListeners.add(cb);
      queueMicrotask(() => {
        if (connListeners.has(cb)) cb(reachable, reachable ? undefined : NOT_RUNNING);
      });
      return () => connListeners.delete(cb);
    },
    splitApps: split.apps,
    control,
  };
  if (opts.app !== false) {
    api.app = {
      getLaunchAtLogin: async () => launchAtLogin,
      setLaunchAtLogin: async (on) => (launchAtLogin = on),
    };
  }
  return api;
}
