// The kill switch's nftables ruleset (DESIGN.md, "Kill switch"), as text for ONE `nft -f`
// transaction. Pure: no I/O; the same spec always gives the same text.
//
// The file replaces table `inet umbra` atomically, whether or not it exists:
//     add table inet umbra        (creates it if absent, so that the delete cannot fail)
//     delete table inet umbra     (drops the old chains and rules)
//     table inet umbra { ... }    (the new ones)
// nft sends the three as one netlink batch; the kernel commits all or nothing, so no packet ever
// sees the old table gone and the new one not yet there. No other table is named.
//
// What passes (everything else: output rejected — TCP reset, else ICMP admin-prohibited, so
// programs fail at once instead of timing out — input and forward dropped):
//   output/input   loopback;
//                  the encrypted UDP: out only with the helper's socket mark (SO_MARK) to an
//                  endpoint address and port, in only from an endpoint address and port;
//                  DNS (udp/tcp 53) only out the tunnel to the tunnel's DNS servers, rejected
//                  everywhere else (before the LAN exception, so "allow LAN" never lets a LAN
//                  resolver leak names);
//                  anything else through the tunnel interface (when it exists);
//                  DHCPv4 (68 -> 67 out, 67 -> 68 in), DHCPv6 (546 -> 547 out to ff02::1:2 from
//                  link-local, 547 -> 546 in from link-local), neighbour discovery (RS, RA, NS,
//                  NA with hop limit 255, only to/from link-local or multicast) and MLD
//                  (link-local multicast), so the machine keeps its addresses;
//                  ICMP errors about allowed flows (conntrack "related": path MTU for the
//                  encrypted UDP, which IPv6 routers never fragment);
//                  the LAN prefixes, when given, plus local multicast and broadcast.
//   forward        into the tunnel; from the tunnel only replies (conntrack established/related)
//                  and DNAT-ed (published) ports, never on to other interfaces; the LAN prefixes
//                  as destinations, and as sources for replies and DNAT-ed ports only (so
//                  containers and VMs on this machine cannot bypass the tunnel, and the machine
//                  does not route its LAN, or the tunnel, out of the uplink).
//
// Hook priorities: `filter - 10` (-10) on input, output and forward. Ordering between tables is
// NOT what makes the block hold: every base chain on a hook sees every packet, an `accept` only
// ends the chain it is in, and a drop or reject in any chain is final. So our drops hold whatever
// other tables say, and our accepts let nothing past another table's drop. Where the number
// matters:
//   - after conntrack (-200), mangle (-150; where a `type route` chain may set the helper's mark)
//     and DNAT (-100), so we see the mark and the real destination of each packet;
//   - before the common filter tables (iptables-nft, ufw, docker at 0; firewalld at +10), so ours
//     is the first verdict, the reject the program sees is ours, and their counters and logs do
//     not fill with packets we refuse anyway.
//
// The table carries a comment with a hash of the (normalised) spec: the helper recognises its
// own table and which spec it holds (the watchdog restores it when it is missing or different).
//
// Limits, by design or by netfilter: packet sockets (AF_PACKET, root only; DHCP clients use
// them) never pass netfilter; DNS over other ports (DoT 853, DoH 443) through the tunnel is not
// restricted; with no DNS servers in the spec every port-53 query is refused; inbound UDP whose
// source is an endpoint's address and port is accepted to any local port (the helper's port is
// not known here).
import { createHash } from 'node:crypto';
import { formatIp, parseCidr, parseIp } from '../../config/wg-quick.js';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'umbra';
/** Priority of our base chains, relative to the named priority `filter` (0). */
export const CHAIN_PRIORITY = 'filter - 10';
/** Marker at the start of the table's comment; `spec=<hash>` follows. */
export const MARKER_PREFIX = 'umbra kill switch v1';

export interface KillSwitchSpec {
  /** The tunnel interface once it exists (connected, or connecting with the TUN up). */
  tunnelInterface?: string;
  /** Where the encrypted UDP may go: the current server's endpoint(s) (during a server switch, old and new). */
  endpoints: { address: string; port: number }[]; // IPv4 or IPv6 literal
  /** The helper's socket mark: only marked packets may reach the endpoint. */
  fwmark: number;
  /** DNS servers allowed, only through the tunnel; port 53 anywhere else is rejected. */
  dnsServers: string[];
  /** "Allow LAN": these prefixes pass (both directions) outside the tunnel; [] when off. */
  lanPrefixes: string[];
}

/** A spec with every list validated, canonical, de-duplicated and sorted (what the hash covers). */
export interface NormalizedSpec {
  tunnelInterface?: string;
  endpoints: { family: 4 | 6; address: string; port: number }[];
  fwmark: number;
  dnsServers: { family: 4 | 6; address: string }[];
  lanPrefixes: { family: 4 | 6; prefix: string }[];
}

/** Multicast and broadcast that "allow LAN" lets through besides the prefixes themselves. */
export const LAN_EXTRAS_V4 = ['224.0.0.0/24', '239.0.0.0/8', '255.255.255.255/32'];
export const LAN_EXTRAS_V6 = ['ff02::/16', 'ff05::/16'];
/** Shorter LAN prefixes are refused: they would let (most of) the internet pass. */
const MIN_LAN_PREFIX = { 4: 8, 6: 7 } as const;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** An IP literal, canonical; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address it carries. */
function canonicalIp(text: unknown, what: string): { family: 4 | 6; address: string } {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string, not ${typeof text}`);
  const ip = text.includes('%') ? undefined : parseIp(text.trim());
  if (!ip) throw new RangeError(`${what} "${text}" is not an IPv4 or IPv6 address`);
  const b = ip.bytes;
  if (ip.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return { family: 4, address: formatIp(b.subarray(12)) };
  }
  return { family: ip.family, address: formatIp(b) };
}

function canonicalPrefix(text: unknown): { family: 4 | 6; bytes: Uint8Array; len: number } {
  if (typeof text !== 'string') throw new TypeError(`a LAN prefix must be a string, not ${typeof text}`);
  let c;
  try {
    c = parseCidr(text);
  } catch (e) {
    throw new RangeError(`LAN prefix "${text}": ${(e as Error).message}`);
  }
  if (c.prefix < MIN_LAN_PREFIX[c.family]) {
    throw new RangeError(`LAN prefix "${text}" is too wide (shorter than /${MIN_LAN_PREFIX[c.family]}): it would let the internet pass the kill switch`);
  }
  return { family: c.family, bytes: c.bytes, len: c.prefix };
}

function prefixContains(outer: { bytes: Uint8Array; len: number }, inner: { bytes: Uint8Array; len: number }): boolean {
  if (outer.bytes.length !== inner.bytes.length || outer.len > inner.len) return false;
  for (let bit = 0; bit < outer.len; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((outer.bytes[bit >> 3]! & mask) !== (inner.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Drops prefixes that others cover (nft refuses overlapping intervals in some versions) and sorts. */
function minimalPrefixes(list: { family: 4 | 6; bytes: Uint8Array; len: number }[]): { family: 4 | 6; prefix: string }[] {
  const kept = list.filter(
    (p, i) => !list.some((q, j) => j !== i && prefixContains(q, p) && (q.len < p.len || j < i)),
  );
  return kept
    .map((p) => ({ family: p.family, prefix: `${formatIp(p.bytes)}/${p.len}` }))
    .sort((a, b) => a.family - b.family || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

const byText = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Validates a spec and puts it in canonical form. Throws TypeError/RangeError naming the bad field. */
export function normalizeSpec(spec: KillSwitchSpec): NormalizedSpec {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('a kill-switch spec must be an object');
  const { tunnelInterface, fwmark } = spec;
  if (tunnelInterface !== undefined && (typeof tunnelInterface !== 'string' || !IFNAME.test(tunnelInterface) || tunnelInterface === 'lo')) {
    throw new RangeError(`tunnel interface "${String(tunnelInterface)}" is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . -, not lo)`);
  }
  // Mark 0 would match every unmarked packet.
  if (!Number.isInteger(fwmark) || fwmark < 1 || fwmark > 0xffffffff) {
    throw new RangeError(`fwmark must be an integer from 1 to 0xffffffff, not ${String(fwmark)}`);
  }
  for (const key of ['endpoints', 'dnsServers', 'lanPrefixes'] as const) {
    if (!Array.isArray(spec[key])) throw new TypeError(`${key} must be an array`);
  }

  const endpoints = new Map<string, { family: 4 | 6; address: string; port: number }>();
  for (const ep of spec.endpoints) {
    const ip = canonicalIp(ep?.address, 'endpoint address');
    if (ip.address === '0.0.0.0' || ip.address === '::') throw new RangeError(`endpoint address "${ep.address}" is unspecified`);
    if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) {
      throw new RangeError(`endpoint port must be an integer from 1 to 65535, not ${String(ep.port)}`);
    }
    endpoints.set(`${ip.address} ${ep.port}`, { ...ip, port: ep.port });
  }

  const dns = new Map<string, { family: 4 | 6; address: string }>();
  for (const s of spec.dnsServers) {
    const ip = canonicalIp(s, 'DNS server');
    dns.set(ip.address, ip);
  }

  const out: NormalizedSpec = {
    endpoints: [...endpoints.values()].sort(byText((e) => `${e.family} ${e.address} ${String(e.port).padStart(5, '0')}`)),
    fwmark,
    dnsServers: [...dns.values()].sort(byText((d) => `${d.family} ${d.address}`)),
    lanPrefixes: minimalPrefixes(spec.lanPrefixes.map(canonicalPrefix)),
  };
  if (tunnelInterface !== undefined) out.tunnelInterface = tunnelInterface;
  return out;
}

/** A short hash (32 hex digits of SHA-256) of the normalised spec: same meaning, same hash. */
export function specHash(spec: KillSwitchSpec): string {
  const n = normalizeSpec(spec);
  const canonical = JSON.stringify([n.tunnelInterface ?? null, n.endpoints, n.fwmark, n.dnsServers, n.lanPrefixes]);
  return createHash('sha256').update(`${MARKER_PREFIX}\n${canonical}`).digest('hex').slice(0, 32);
}

/** The comment our table carries for a spec. */
export function markerComment(spec: KillSwitchSpec): string {
  return `${MARKER_PREFIX} spec=${specHash(spec)}`;
}

/** The spec hash in a listing of our table (`nft list table inet umbra`), if it carries our marker. */
export function parseMarker(listing: string): string | undefined {
  const m = /^\s*comment "umbra kill switch v1 spec=([0-9a-f]{32})"\s*$/m.exec(listing);
  return m?.[1];
}

// ------------------------------------------------------------------------------- text

const q = (s: string) => `"${s}"`; // only ever called with validated names and fixed words
const set = (items: string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`);
const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

interface Parts {
  tun?: string;
  ep: { ip4: { address: string; port: number }[]; ip6: { address: string; port: number }[] };
  dns4: string[];
  dns6: string[];
  lan4: string[];
  lan6: string[];
  mark: string;
}

function parts(n: NormalizedSpec): Parts {
  const lan4 = n.lanPrefixes.filter((p) => p.family === 4).map((p) => p.prefix);
  const lan6 = n.lanPrefixes.filter((p) => p.family === 6).map((p) => p.prefix);
  const p: Parts = {
    ep: { ip4: n.endpoints.filter((e) => e.family === 4), ip6: n.endpoints.filter((e) => e.family === 6) },
    dns4: n.dnsServers.filter((d) => d.family === 4).map((d) => d.address),
    dns6: n.dnsServers.filter((d) => d.family === 6).map((d) => d.address),
    lan4,
    lan6,
    mark: hex32(n.fwmark),
  };
  if (n.tunnelInterface !== undefined) p.tun = n.tunnelInterface;
  return p;
}

/** With LAN on, the prefixes plus local multicast/broadcast, minimal again (a prefix may cover an extra). */
function lanWithExtras(p: Parts): { v4: string[]; v6: string[] } {
  if (p.lan4.length === 0 && p.lan6.length === 0) return { v4: [], v6: [] };
  const all = minimalPrefixes([...p.lan4, ...LAN_EXTRAS_V4, ...p.lan6, ...LAN_EXTRAS_V6].map((t) => {
    const c = parseCidr(t);
    return { family: c.family, bytes: c.bytes, len: c.prefix };
  }));
  const fmt = (x: { prefix: string }) => x.prefix.replace(/\/(32|128)$/, '');
  return { v4: all.filter((x) => x.family === 4).map(fmt), v6: all.filter((x) => x.family === 6).map(fmt) };
}

/** DNS: allowed servers through the tunnel, then rejected everywhere (shared by output and forward). */
function dnsRules(p: Parts): string[] {
  const rules: string[] = [];
  if (p.tun !== undefined) {
    if (p.dns4.length > 0) rules.push(`oifname ${q(p.tun)} ip daddr ${set(p.dns4)} meta l4proto { tcp, udp } th dport 53 accept comment "DNS to the tunnel's servers"`);
    if (p.dns6.length > 0) rules.push(`oifname ${q(p.tun)} ip6 daddr ${set(p.dns6)} meta l4proto { tcp, udp } th dport 53 accept comment "DNS to the tunnel's servers"`);
  }
  rules.push('tcp dport 53 reject with tcp reset comment "any other DNS"');
  rules.push('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"');
  return rules;
}

function outputRules(p: Parts): string[] {
  const r: string[] = ['oif "lo" accept'];
  for (const e of p.ep.ip4) r.push(`meta mark ${p.mark} ip daddr ${e.address} udp dport ${e.port} accept comment "encrypted UDP to the VPN server"`);
  for (const e of p.ep.ip6) r.push(`meta mark ${p.mark} ip6 daddr ${e.address} udp dport ${e.port} accept comment "encrypted UDP to the VPN server"`);
  r.push(...dnsRules(p));
  if (p.tun !== undefined) r.push(`oifname ${q(p.tun)} accept comment "through the tunnel"`);
  r.push(
    'meta nfproto ipv4 udp sport 68 udp dport 67 accept comment "DHCPv4"',
    'ip6 saddr fe80::/10 ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept comment "DHCPv6"',
    'ip6 daddr { fe80::/10, ff02::/16 } icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"',
    'ip6 daddr ff02::/16 icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } accept comment "multicast listener reports"',
  );
  const lan = lanWithExtras(p);
  if (lan.v4.length > 0) r.push(`ip daddr ${set(lan.v4)} accept comment "allow LAN"`);
  if (lan.v6.length > 0) r.push(`ip6 daddr ${set(lan.v6)} accept comment "allow LAN"`);
  r.push('meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited');
  return r;
}

function inputRules(p: Parts): string[] {
  const r: string[] = ['iif "lo" accept'];
  for (const e of p.ep.ip4) r.push(`ip saddr ${e.address} udp sport ${e.port} accept comment "encrypted UDP from the VPN server"`);
  for (const e of p.ep.ip6) r.push(`ip6 saddr ${e.address} udp sport ${e.port} accept comment "encrypted UDP from the VPN server"`);
  if (p.tun !== undefined) r.push(`iifname ${q(p.tun)} accept comment "through the tunnel"`);
  r.push(
    'meta nfproto ipv4 udp sport 67 udp dport 68 accept comment "DHCPv4"',
    'ip6 saddr fe80::/10 ip6 daddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6"',
    'ip6 saddr { ::, fe80::/10 } icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"',
    'ip6 saddr fe80::/10 icmpv6 type mld-listener-query accept comment "multicast listener queries"',
    'meta l4proto { icmp, ipv6-icmp } ct state related accept comment "errors about allowed flows (path MTU)"',
  );
  // By source: the LAN's multicast and broadcast come from LAN addresses (fe80::/10 for IPv6,
  // when the prefixes include it).
  if (p.lan4.length > 0) r.push(`ip saddr ${set(p.lan4)} accept comment "allow LAN"`);
  if (p.lan6.length > 0) r.push(`ip6 saddr ${set(p.lan6)} accept comment "allow LAN"`);
  return r;
}

function forwardRules(p: Parts): string[] {
  const r: string[] = [...dnsRules(p)];
  if (p.tun !== undefined) {
    r.push(
      `oifname ${q(p.tun)} accept comment "into the tunnel"`,
      `iifname ${q(p.tun)} ct state { established, related } accept comment "replies from the tunnel"`,
      `iifname ${q(p.tun)} ct status dnat accept comment "published ports"`,
      `iifname ${q(p.tun)} drop comment "nothing else from the tunnel to other interfaces"`,
    );
  }
  if (p.lan4.length > 0) {
    r.push(
      `ip daddr ${set(p.lan4)} accept comment "allow LAN"`,
      `ip saddr ${set(p.lan4)} ct state { established, related } accept comment "allow LAN (replies)"`,
      `ip saddr ${set(p.lan4)} ct status dnat accept comment "allow LAN (published ports)"`,
    );
  }
  if (p.lan6.length > 0) {
    r.push(
      `ip6 daddr ${set(p.lan6)} accept comment "allow LAN"`,
      `ip6 saddr ${set(p.lan6)} ct state { established, related } accept comment "allow LAN (replies)"`,
      `ip6 saddr ${set(p.lan6)} ct status dnat accept comment "allow LAN (published ports)"`,
    );
  }
  return r;
}

function chain(name: string, hook: string, rules: string[]): string[] {
  return [
    `\tchain ${name} {`,
    `\t\ttype filter hook ${hook} priority ${CHAIN_PRIORITY}; policy drop;`,
    ...rules.map((rule) => `\t\t${rule}`),
    '\t}',
  ];
}

/** The complete `nft -f` text that atomically replaces table inet umbra with the kill switch for `spec`. */
export function buildRuleset(spec: KillSwitchSpec): string {
  const n = normalizeSpec(spec);
  const p = parts(n);
  const lines = [
    '#!/usr/sbin/nft -f',
    '# Umbra kill switch: generated by the helper (umbrad); edits are undone. One transaction that',
    `# replaces table ${TABLE_FAMILY} ${TABLE_NAME} atomically and touches no other table.`,
    `add table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `delete table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `table ${TABLE_FAMILY} ${TABLE_NAME} {`,
    `\tcomment ${q(markerComment(spec))}`,
    '',
    ...chain('output', 'output', outputRules(p)),
    '',
    ...chain('input', 'input', inputRules(p)),
    '',
    ...chain('forward', 'forward', forwardRules(p)),
    '}',
  ];
  return lines.join('\n') + '\n';
}

/**
 * The spec for "kill switch on boot": no tunnel and no endpoint (or the last server's endpoints,
 * if given), no DNS; the LAN prefixes if "allow LAN" is on. Loaded from early boot, it blocks the
 * machine until the helper replaces it with a connection's spec or removes it.
 */
export function bootSpec(opts: { fwmark: number; lanPrefixes?: string[]; endpoints?: { address: string; port: number }[] }): KillSwitchSpec {
  return { endpoints: opts.endpoints ?? [], fwmark: opts.fwmark, dnsServers: [], lanPrefixes: opts.lanPrefixes ?? [] };
}

/** The `nft -f` text that deletes table inet umbra; succeeds whether or not it exists. */
export function removalScript(): string {
  return `add table ${TABLE_FAMILY} ${TABLE_NAME}\ndelete table ${TABLE_FAMILY} ${TABLE_NAME}\n`;
}
