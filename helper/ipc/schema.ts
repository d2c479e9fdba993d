// The one IPC schema (DESIGN.md, convention 6): every method's params and result, every pushed
// event, and the error codes, with runtime validation. The helper validates what it receives
// (it runs as root); clients validate what they get back. Types come from the same schemas.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
/** Longest request line the helper reads; a longer one closes the connection. */
export const MAX_LINE_BYTES = 256 * 1024;
/** Longest config text importConfig takes (a wg-quick file is a few hundred bytes). */
export const MAX_CONFIG_BYTES = 64 * 1024;
/**
 * Longest catalog text loadCatalog takes: with JSON's escaping of its quotes a request stays within
 * MAX_LINE_BYTES (a catalog of several hundred servers fits; a larger one comes by URL).
 */
export const MAX_CATALOG_TEXT_BYTES = 192 * 1024;
/** Longest line a client reads from the helper (a large catalog's server list fits easily). */
export const MAX_REPLY_LINE_BYTES = 16 * 1024 * 1024;
/** Where the helper listens unless told otherwise (clients: env UMBRA_SOCKET overrides it). */
export const DEFAULT_SOCKET_PATH = '/run/umbra/umbrad.sock';
/** The group whose members (besides root) may control the helper. */
export const CONTROL_GROUP = 'umbra';

// ------------------------------------------------------------------ domain

export const ServerId = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._-]*$/, 'ids are lowercase letters, digits, ".", "_" and "-"');

export const ServerInfo = z.strictObject({
  id: ServerId,
  name: z.string().min(1).max(100),
  country: z.string().max(60).optional(),
  /** ISO 3166-1 alpha-2, lowercase, when known. */
  countryCode: z.string().regex(/^[a-z]{2}$/).optional(),
  city: z.string().max(60).optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  /** host:port or [v6]:port, as configured. */
  endpoint: z.string().min(3).max(300),
  publicKey: z.string().length(44),
  /** The address the internet sees through this server, when the catalog says. */
  exitIp: z.string().max(45).optional(),
  source: z.enum(['import', 'catalog']),
});
export type ServerInfo = z.infer<typeof ServerInfo>;

export const TunnelState = z.enum(['disconnected', 'connecting', 'connected', 'reconnecting', 'disconnecting', 'error']);
export type TunnelState = z.infer<typeof TunnelState>;

/**
 * What a firewall policy does (DESIGN.md, "Firewall policy per state"):
 * none — no table; guard — connected without the kill switch: the tunnel's address only via the
 * tunnel, no ARP for it, IPv6 outside an IPv4-only tunnel refused, no forwarding out of the
 * tunnel; block — the kill switch: nothing but the tunnel and its endpoint leaves (plus the guards).
 */
export const FirewallKind = z.enum(['none', 'guard', 'block']);
export type FirewallKind = z.infer<typeof FirewallKind>;

/** Why the helper holds a block while disconnected. */
export const BlockHold = z.enum(['boot', 'unreadable-state', 'lockdown', 'untrusted-network']);
export type BlockHold = z.infer<typeof BlockHold>;

export const ErrorInfo = z.strictObject({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/**
 * The exit address as the internet sees it, measured by the helper through the tunnel (the leak
 * check's IP-echo services), once per connection: never the catalog's word for it.
 * measuring: asked, no answer yet; measured: an echo service answered; unmeasurable: none did.
 */
export const MeasuredExit = z.strictObject({
  state: z.enum(['measuring', 'measured', 'unmeasurable']),
  ipv4: z.string().max(45).optional(),
  ipv6: z.string().max(45).optional(),
  /** Epoch ms of the answer (measured, unmeasurable). */
  at: z.number().optional(),
  /** Whether the catalog's exitIp is what the internet sees; null: the catalog names none, or that family was not measured. */
  matchesCatalog: z.boolean().nullable(),
  /** unmeasurable: why (the echo services' errors). */
  error: z.string().max(500).optional(),
  /**
   * measured: the internet sees the address this machine has without the VPN, so this traffic does
   * not go through the tunnel (a config whose AllowedIPs leave the echo service out, say).
   */
  outsideTunnel: z.boolean().optional(),
});
export type MeasuredExit = z.infer<typeof MeasuredExit>;

// ------------------------------------------------------------------ trusted networks

/** trusted: nothing is done; untrusted: connect, kill switch on, blocked from the moment it appears; ask: the UI asks. */
export const NetworkRule = z.enum(['trusted', 'untrusted', 'ask']);
export type NetworkRule = z.infer<typeof NetworkRule>;
/** A network's stable key: a hash of its Wi-Fi SSID and BSSID, or of its gateway's MAC address. */
export const NetworkKey = z.string().regex(/^[0-9a-f]{16}$/, 'a network key is 16 hex digits (umbra networks lists them)');
/** wifi: told by NetworkManager or iwd; gateway: known by the default gateway's MAC address. */
export const NetworkKind = z.enum(['wifi', 'gateway']);
const NetworkName = z.string().trim().min(1).max(100);

export const KnownNetwork = z.strictObject({ key: NetworkKey, name: NetworkName, kind: NetworkKind, rule: NetworkRule });
export type KnownNetwork = z.infer<typeof KnownNetwork>;

/** How many networks are remembered at most. */
export const MAX_KNOWN_NETWORKS = 256;
/** Per-network rules; `unseen` is the rule of a network seen for the first time (it is then remembered with it). */
export const NetworkRules = z.strictObject({ unseen: NetworkRule, known: z.array(KnownNetwork).max(MAX_KNOWN_NETWORKS) });
export type NetworkRules = z.infer<typeof NetworkRules>;

export const TunnelStatus = z.strictObject({
  state: TunnelState,
  /** Whether a blocking table is in the kernel right now (read back from the kernel, never assumed). */
  blocked: z.boolean(),
  /** Whether Umbra's nftables table is in the kernel at all (read back, not assumed). */
  firewallActive: z.boolean(),
  /** The policy this state wants, and what the kernel was last seen to hold ('foreign': a table of that name that is not ours). */
  firewall: z.strictObject({ wanted: FirewallKind, kernel: z.enum(['none', 'guard', 'block', 'foreign']) }),
  /** While disconnected with a block held: why (kill switch on boot; state files unreadable after a crash). */
  hold: BlockHold.optional(),
  server: ServerInfo.optional(),
  interfaceName: z.string().optional(),
  /** Tunnel-inner addresses, CIDR. */
  addresses: z.array(z.string()),
  dns: z.array(z.string()),
  /** Epoch milliseconds. */
  connectedSince: z.number().optional(),
  lastHandshake: z.number().optional(),
  /** Epoch ms: while connected, data sent since then has had no reply from the server (set once that lasts QUIET_PROBE_AFTER). */
  noReplySince: z.number().optional(),
  rxBytes: z.number(),
  txBytes: z.number(),
  /**
   * While a tunnel is up: its datagrams that the path could not carry whole (the kernel learnt a
   * path MTU below them from ICMP) and that went one by one, fragmented, instead of batched.
   */
  pathMtuFragmented: z.number().int().nonnegative().optional(),
  /**
   * While a tunnel is up and the kernel has learnt a path MTU toward the server below the tunnel's
   * full-size datagrams: that path MTU, and the tunnel MTU at which they would fit (absent when no
   * MTU a config may set does). Every full-size packet goes in fragments meanwhile.
   */
  pathMtu: z.object({ learnt: z.number().int().positive(), mtuThatFits: z.number().int().positive().optional() }).optional(),
  /** While a tunnel is up: handshake messages dropped over the engine's handshake budget (someone floods the client). */
  handshakeFloodDropped: z.number().int().nonnegative().optional(),
  /** In `error`, and while connecting after a failure: what went wrong and what to do. */
  error: ErrorInfo.optional(),
  /** Connection attempts since the user asked to connect (0 before the first failure). */
  attempt: z.number().int().nonnegative(),
  /** While connected: the exit address measured through this connection (absent in every other state). */
  measuredExit: MeasuredExit.optional(),
  /** What the helper's data path runs on: its AEAD backend ('openssl' is the fast one) and runtime ("node v24.22.3"). */
  engine: z.strictObject({ aead: z.enum(['openssl', 'node', 'noble']), runtime: z.string().max(100) }).optional(),
  /** With trusted networks on: the network the machine is on (once identified), its name and its rule. */
  network: KnownNetwork.optional(),
});
export type TunnelStatus = z.infer<typeof TunnelStatus>;

const HttpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** A DNS leak-test service: names under `zone` reach its DNS server, and `apiUrl?name=<qname>` says who asked. */
const DnsLeakTest = z.strictObject({
  /** A zone whose authoritative server logs who asks (e.g. "lab.test"). */
  zone: z
    .string()
    .min(1)
    .max(200)
    .regex(/^(?!-)[A-Za-z0-9-]{1,63}(\.(?!-)[A-Za-z0-9-]{1,63})*\.?$/, 'a zone is a domain name, e.g. leaktest.example'),
  /** GET apiUrl?name=<qname> → JSON: the addresses that asked for qname (an array, or {askers: [...]}). */
  apiUrl: HttpUrl,
});
type DnsLeakTest = z.infer<typeof DnsLeakTest>;

/** A domain as the user names it for LAN DNS: lower case, no leading or trailing dot ("corp.example"). */
const LanDomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/, 'a local domain is a DNS name in lower case without a leading dot, e.g. corp.example');

/** Names in or under `domains` are asked of `servers` on the local network (Settings.lanDns). */
const LanDns = z.strictObject({
  domains: z.array(LanDomain).min(1).max(8),
  servers: z.array(z.union([z.ipv4(), z.ipv6()], 'a local DNS server is an IPv4 or IPv6 address')).min(1).max(2),
});
export type LanDns = z.infer<typeof LanDns>;

export const Settings = z.strictObject({
  killSwitch: z.boolean(),
  killSwitchOnBoot: z.boolean(),
  /**
   * Always require the VPN: nothing leaves outside the tunnel in any state, disconnected
   * included, until it is turned off (a disconnect or quitting the app does not lift it; the boot
   * block holds from boot). Absent: off.
   */
  lockdown: z.boolean().optional(),
  allowLan: z.boolean(),
  autoConnect: z.boolean(),
  lastServerId: ServerId.optional(),
  /** IP-echo services for the leak check: GET → the caller's address (plain text or JSON {"ip": …}); first that answers counts. */
  echoUrls: z.array(HttpUrl).min(1).max(8).optional(),
  /** The echo service over IPv6; null: no IPv6 echo; absent: the echoUrls' host names over IPv6. */
  echoUrl6: HttpUrl.nullable().optional(),
  /** An active DNS leak test (a zone and an API that says who asked); null or absent: none. */
  dnsLeakTest: DnsLeakTest.nullable().optional(),
  /**
   * The user's own DNS servers, used through the tunnel instead of the config's DNS (for every
   * server); null or absent: the config's. The leak check counts them as the expected resolvers.
   */
  dnsServers: z.array(z.union([z.ipv4(), z.ipv6()], 'a DNS server is an IPv4 or IPv6 address')).min(1).max(4).nullable().optional(),
  /**
   * DNS for local network domains (off when null or absent): names in or under `domains` go to
   * `servers` on the local network, outside the tunnel; every other name still goes through it.
   * Only with the /etc/resolv.conf backend (the helper forwards from 127.0.80.53).
   */
  lanDns: LanDns.nullable().optional(),
  /** STUN servers for the WebRTC check (stun:host:port), used by the UI. */
  stunServers: z.array(z.string().max(300).regex(/^stuns?:\S+$/, 'a STUN server is stun:host[:port]')).max(8).optional(),
  /** Trusted and untrusted networks; null or absent: off (the helper does not look at networks). */
  networks: NetworkRules.nullable().optional(),
});
export type Settings = z.infer<typeof Settings>;

/** Public IP-echo services (plain-text answers), used unless the settings name others. */
export const DEFAULT_ECHO_URLS = ['https://api.ipify.org/', 'https://ipv4.icanhazip.com/'];
export const DEFAULT_ECHO_URL6 = 'https://api6.ipify.org/';
export const DEFAULT_STUN_SERVERS = ['stun:stun.cloudflare.com:3478'];

export const DEFAULT_SETTINGS: Settings = {
  killSwitch: false,
  killSwitchOnBoot: false,
  allowLan: false,
  autoConnect: false,
  echoUrls: DEFAULT_ECHO_URLS,
  echoUrl6: DEFAULT_ECHO_URL6,
  stunServers: DEFAULT_STUN_SERVERS,
};

// ------------------------------------------------------------------ leak checks

export const LeakCheckId = z.enum(['public-ip', 'dns', 'ipv6', 'kill-switch', 'webrtc']);
export type LeakCheckId = z.infer<typeof LeakCheckId>;
/** pass: shown to hold; warn: could not be shown, or holds only because you are not connected; fail: something escapes. */
export const LeakVerdict = z.enum(['pass', 'warn', 'fail']);
export type LeakVerdict = z.infer<typeof LeakVerdict>;

/** One piece of evidence: what was looked at, and what it showed (addresses, routes, rules; may span lines). */
export const LeakEvidence = z.strictObject({ label: z.string(), text: z.string() });
export type LeakEvidence = z.infer<typeof LeakEvidence>;

export const LeakCheckResult = z.strictObject({
  id: LeakCheckId,
  title: z.string(),
  verdict: LeakVerdict,
  /** One line a person understands. */
  finding: z.string(),
  evidence: z.array(LeakEvidence),
});
export type LeakCheckResult = z.infer<typeof LeakCheckResult>;

export const LeakReport = z.strictObject({
  /** Epoch milliseconds. */
  checkedAt: z.number(),
  /** The tunnel's state when the check started. */
  state: TunnelState,
  serverId: ServerId.optional(),
  checks: z.array(LeakCheckResult),
  /** What the checks saw, for the UI's own (WebRTC) check. */
  addresses: z.strictObject({
    /** The addresses IP-echo services saw now (IPv4, IPv6). */
    seen: z.array(z.string()),
    seen6: z.array(z.string()),
    /** The server's exit address, when the catalog says. */
    exit: z.string().optional(),
    /** The address seen without the VPN, as the helper last saw it. */
    preVpn: z.string().optional(),
    preVpn6: z.string().optional(),
    /** This machine's own addresses outside the tunnel. */
    own: z.array(z.string()),
    /** The tunnel's inner addresses. */
    tunnel: z.array(z.string()),
  }),
  stunServers: z.array(z.string()),
});
export type LeakReport = z.infer<typeof LeakReport>;

/** A leak check under way, pushed as each of the helper's checks finishes (the report still comes as the call's result). */
export const LeakCheckProgress = z.strictObject({
  /** When the run began: its report's checkedAt. */
  checkedAt: z.number(),
  /** The helper's checks still running. */
  running: z.array(LeakCheckId),
  /** The results so far, in the report's order. */
  done: z.array(LeakCheckResult),
});
export type LeakCheckProgress = z.infer<typeof LeakCheckProgress>;

// ------------------------------------------------------------------ imports

/** A line of an imported config that the import left out (a shell hook, a key the helper decides itself, a peer without an Endpoint). */
export const ImportNote = z.strictObject({
  line: z.number().int().nonnegative(),
  key: z.string().max(30),
  why: z.string().max(300),
});
export type ImportNote = z.infer<typeof ImportNote>;

/** A provider's catalog-signing key: an Ed25519 public key, 32 bytes in base64. */
const SigningKey = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a signing key is an Ed25519 public key: 32 bytes in base64 (44 characters)');

/** What the helper could say about a loaded catalog: signed by a pinned key (its fingerprint), or not. */
export const CatalogTrust = z.strictObject({ signed: z.boolean(), keyFingerprint: z.string().max(32).optional() });
export type CatalogTrust = z.infer<typeof CatalogTrust>;

// ------------------------------------------------------------------ latency

/** Most servers one measureLatency call takes (the ids are checked against the store too). */
export const MAX_LATENCY_SERVERS = 1000;

/** One server's round trip: rttMs null with a reason when there is no figure. */
export const LatencyResult = z.strictObject({
  id: ServerId,
  /** The average ICMP echo round trip to the server's endpoint, in ms; null: not measured or no reply. */
  rttMs: z.number().nonnegative().nullable(),
  /** Why rttMs is null ("blocked by the kill switch", "no reply", …). */
  reason: z.string().max(300).optional(),
});
export type LatencyResult = z.infer<typeof LatencyResult>;

export const LatencyReport = z.strictObject({
  results: z.array(LatencyResult),
  /** Epoch milliseconds. */
  measuredAt: z.number(),
  /**
   * While connected: the server whose tunnel the pings went through (ordinary traffic, so the
   * figures are from its exit, not from this machine). Absent: straight from this machine, or none sent.
   */
  via: ServerId.optional(),
});
export type LatencyReport = z.infer<typeof LatencyReport>;

/** Pings each server's endpoint once, when asked (nothing measures on a timer); a few seconds at most. */
const measureLatencyMethod = {
  params: z.strictObject({ serverIds: z.array(ServerId).max(MAX_LATENCY_SERVERS).optional() }),
  result: LatencyReport,
};

// ------------------------------------------------------------------ split tunnelling

/** A process whose traffic leaves outside the tunnel (it and its children are in the helper's cgroup). */
export const ExcludedProcess = z.strictObject({
  pid: z.number().int().positive(),
  /** Its command name (/proc/PID/comm). */
  name: z.string().max(100),
  uid: z.number().int().nonnegative(),
});
export type ExcludedProcess = z.infer<typeof ExcludedProcess>;

const ExcludedList = z.strictObject({ excluded: z.array(ExcludedProcess) });
const PidParams = z.strictObject({ pid: z.number().int().positive().max(2 ** 22) });

// ------------------------------------------------------------------ methods

const Empty = z.strictObject({});

export const methods = {
  version: { params: Empty, result: z.strictObject({ version: z.string(), protocol: z.number().int() }) },
  status: { params: Empty, result: TunnelStatus },
  connect: { params: z.strictObject({ serverId: ServerId.optional() }), result: TunnelStatus },
  disconnect: { params: Empty, result: TunnelStatus },
  listServers: { params: Empty, result: z.strictObject({ servers: z.array(ServerInfo) }) },
  /** The TEXT of a wg-quick config: the client reads the file as the user; the helper opens no path. */
  importConfig: {
    params: z.strictObject({
      text: z.string().min(1).refine((t) => new TextEncoder().encode(t).length <= MAX_CONFIG_BYTES, `a config is at most ${MAX_CONFIG_BYTES} bytes`),
      name: z.string().min(1).max(100).optional(),
    }),
    /** notes: the lines left out, and why (always sent by this helper; absent from an older one). */
    result: z.strictObject({ server: ServerInfo, notes: z.array(ImportNote).max(1000).optional() }),
  },
  removeServer: { params: z.strictObject({ id: ServerId }), result: z.strictObject({ servers: z.array(ServerInfo) }) },
  /** A catalog's JSON TEXT (the client reads the file as the user; the helper opens no path), or a URL. */
  /**
   * signingKey: the provider's Ed25519 public key the user pinned (base64); the catalog must then be
   * signed by it. allowUnsigned: the user's explicit consent to an unsigned catalog from a URL (a
   * file's text may be unsigned without it). URLs are https (http only under the lab allowance).
   * trust: whether the catalog was signed, and by which key (always sent by this helper).
   */
  loadCatalog: {
    params: z.union([
      z.strictObject({
        text: z.string().min(1).refine((t) => new TextEncoder().encode(t).length <= MAX_CATALOG_TEXT_BYTES, `a catalog sent as text is at most ${MAX_CATALOG_TEXT_BYTES / 1024} KiB`),
        signingKey: SigningKey.optional(),
      }),
      z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(4096), signingKey: SigningKey.optional(), allowUnsigned: z.boolean().optional() }),
    ]),
    result: z.strictObject({ servers: z.array(ServerInfo), trust: CatalogTrust.optional() }),
  },
  getSettings: { params: Empty, result: Settings },
  setSettings: { params: Settings.partial().strict(), result: Settings },
  /**
   * With trusted networks on: one network's rule and/or name ("current": the one the machine is on,
   * once identified), or `forget` it (the machine's network is then seen anew, with the rule for
   * unseen ones); returns the rules.
   */
  setNetwork: {
    params: z
      .strictObject({ key: z.union([NetworkKey, z.literal('current')]), rule: NetworkRule.optional(), name: NetworkName.optional(), forget: z.literal(true).optional() })
      .refine((p) => !p.forget || (p.rule === undefined && p.name === undefined), 'forget goes alone: a forgotten network has no rule or name to set'),
    result: NetworkRules,
  },
  /** Runs the helper's leak checks (public IP, DNS, IPv6, kill switch); takes a few seconds. */
  leakCheck: { params: Empty, result: LeakReport },
  measureLatency: measureLatencyMethod,
  /** Starts pushing `event` notifications on this connection; returns the current picture. */
  /**
   * Split tunnelling: moves a process the caller owns (and its future children) outside the tunnel;
   * `umbra exclude -- CMD` starts one held, has it moved, then lets it run. Lists are the caller's
   * own processes (root: everyone's).
   */
  excludeProcess: { params: PidParams, result: ExcludedList },
  includeProcess: { params: PidParams, result: ExcludedList },
  /** available false (with why) where this machine cannot exclude apps (no cgroup v2, no nft socket match). */
  listExcluded: { params: Empty, result: ExcludedList.extend({ available: z.boolean(), reason: z.string().max(300).optional() }) },
  subscribe: { params: Empty, result: z.strictObject({ status: TunnelStatus, settings: Settings, servers: z.array(ServerInfo) }) },
} as const;

export type MethodName = keyof typeof methods;
export type Params<M extends MethodName> = z.infer<(typeof methods)[M]['params']>;
export type Result<M extends MethodName> = z.infer<(typeof methods)[M]['result']>;
export const METHOD_NAMES = Object.keys(methods) as MethodName[];
export const isMethodName = (m: string): m is MethodName => Object.hasOwn(methods, m);

/** What the helper implements; the IPC server calls these with validated params. */
export type Handlers = { [M in MethodName]: (params: Params<M>, caller: Caller) => Promise<Result<M>> };

export interface Caller {
  pid: number;
  uid: number;
  gid: number;
}

// ------------------------------------------------------------------ events

export const HelperEvent = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('status'), status: TunnelStatus }),
  z.strictObject({ type: z.literal('settings'), settings: Settings }),
  z.strictObject({ type: z.literal('servers'), servers: z.array(ServerInfo) }),
  z.strictObject({ type: z.literal('leakCheck'), progress: LeakCheckProgress }),
]);
export type HelperEvent = z.infer<typeof HelperEvent>;
/** Notifications carry `method: EVENT_METHOD` and the event as params. */
export const EVENT_METHOD = 'event';

// ------------------------------------------------------------------ errors

/** JSON-RPC 2.0 codes, and ours (−32000 … −32099), each with a `data.reason` string. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  PermissionDenied: -32001,
  NotFound: -32002,
  InvalidConfig: -32003,
  NoProfile: -32004,
  Unavailable: -32005,
  Busy: -32006,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that crosses the socket as a value: a code and a message a person can act on. */
export class RpcError extends Error {
  constructor(readonly code: ErrorCode | number, message: string, readonly data?: unknown) {
    super(message);
    this.name = 'RpcError';
  }
}
