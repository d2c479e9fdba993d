// The firewall policy as data (FirewallSpec): validation, the canonical form, its hash and the
// marker our table carries. Pure. ruleset.ts turns a spec into nft text.
import { createHash } from 'node:crypto';
import { formatIp, parseIp } from '../../net/ip.js';

/** Marker at the start of the table's comment; ` block=<0|1> spec=<hash>` follows. */
const MARKER_PREFIX = 'umbra firewall v2';

export interface FirewallSpec {
  /** true: the kill switch (chains policy drop: only what the fields allow passes outside the tunnel).
   *  false: "guard" — connected without the kill switch: chains policy accept plus the guards below. */
  block: boolean;
  /** The tunnel interface once it exists. */
  tunnelInterface?: string;
  /** The tunnel's inner addresses (IP literals, no prefix length). Guarded whenever non-empty
   *  (block or not; needs tunnelInterface): nothing addressed to them arrives except on the tunnel or
   *  loopback, and no ARP replies for them on any interface (CVE-2019-14899). */
  tunnelAddresses: string[];
  /** The tunnel carries IPv6. When false, IPv6 outside the tunnel is refused even with block=false
   *  (except loopback, the marked encrypted UDP to an IPv6 endpoint, neighbour discovery / MLD /
   * DHCPv6, ICMPv6 errors about allowed flows, and with block=false fc00::/7, fe80::/10,
   *  ff02::/16). Ignored when block=true (block refuses everything anyway). */
  tunnelsIpv6: boolean;
  /** Where the encrypted UDP may go (the helper's socket carries fwmark). */
  endpoints: { address: string; port: number }[];
  fwmark: number;
  /** block only: DNS servers allowed, only through the tunnel; port 53 anywhere else is refused. */
  dnsServers: string[];
  /** block only: system resolvers that the helper's OWN lookups of a hostname endpoint may reach
   *  outside the tunnel (port 53 with `meta mark <fwmark>` only; replies only as established). */
  lookupResolvers: string[];
  /** block only: LAN DNS (Settings.lanDns): the LAN resolvers the helper's OWN marked DNS forwarder
   *  may reach outside the tunnel (port 53 with `meta mark <fwmark>` only; replies only as
   *  established). Absent or empty: none, and the ruleset is as without it. */
  lanDnsServers?: string[];
  /** block only: "allow LAN" — the fixed ranges of lan-ranges.ts, never a subnet the network hands out. */
  allowLan: boolean;
  /** Split tunnelling (both policies): sockets of processes in this cgroup v2 cgroup ("excluded")
   *  are marked and leave outside the tunnel, their DNS DNATed to the first resolver of its family. */
  excluded?: ExcludedSpec;
}

export interface ExcludedSpec {
  /** As `socket cgroupv2` takes it: relative to /sys/fs/cgroup (ExcludedCgroup.path). */
  cgroupPath: string;
  /** Its level in the hierarchy (ExcludedCgroup.level). */
  cgroupLevel: number;
  /** The routing mark of excluded traffic (EXCLUDED_FWMARK); not the tunnel's fwmark. */
  mark: number;
  /** The system resolvers as they were before the helper rewrote DNS (IP literals). */
  resolvers: string[];
}

type Ip = { family: 4 | 6; address: string };

/** A spec validated, canonical, de-duplicated and sorted (what the hash covers). Fields that the
 *  mode ignores are reset (guard: no DNS, resolvers or LAN; block: tunnelsIpv6 true), so the same
 *  meaning always has the same hash. */
export interface NormalizedSpec {
  block: boolean;
  tunnelInterface?: string;
  tunnelAddresses: Ip[];
  tunnelsIpv6: boolean;
  endpoints: (Ip & { port: number })[];
  fwmark: number;
  dnsServers: Ip[];
  lookupResolvers: Ip[];
  lanDnsServers: Ip[];
  allowLan: boolean;
  excluded?: { cgroupPath: string; cgroupLevel: number; mark: number; resolvers: Ip[] };
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** An IP literal, canonical; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address it carries. */
function canonicalIp(text: unknown, what: string): Ip {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string, not ${typeof text}`);
  const ip = text.includes('%') ? undefined : parseIp(text.trim());
  if (!ip) throw new RangeError(`${what} "${text}" is not an IPv4 or IPv6 address`);
  const b = ip.bytes;
  if (ip.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return { family: 4, address: formatIp(b.subarray(12)) };
  }
  return { family: ip.family, address: formatIp(b) };
}

const isUnspecified = (ip: Ip) => ip.address === '0.0.0.0' || ip.address === '::';

const byText = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

function ipList(list: unknown[], what: string, opts: { specified?: boolean } = {}): Ip[] {
  const out = new Map<string, Ip>();
  for (const s of list) {
    const ip = canonicalIp(s, what);
    if (opts.specified && isUnspecified(ip)) throw new RangeError(`${what} "${String(s)}" is unspecified`);
    out.set(ip.address, ip);
  }
  return [...out.values()].sort(byText((d) => `${d.family} ${d.address}`));
}

function boolean(spec: FirewallSpec, key: 'block' | 'tunnelsIpv6' | 'allowLan'): boolean {
  const v = spec[key];
  if (typeof v !== 'boolean') throw new TypeError(`${key} must be true or false, not ${String(v)}`);
  return v;
}

/** Validates a spec and puts it in canonical form. Throws TypeError/RangeError naming the bad field. */
export function normalizeSpec(spec: FirewallSpec): NormalizedSpec {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('a firewall spec must be an object');
  const block = boolean(spec, 'block');
  const tunnelsIpv6 = boolean(spec, 'tunnelsIpv6');
  const allowLan = boolean(spec, 'allowLan');
  const { tunnelInterface, fwmark } = spec;
  if (tunnelInterface !== undefined && (typeof tunnelInterface !== 'string' || !IFNAME.test(tunnelInterface) || tunnelInterface === 'lo')) {
    throw new RangeError(`tunnelInterface "${String(tunnelInterface)}" is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . -, not lo)`);
  }
  // Mark 0 would match every unmarked packet.
  if (!Number.isInteger(fwmark) || fwmark < 1 || fwmark > 0xffffffff) {
    throw new RangeError(`fwmark must be an integer from 1 to 0xffffffff, not ${String(fwmark)}`);
  }
  for (const key of ['tunnelAddresses', 'endpoints', 'dnsServers', 'lookupResolvers'] as const) {
    if (!Array.isArray(spec[key])) throw new TypeError(`${key} must be an array`);
  }
  if (spec.lanDnsServers !== undefined && !Array.isArray(spec.lanDnsServers)) throw new TypeError('lanDnsServers must be an array');

  const endpoints = new Map<string, Ip & { port: number }>();
  for (const ep of spec.endpoints) {
    const ip = canonicalIp(ep?.address, 'endpoint address');
    if (isUnspecified(ip)) throw new RangeError(`endpoint address "${ep.address}" is unspecified`);
    if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) {
      throw new RangeError(`endpoint port must be an integer from 1 to 65535, not ${String(ep.port)}`);
    }
    endpoints.set(`${ip.address} ${ep.port}`, { ...ip, port: ep.port });
  }

  const tunnelAddresses = ipList(spec.tunnelAddresses, 'tunnelAddresses entry', { specified: true });
  if (tunnelAddresses.length > 0 && tunnelInterface === undefined) {
    throw new RangeError('tunnelAddresses need tunnelInterface: the guard lets them in only on the tunnel');
  }
  const dnsServers = ipList(spec.dnsServers, 'DNS server');
  const lookupResolvers = ipList(spec.lookupResolvers, 'lookupResolvers entry', { specified: true });
  const lanDnsServers = ipList(spec.lanDnsServers ?? [], 'lanDnsServers entry', { specified: true });

  const out: NormalizedSpec = {
    block,
    tunnelAddresses,
    tunnelsIpv6: block ? true : tunnelsIpv6,
    endpoints: [...endpoints.values()].sort(byText((e) => `${e.family} ${e.address} ${String(e.port).padStart(5, '0')}`)),
    fwmark,
    dnsServers: block ? dnsServers : [],
    lookupResolvers: block ? lookupResolvers : [],
    lanDnsServers: block ? lanDnsServers : [],
    allowLan: block ? allowLan : false,
  };
  if (tunnelInterface !== undefined) out.tunnelInterface = tunnelInterface;
  if (spec.excluded !== undefined) out.excluded = normalizeExcluded(spec.excluded, fwmark);
  return out;
}

// Path segments of word characters (systemd's escapes would need a backslash: not taken), so the
// path can be quoted in nft text as it is.
const CGROUP_PATH = /^(\.\.\/)*[A-Za-z0-9_@:+.-]+(\/[A-Za-z0-9_@:+.-]+)*$/;

function normalizeExcluded(ex: ExcludedSpec, fwmark: number): NonNullable<NormalizedSpec['excluded']> {
  if (typeof ex !== 'object' || ex === null) throw new TypeError('excluded must be an object');
  const { cgroupPath, cgroupLevel, mark } = ex;
  if (typeof cgroupPath !== 'string' || cgroupPath.length > 1024 || !CGROUP_PATH.test(cgroupPath)) {
    throw new RangeError(`excluded cgroupPath "${String(cgroupPath)}" is not a cgroup path relative to /sys/fs/cgroup (segments of A-Z a-z 0-9 _ @ : + . -)`);
  }
  if (!Number.isInteger(cgroupLevel) || cgroupLevel < 1 || cgroupLevel > 255) {
    throw new RangeError(`excluded cgroupLevel must be an integer from 1 to 255, not ${String(cgroupLevel)}`);
  }
  if (!Number.isInteger(mark) || mark < 1 || mark > 0xffffffff || mark === fwmark) {
    throw new RangeError(`excluded mark must be an integer from 1 to 0xffffffff other than fwmark, not ${String(mark)}`);
  }
  if (!Array.isArray(ex.resolvers)) throw new TypeError('excluded resolvers must be an array');
  // The order counts (the first of each family is the one used), so it is kept.
  const resolvers = new Map<string, Ip>();
  for (const r of ex.resolvers) {
    const ip = canonicalIp(r, 'excluded resolver');
    if (isUnspecified(ip)) throw new RangeError(`excluded resolver "${String(r)}" is unspecified`);
    if (!resolvers.has(ip.address)) resolvers.set(ip.address, ip);
  }
  return { cgroupPath, cgroupLevel, mark, resolvers: [...resolvers.values()] };
}

/** A short hash (32 hex digits of SHA-256) of the normalised spec: same meaning, same hash. */
export function specHash(spec: FirewallSpec): string {
  return hashOf(normalizeSpec(spec));
}

function hashOf(n: NormalizedSpec): string {
  const canonical = JSON.stringify([
    n.block, n.tunnelInterface ?? null, n.tunnelAddresses, n.tunnelsIpv6, n.endpoints, n.fwmark, n.dnsServers, n.lookupResolvers, n.allowLan,
    // Only when present, so that every spec without it keeps the hash it had.
    ...(n.excluded ? [n.excluded] : []),
    ...(n.lanDnsServers.length > 0 ? [{ lanDnsServers: n.lanDnsServers }] : []),
  ]);
  return createHash('sha256').update(`${MARKER_PREFIX}\n${canonical}`).digest('hex').slice(0, 32);
}

/** The comment our table carries for a spec: it says the policy and which spec it was built from. */
export function markerComment(spec: FirewallSpec): string {
  return markerOf(normalizeSpec(spec));
}

export function markerOf(n: NormalizedSpec): string {
  return `${MARKER_PREFIX} block=${n.block ? 1 : 0} spec=${hashOf(n)}`;
}

/** The marker in a listing of our table (`nft list table inet umbra`), if it carries one of ours. */
export function parseMarker(listing: string): { hash: string; block: boolean } | undefined {
  const v2 = /^\s*comment "umbra firewall v2 block=([01]) spec=([0-9a-f]{32})"\s*$/m.exec(listing);
  if (v2) return { hash: v2[2]!, block: v2[1] === '1' };
  const v1 = /^\s*comment "umbra kill switch v1 spec=([0-9a-f]{32})"\s*$/m.exec(listing);
  return v1 ? { hash: v1[1]!, block: true } : undefined;
}

/**
 * The spec for "kill switch on boot" (and any block held while disconnected): blocking, no
 * tunnel, no endpoint, no DNS, no resolvers; the fixed LAN ranges if "allow LAN" is on. It takes
 * nothing from the network, so it always builds.
 */
export function bootSpec(opts: { fwmark: number; allowLan?: boolean }): FirewallSpec {
  return {
    block: true,
    tunnelAddresses: [],
    tunnelsIpv6: true,
    endpoints: [],
    fwmark: opts.fwmark,
    dnsServers: [],
    lookupResolvers: [],
    allowLan: opts.allowLan ?? false,
  };
}
