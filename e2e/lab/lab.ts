// The network lab: namespaces wired as DESIGN.md's "The network lab" describes, with wireguard-go
// servers, an IP-echo service, DNS, STUN, a LAN host and leak capture on the router, for the system
// tests, the benchmark and the demo.
// Needs root. Everything runs inside the lab's own namespaces; see topology.ts for the address plan.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture, type Capture, type CaptureOptions } from './capture.js';
import { listNamespaces, onProcessExit, processStart, removeNamespaceSync, removeNetnsEtcSync, TMP_PREFIX, writeNetnsEtc } from './cleanup.js';
import {
  dnsQueryIn, httpIn, onPath, pingIn, stunQueryIn,
  type DnsQueryOptions, type DnsQueryResult, type HttpOptions, type HttpResult, type StunResult,
} from './probes.js';
import { isAlive, nsArgv, ProcessTracker, sleep, type ExecResult, type RunOptions } from './proc.js';
import { readJsonLines, startServices, type DnsRecord, type EchoRecord, type StunRecord } from './services.js';
import {
  buildCore, buildServerLink, CLIENT, DNS_ZONE, ISP_RESOLVER, LAN_PORT, MAX_SERVERS, SERVICE, serverPlan, STUN_PORT, WG_PORT,
  type ServerPlan,
} from './topology.js';
import { startWireguardGo, wgTool, type WireguardGoHandle, type WireguardGoOptions } from './wireguard-go.js';

export { cleanupStaleLabs } from './cleanup.js';
export type { WireguardGoHandle } from './wireguard-go.js';
export { bytesSha256 } from './bytes.js';
export { captureAvailable, type Capture } from './capture.js';
export { findLeaks, type AllowedEndpoint, type CapturedPacket } from './pcap.js';

interface LabServer {
  index: number;
  ns: string;
  endpoint: { host: string; port: number };
  /** A DNS name for the endpoint's address, s<i>.vpn.lab.test, which the lab's DNS (and so the
   *  client's system resolver, the ISP resolver) answers: for configs with `Endpoint = host:port`. */
  endpointName: string;
  publicKey: string;
  exitAddress: string;
  /** The server's inner address, 100.64.(i+1).1. */
  tunnelAddress: string;
  /** The client's inner address for this server, 100.64.(i+1).2. */
  clientTunnelAddress: string;
  /** The server's IPv6 link address (not used by the tunnel; there for IPv6 endpoint tests). */
  linkAddress6: string;
  /** PID of the running wireguard-go, undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** `wg ...args` against this server's wireguard-go (a plain `wg` in its namespace cannot see it). */
  wg(args: string[]): Promise<ExecResult>;
}

interface LabClient {
  ns: string;
  address: string;
  address6: string;
  privateKey: string;
  publicKey: string;
  /** The router on the client's link (also the LAN host): 198.51.100.1, 2001:db8:c::1. */
  gateway: string;
  gateway6: string;
  /** The client's local network: 198.51.100.0/24, 2001:db8:c::/64 (public ranges: allow LAN does not open them). */
  lan: string;
  lan6: string;
  /**
   * Host path of the client namespace's resolv.conf (/etc/netns/<ns>/resolv.conf), which
   * `ip netns exec <ns>` bind-mounts over /etc/resolv.conf. Starts as `nameserver 203.0.113.251`
   * (the ISP resolver). Write it in place: a rename onto the bind mount fails (EBUSY).
   */
  resolvConfPath: string;
}

interface LabInternet {
  ns: string;
  serviceAddress: string;
  serviceAddress6: string;
  echoUrl: string;
  echoUrl6: string;
  /** The DNS server on the "internet" (also the one to give a VPN profile): 203.0.113.250, 2001:db8:f::250, port 53. */
  dnsAddress: string;
  dnsAddress6: string;
  /** The "ISP resolver" the client's resolv.conf names; the kill switch must block it: 203.0.113.251, 2001:db8:f::251. */
  ispResolver: string;
  ispResolver6: string;
  /** Names under this zone resolve (A → serviceAddress, AAAA → serviceAddress6); whoami.<zone> → the asker. */
  dnsZone: string;
  /**
   * 'http://203.0.113.250/dns-askers': GET ?name=<qname> → JSON list of the addresses that asked the
   * lab's DNS for qname (a "who asked" DNS leak test's API, read from the DNS log).
   */
  dnsAskersUrl: string;
  /** 'stun:203.0.113.250:3478' */
  stunUrl: string;
  /** 'stun:[2001:db8:f::250]:3478' */
  stunUrl6: string;
  stunPort: number;
}

/** Another link between the client and the router (a second uplink a test adds), to capture on instead of eth0. */
export interface CaptureLink {
  inetIface: string;
  clientIface: string;
  /** The router's address on it and its broadcast address (for the flush marker). */
  gateway: string;
  broadcast: string;
}

export interface Lab {
  prefix: string;
  client: LabClient;
  internet: LabInternet;
  servers: LabServer[];
  /** The LAN host's echo service, on the router's client-side address: http://198.51.100.1:8080/ */
  lanUrl: string;
  /** http://[2001:db8:c::1]:8080/ */
  lanUrl6: string;
  /** Runs `ip netns exec ns ...argv`; resolves with the exit code (never rejects on failure). */
  exec(ns: string, argv: string[], opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  /** Starts `ip netns exec ns ...argv` in its own process group; killed on destroy(). */
  spawn(ns: string, argv: string[], opts?: { env?: Record<string, string>; stdio?: StdioOptions }): ChildProcess;
  /** startWireguardGo() whose process belongs to this lab (killed on destroy()). */
  startWireguardGo(ns: string, opts: WireguardGoOptions): Promise<WireguardGoHandle>;
  /** An HTTP request made from inside ns (by a node child process); rejects on network errors. */
  http(ns: string, url: string, opts?: HttpOptions): Promise<HttpResult>;
  /** ICMP echo from ns (ping or busybox ping; a TCP round trip if neither is installed). */
  ping(ns: string, host: string, opts?: { count?: number; timeoutSec?: number }): Promise<boolean>;
  clientConfig(i: number, opts?: { allowedIPs?: string; dns?: string; persistentKeepalive?: number }): string;
  /**
   * One DNS query from inside ns straight to server (an address, or 'resolv.conf': the first
   * nameserver the namespace's /etc/resolv.conf names). Never rejects for a DNS or network failure.
   */
  dnsQuery(ns: string, server: string, name: string, opts?: DnsQueryOptions): Promise<DnsQueryResult>;
  /** One STUN Binding request from inside ns (default server: the lab's, over IPv4). */
  stunQuery(ns: string, server?: string, opts?: { port?: number; timeoutMs?: number }): Promise<StunResult>;
  /**
   * Captures, on the router, every frame the client sends (tcpdump; captureAvailable() says whether
   * it can). Resolves once tcpdump listens.
   */
  startCapture(opts?: CaptureOptions & { link?: CaptureLink }): Promise<Capture>;
  /** Source addresses the echo service has seen, in order. */
  echoLog(): Promise<string[]>;
  echoRequests(): Promise<EchoRecord[]>;
  /** Source addresses the LAN host has seen, in order. */
  lanLog(): Promise<string[]>;
  lanRequests(): Promise<EchoRecord[]>;
  /** Every query the DNS servers (both addresses of each) received, in order. */
  dnsLog(): Promise<DnsRecord[]>;
  /** Every STUN Binding request received, in order. */
  stunLog(): Promise<StunRecord[]>;
  /** PIDs of the processes the lab has started and that still run. */
  pids(): number[];
  /** Kills everything spawned, deletes all namespaces; idempotent; never throws. */
  destroy(): Promise<void>;
}

const REQUIRED_COMMANDS = ['ip', 'wg', 'wireguard-go', 'nft', 'sysctl', 'unshare', 'sh', 'mount'];

/** Whether this machine can run a lab (root, the tools, /dev/net/tun), and why not. */
export function labAvailable(): { ok: true } | { ok: false; reason: string } {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push(`needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) problems.push('needs root (network namespaces)');
  const missing = REQUIRED_COMMANDS.filter((c) => !onPath(c));
  if (missing.length > 0) problems.push(`missing commands: ${missing.join(', ')}`);
  if (!existsSync('/dev/net/tun')) problems.push('no /dev/net/tun');
  return problems.length === 0 ? { ok: true } : { ok: false, reason: problems.join('; ') };
}

let labCounter = 0;

const RESOLV_CONF = `# umbra network lab: the client's "ISP resolver"\nnameserver ${ISP_RESOLVER.v4}\n`;

function pickPrefix(requested: string | undefined): string {
  const taken = (p: string): boolean => listNamespaces().some((ns) => ns.startsWith(`${p}-`));
  if (requested !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.]{0,39}$/.test(requested)) throw new Error(`bad lab prefix: ${requested}`);
    if (taken(requested)) throw new Error(`lab prefix ${requested} is in use`);
    return requested;
  }
  for (;;) {
    const p = `ulab${process.pid}n${labCounter++}`;
    if (!taken(p)) return p;
  }
}

/** The DNS name of server i's endpoint. */
const serverName = (i: number) => `s${i}.vpn.${DNS_ZONE}`;

export async function createLab(opts: { servers?: number; prefix?: string } = {}): Promise<Lab> {
  const count = opts.servers ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SERVERS) throw new Error(`servers must be 1..${MAX_SERVERS}`);
  const avail = labAvailable();
  if (!avail.ok) throw new Error(`lab unavailable: ${avail.reason}`);

  const prefix = pickPrefix(opts.prefix);
  const tracker = new ProcessTracker();
  const scratch = mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${prefix}-`));
  writeFileSync(join(scratch, 'owner.json'), JSON.stringify({ pid: process.pid, start: processStart(process.pid) }));

  const clientNs = `${prefix}-c`;
  const inetNs = `${prefix}-i`;
  const plans: ServerPlan[] = Array.from({ length: count }, (_, i) => serverPlan(prefix, i));
  const namespaces = [clientNs, inetNs, ...plans.map((p) => p.ns)];
  const created: string[] = [];
  let netnsEtc = false;

  const destroySync = (): void => {
    tracker.killAllSync();
    for (const ns of created) removeNamespaceSync(ns);
    if (netnsEtc) removeNetnsEtcSync(clientNs);
    rmSync(scratch, { recursive: true, force: true });
  };
  const unregister = onProcessExit(destroySync);
  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> =>
    (destroyed ??= (async () => {
      try {
        await tracker.killAll();
        for (const ns of [...created].reverse()) {
          // Whatever still runs in a lab namespace was started through this lab.
          const left = (await tracker.run(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number);
          for (const pid of left) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
          for (let n = 0; n < 50 && left.some(isAlive); n++) await sleep(20);
          await tracker.run(['ip', 'netns', 'del', ns]);
        }
        created.length = 0;
      } catch {
        /* never throws */
      } finally {
        try {
          destroySync(); // anything the async path missed
        } catch {
          /* never throws */
        }
        unregister();
      }
    })());

  const ownNs = (ns: string): void => {
    if (!namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of lab ${prefix}`);
  };
  const exec = (ns: string, argv: string[], o: RunOptions = {}): Promise<ExecResult> => {
    ownNs(ns);
    return tracker.run(nsArgv(ns, argv), o);
  };
  const spawnIn = (ns: string, argv: string[], o: { env?: Record<string, string>; stdio?: StdioOptions } = {}): ChildProcess => {
    ownNs(ns);
    return tracker.spawn(nsArgv(ns, argv), o);
  };

  try {
    for (const ns of namespaces) {
      const r = await tracker.run(['ip', 'netns', 'add', ns]);
      // Only what we created is ours to delete (a lost race for a custom prefix must not be).
      if (r.code !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr.trim()}`);
      created.push(ns);
    }
    netnsEtc = true; // set first: destroy removes even a half-written folder
    const resolvConfPath = writeNetnsEtc(clientNs, 'resolv.conf', RESOLV_CONF);
    await buildCore(tracker, inetNs, clientNs);
    await Promise.all(plans.map((p) => buildServerLink(tracker, inetNs, p)));

    // One device key for the client (accepted by every server, like a provider's), one per server.
    const keys: { priv: string; pub: string }[] = [];
    for (let n = 0; n <= count; n++) {
      const priv = await wgTool(tracker, inetNs, ['genkey']);
      keys.push({ priv, pub: await wgTool(tracker, inetNs, ['pubkey'], `${priv}\n`) });
    }
    const clientKey = keys[0]!;

    const logs = await startServices(spawnIn, inetNs, scratch, Object.fromEntries(plans.map((p) => [serverName(p.index), p.link4])));

    const servers = plans.map((p, i) => makeServer(p, keys[i + 1]!, clientKey.pub, tracker, scratch));
    await Promise.all(servers.map((s) => s.start()));

    const lab: Lab = {
      prefix,
      client: {
        ns: clientNs,
        address: CLIENT.v4,
        address6: CLIENT.v6,
        privateKey: clientKey.priv,
        publicKey: clientKey.pub,
        gateway: CLIENT.gw4,
        gateway6: CLIENT.gw6,
        lan: CLIENT.lan4,
        lan6: CLIENT.lan6,
        resolvConfPath,
      },
      internet: {
        ns: inetNs,
        serviceAddress: SERVICE.v4,
        serviceAddress6: SERVICE.v6,
        echoUrl: `http://${SERVICE.v4}/`,
        echoUrl6: `http://[${SERVICE.v6}]/`,
        dnsAddress: SERVICE.v4,
        dnsAddress6: SERVICE.v6,
        ispResolver: ISP_RESOLVER.v4,
        ispResolver6: ISP_RESOLVER.v6,
        dnsZone: DNS_ZONE,
        dnsAskersUrl: `http://${SERVICE.v4}/dns-askers`,
        stunUrl: `stun:${SERVICE.v4}:${STUN_PORT}`,
        stunUrl6: `stun:[${SERVICE.v6}]:${STUN_PORT}`,
        stunPort: STUN_PORT,
      },
      servers,
      lanUrl: `http://${CLIENT.gw4}:${LAN_PORT}/`,
      lanUrl6: `http://[${CLIENT.gw6}]:${LAN_PORT}/`,
      exec,
      spawn: spawnIn,
      startWireguardGo: (ns, o) => {
        ownNs(ns);
        return startWireguardGo(ns, o, { tracker, scratchDir: scratch });
      },
      http: (ns, url, o = {}) => httpIn(exec, ns, url, o),
      ping: (ns, host, o = {}) => pingIn(exec, ns, host, o),
      dnsQuery: (ns, server, name, o = {}) => dnsQueryIn(exec, ns, server, name, o),
      stunQuery: (ns, server = SERVICE.v4, o = {}) => stunQueryIn(exec, ns, server, o.port ?? STUN_PORT, o),
      startCapture: (o = {}) => {
        const link = o.link ?? { inetIface: 'to-c', clientIface: 'eth0', gateway: CLIENT.gw4, broadcast: CLIENT.broadcast4 };
        return startCapture({ tracker, ns: inetNs, iface: link.inetIface, clientNs, clientIface: link.clientIface, markerFrom: link.gateway, markerTo: link.broadcast }, o);
      },
      clientConfig: (i, o = {}) => {
        const s = servers[i];
        if (!s) throw new Error(`no server ${i}`);
        return [
          '[Interface]',
          `PrivateKey = ${clientKey.priv}`,
          `Address = ${s.clientTunnelAddress}/32`,
          ...(o.dns ? [`DNS = ${o.dns}`] : []),
          '',
          '[Peer]',
          `PublicKey = ${s.publicKey}`,
          `Endpoint = ${s.endpoint.host}:${s.endpoint.port}`,
          `AllowedIPs = ${o.allowedIPs ?? '0.0.0.0/0'}`,
          ...(o.persistentKeepalive !== undefined ? [`PersistentKeepalive = ${o.persistentKeepalive}`] : []),
          '',
        ].join('\n');
      },
      echoRequests: async () => readJsonLines<EchoRecord>(logs.echo),
      echoLog: async () => readJsonLines<EchoRecord>(logs.echo).map((r) => r.ip),
      lanRequests: async () => readJsonLines<EchoRecord>(logs.lan),
      lanLog: async () => readJsonLines<EchoRecord>(logs.lan).map((r) => r.ip),
      dnsLog: async () => readJsonLines<DnsRecord>(logs.dns),
      stunLog: async () => readJsonLines<StunRecord>(logs.stun),
      pids: () => tracker.pids(),
      destroy,
    };
    return lab;
  } catch (err) {
    await destroy();
    throw err;
  }
}

function makeServer(p: ServerPlan, key: { priv: string; pub: string }, clientPub: string, tracker: ProcessTracker, scratch: string): LabServer {
  let handle: WireguardGoHandle | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  // start/stop/restart never overlap.
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const wgOpts: WireguardGoOptions = {
    ifname: 'wg0',
    privateKey: key.priv,
    listenPort: WG_PORT,
    address: [`${p.tunnel}/24`],
    peers: [{ publicKey: clientPub, allowedIPs: [`${p.clientTunnel}/32`] }],
    routes: [],
  };
  const start = async (): Promise<void> => {
    if (handle?.running) return;
    handle = await startWireguardGo(p.ns, wgOpts, { tracker, scratchDir: scratch });
  };
  const stop = async (): Promise<void> => {
    const h = handle;
    handle = undefined;
    await h?.stop();
  };
  return {
    index: p.index,
    ns: p.ns,
    endpoint: { host: p.link4, port: WG_PORT },
    endpointName: serverName(p.index),
    publicKey: key.pub,
    exitAddress: p.link4,
    tunnelAddress: p.tunnel,
    clientTunnelAddress: p.clientTunnel,
    linkAddress6: p.link6,
    get pid() {
      return handle?.running ? handle.pid : undefined;
    },
    get running() {
      return handle?.running ?? false;
    },
    start: () => serial(start),
    stop: () => serial(stop),
    restart: () =>
      serial(async () => {
        await stop();
        await start();
      }),
    wg: async (args) => (handle ? handle.wg(args) : { code: 1, stdout: '', stderr: `server ${p.index} is stopped\n` }),
  };
}
