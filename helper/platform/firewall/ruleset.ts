// The firewall's nftables ruleset (DESIGN.md, "Firewall policy per state"), as text for ONE
// `nft -f` transaction. Pure: no I/O; the same spec always gives the same text.
//
// TWO tables, not one: `inet umbra` holds the policy, and `arp umbra` stops ARP replies for the
// tunnel's addresses (CVE-2019-14899). The inet family has no ARP hook (ARP is not IP), so that
// rule can live only in a table of family arp. Both are ours, both are replaced in the same
// transaction, and no other table is named:
//     add table inet umbra        (creates it if absent, so that the delete cannot fail)
//     delete table inet umbra     (drops the old chains and rules)
//     add table arp umbra         (the same for the ARP table, so a stale one always goes)
//     delete table arp umbra
//     table inet umbra { ... }    (the new ones)
//     table arp umbra { ... }     (only when the tunnel has IPv4 addresses)
// nft sends all of it as one netlink batch; the kernel commits all or nothing, so no packet ever
// sees the old rules gone and the new ones not yet there.
//
// Two policies (FirewallSpec.block):
//   block (the kill switch): input, output and forward `policy drop`; what passes:
//     output/input  loopback;
//                   the encrypted UDP: out only with the helper's socket mark (SO_MARK) to an
//                   endpoint address and port, in from it only as a reply (conntrack established);
//                   the helper's own lookups of a hostname endpoint: port 53 with the mark, only to
//                   the given system resolvers (their answers in as established); this comes before
//                   the DNS reject, and nothing unmarked gets DNS out;
//                   DNS (udp/tcp 53) only out the tunnel to the tunnel's DNS servers, rejected
//                   everywhere else (before the LAN exception, so "allow LAN" never lets a LAN
//                   resolver leak names);
//                   anything else through the tunnel interface (when it exists);
//                   DHCPv4 as DHCP is: out only 68 -> 67 to 255.255.255.255 (a client whose unicast
//                   renewal is refused falls back to broadcast), in only 67 -> 68 to
//                   255.255.255.255 or as established; DHCPv6 (546 -> 547 out to ff02::1:2 from
//                   link-local, 547 -> 546 in from link-local); neighbour discovery (RS, RA, NS, NA
//                   with hop limit 255, which keeps them on the link; any addresses, see ND_OUT)
//                   and MLD (link-local multicast), so the machine keeps its addresses and
//                   neighbours;
//                   ICMP errors about allowed flows (conntrack "related": path MTU for the
//                   encrypted UDP, which IPv6 routers never fragment);
//                   with "allow LAN", the fixed ranges of lan-ranges.ts plus local multicast and
//                   broadcast.
//     forward       into the tunnel; from the tunnel only replies (conntrack established/related)
//                   and DNAT-ed (published) ports, never on to other interfaces; with "allow LAN"
//                   the fixed ranges as destinations, and as sources for replies and DNAT-ed ports
//                   only (so containers and VMs on this machine cannot bypass the tunnel).
//   guard (connected without the kill switch): chains `policy accept`, plus
//     forward       from the tunnel only replies and DNAT-ed ports, nothing else on to other
//                   interfaces (drop);
//     IPv6          when the tunnel carries only IPv4: IPv6 outside the tunnel is refused (out:
//                   rejected; in and forward: dropped) except loopback, the marked encrypted UDP to
//                   an IPv6 endpoint (and its replies), DHCPv6, neighbour discovery, MLD, ICMPv6
//                   errors about allowed flows, and the LAN (fc00::/7, fe80::/10, ff02::/16).
//   Both, whenever the spec names tunnel addresses (CVE-2019-14899: a host on the same network
//   sends to the tunnel's inner address over the physical link and learns from the answers):
//     prerouting    (priority raw, before conntrack) drops what is addressed to them unless it
//                   arrives on the tunnel or loopback; and IPv6 neighbour solicitations for them
//                   arriving elsewhere (raw payload match on the target field, @th,64,128;
//                   Linux answers those only on the interface holding the address anyway);
//     arp umbra     input drops ARP requests for them, on every interface: Linux answers ARP
//                   for any of its addresses on any interface by default (arp_ignore=0).
//
// Split tunnelling (spec.excluded, both policies): marked traffic of an excluded cgroup leaves
// outside the tunnel, with chains of its own and accepts ahead of the rejects (excluded-rules.ts).
//
// Hook priorities: `filter - 10` (-10) on input, output and forward; `raw` (-300) on prerouting.
// Ordering between tables is NOT what makes the block hold: every base chain on a hook sees every
// packet, an `accept` only ends the chain it is in, and a drop or reject in any chain is final.
// So our drops hold whatever other tables say, and our accepts let nothing past another table's
// drop. Where the number matters:
//   - after conntrack (-200), mangle (-150; where a `type route` chain may set the helper's mark)
//     and DNAT (-100), so we see the mark and the real destination of each packet;
//   - before the common filter tables (iptables-nft, ufw, docker at 0; firewalld at +10), so ours
//     is the first verdict, the reject the program sees is ours, and their counters and logs do
//     not fill with packets we refuse anyway;
//   - the prerouting guard runs before conntrack, so a probe for the tunnel address leaves no
//     conntrack entry behind either.
//
// The inet table carries a comment that says the policy and the hash of the (normalised) spec
// (`umbra firewall v2 block=1 spec=<hash>`): the helper recognises its own table, its policy and
// which spec it holds (the watchdog restores it when it is missing or different).
//
// Limits, by design or by netfilter: packet sockets (AF_PACKET, root only; DHCP clients use
// them for DISCOVER/OFFER) never pass netfilter; DNS over other ports (DoT 853, DoH 443) through
// the tunnel is not restricted; with no DNS servers in the spec every port-53 query is refused
// (except the helper's own marked lookups).
import { excludedChains, excludedInput, excludedOutput } from './excluded-rules.js';
import { GUARD_LAN_V6, LAN_EXTRAS_V4, LAN_EXTRAS_V6, LAN_PREFIXES_V4, LAN_PREFIXES_V6 } from './lan-ranges.js';
import { markerOf, normalizeSpec, type FirewallSpec, type NormalizedSpec } from './spec.js';
import { parseIp } from '../../net/ip.js';

export {
  bootSpec, markerComment, normalizeSpec, parseMarker, specHash,
  type FirewallSpec,
} from './spec.js';
export { PRIVATE_PREFIXES } from './lan-ranges.js';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'umbra';
/** The family of the second table (no ARP replies for the tunnel's addresses). */
export const ARP_TABLE_FAMILY = 'arp';
/** Priority of our filter base chains, relative to the named priority `filter` (0). */
const CHAIN_PRIORITY = 'filter - 10';
/** Priority of the guard's prerouting chain: before conntrack. */
const GUARD_PRIORITY = 'raw';

// ------------------------------------------------------------------------------- text

const q = (s: string) => `"${s}"`; // only ever called with validated names and fixed words
const set = (items: readonly string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`);
const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const host = (prefix: string) => prefix.replace(/\/(32|128)$/, '');
/** An IPv6 address as the 128-bit number a raw payload match compares with. */
const hex128 = (address: string) => `0x${Buffer.from(parseIp(address)!.bytes).toString('hex')}`;

interface Parts {
  block: boolean;
  tun?: string;
  addr4: string[];
  addr6: string[];
  tunnelsIpv6: boolean;
  ep4: { address: string; port: number }[];
  ep6: { address: string; port: number }[];
  dns4: string[];
  dns6: string[];
  res4: string[];
  res6: string[];
  lan4: string[];
  lan6: string[];
  allowLan: boolean;
  mark: string;
  excluded?: NonNullable<NormalizedSpec['excluded']>;
}

function parts(n: NormalizedSpec): Parts {
  const v4 = <T extends { family: 4 | 6 }>(xs: T[]) => xs.filter((x) => x.family === 4);
  const v6 = <T extends { family: 4 | 6 }>(xs: T[]) => xs.filter((x) => x.family === 6);
  const addrs = (xs: { address: string }[]) => xs.map((x) => x.address);
  const p: Parts = {
    block: n.block,
    addr4: addrs(v4(n.tunnelAddresses)),
    addr6: addrs(v6(n.tunnelAddresses)),
    tunnelsIpv6: n.tunnelsIpv6,
    ep4: v4(n.endpoints),
    ep6: v6(n.endpoints),
    dns4: addrs(v4(n.dnsServers)),
    dns6: addrs(v6(n.dnsServers)),
    res4: addrs(v4(n.lookupResolvers)),
    res6: addrs(v6(n.lookupResolvers)),
    lan4: addrs(v4(n.lanDnsServers)),
    lan6: addrs(v6(n.lanDnsServers)),
    allowLan: n.allowLan,
    mark: hex32(n.fwmark),
  };
  if (n.tunnelInterface !== undefined) p.tun = n.tunnelInterface;
  if (n.excluded !== undefined) p.excluded = n.excluded;
  return p;
}

// Rules shared by both policies.
const DHCPV6_OUT = 'ip6 saddr fe80::/10 ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept comment "DHCPv6"';
const DHCPV6_IN = 'ip6 saddr fe80::/10 ip6 daddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6"';
// Neighbour discovery by hop limit 255 alone, whatever the addresses: receivers drop ND messages
// with any other hop limit (RFC 4861), so these never leave the link. Linux solicits from the
// source of the packet waiting for the answer (often a global address) and a neighbour answers
// from the address asked for, so link-local-only rules break reaching on-link global addresses (a
// resolver or gateway at the router's global address) once the neighbour cache is cold.
const ND_OUT = 'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"';
const ND_IN = 'icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"';
const MLD_OUT = 'ip6 daddr ff02::/16 icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } accept comment "multicast listener reports"';
const MLD_IN = 'ip6 saddr fe80::/10 icmpv6 type mld-listener-query accept comment "multicast listener queries"';
const REJECT = ['meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited'];

// Split tunnelling (excluded-rules.ts): before every reject and drop of the chains they go in.
const excludedOut = (p: Parts) => (p.excluded ? excludedOutput(p.excluded) : []);
const excludedIn = (p: Parts) => (p.excluded ? excludedInput(p.excluded) : []);

const endpointOut = (p: Parts, eps: { address: string; port: number }[], ip: 'ip' | 'ip6') =>
  eps.map((e) => `meta mark ${p.mark} ${ip} daddr ${e.address} udp dport ${e.port} accept comment "encrypted UDP to the VPN server"`);
const endpointIn = (eps: { address: string; port: number }[], ip: 'ip' | 'ip6') =>
  eps.map((e) => `${ip} saddr ${e.address} udp sport ${e.port} ct state established accept comment "encrypted UDP from the VPN server (replies only)"`);

/** The CVE-2019-14899 guard: the tunnel's addresses only from the tunnel or loopback. */
function preroutingRules(p: Parts): string[] {
  if (p.tun === undefined) return [];
  const elsewhere = `iifname != { "lo", ${q(p.tun)} }`;
  const r: string[] = [];
  if (p.addr4.length > 0) r.push(`${elsewhere} ip daddr ${set(p.addr4)} drop comment "the tunnel's addresses only through the tunnel (CVE-2019-14899)"`);
  if (p.addr6.length > 0) {
    r.push(
      `${elsewhere} ip6 daddr ${set(p.addr6)} drop comment "the tunnel's addresses only through the tunnel (CVE-2019-14899)"`,
      // The target address is 8 bytes into the ICMPv6 header (RFC 4861 4.3).
      `${elsewhere} icmpv6 type nd-neighbor-solicit @th,64,128 ${set(p.addr6.map(hex128))} drop comment "no neighbour advertisements for the tunnel's addresses"`,
    );
  }
  return r;
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

/** The LAN (allow LAN) as destinations: the fixed ranges plus local multicast and broadcast. */
const LAN_OUT_V4 = [...LAN_PREFIXES_V4, ...LAN_EXTRAS_V4].map(host);
const LAN_OUT_V6 = [...LAN_PREFIXES_V6, ...LAN_EXTRAS_V6];

function blockOutput(p: Parts): string[] {
  const r: string[] = ['oif "lo" accept', ...excludedOut(p), ...endpointOut(p, p.ep4, 'ip'), ...endpointOut(p, p.ep6, 'ip6')];
  // Before the DNS reject: the helper's own lookups of the endpoint's name, marked like its UDP.
  if (p.res4.length > 0) r.push(`meta mark ${p.mark} ip daddr ${set(p.res4)} meta l4proto { tcp, udp } th dport 53 accept comment "the helper's own lookups of the server's name"`);
  if (p.res6.length > 0) r.push(`meta mark ${p.mark} ip6 daddr ${set(p.res6)} meta l4proto { tcp, udp } th dport 53 accept comment "the helper's own lookups of the server's name"`);
  // LAN DNS: only the helper's forwarder marks its queries, and only for the user's local domains.
  if (p.lan4.length > 0) r.push(`meta mark ${p.mark} ip daddr ${set(p.lan4)} meta l4proto { tcp, udp } th dport 53 accept comment "DNS for the local domains the user named"`);
  if (p.lan6.length > 0) r.push(`meta mark ${p.mark} ip6 daddr ${set(p.lan6)} meta l4proto { tcp, udp } th dport 53 accept comment "DNS for the local domains the user named"`);
  r.push(...dnsRules(p));
  if (p.tun !== undefined) r.push(`oifname ${q(p.tun)} accept comment "through the tunnel"`);
  r.push('ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept comment "DHCPv4 (broadcast only)"', DHCPV6_OUT, ND_OUT, MLD_OUT);
  if (p.allowLan) {
    r.push(`ip daddr ${set(LAN_OUT_V4)} accept comment "allow LAN"`, `ip6 daddr ${set(LAN_OUT_V6)} accept comment "allow LAN"`);
  }
  r.push(...REJECT);
  return r;
}

function blockInput(p: Parts): string[] {
  const r: string[] = ['iif "lo" accept', ...excludedIn(p), ...endpointIn(p.ep4, 'ip'), ...endpointIn(p.ep6, 'ip6')];
  if (p.res4.length > 0) r.push(`ip saddr ${set(p.res4)} meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers to the helper's own lookups"`);
  if (p.res6.length > 0) r.push(`ip6 saddr ${set(p.res6)} meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers to the helper's own lookups"`);
  if (p.lan4.length > 0) r.push(`ip saddr ${set(p.lan4)} meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers for the local domains"`);
  if (p.lan6.length > 0) r.push(`ip6 saddr ${set(p.lan6)} meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers for the local domains"`);
  if (p.tun !== undefined) r.push(`iifname ${q(p.tun)} accept comment "through the tunnel"`);
  r.push(
    'ip daddr 255.255.255.255 udp sport 67 udp dport 68 accept comment "DHCPv4 (broadcast)"',
    'meta nfproto ipv4 udp sport 67 udp dport 68 ct state established accept comment "DHCPv4 (replies)"',
    DHCPV6_IN,
    ND_IN,
    MLD_IN,
    'meta l4proto { icmp, ipv6-icmp } ct state related accept comment "errors about allowed flows (path MTU)"',
  );
  // By source: the LAN's multicast and broadcast come from LAN addresses (fe80::/10 for IPv6).
  if (p.allowLan) r.push(`ip saddr ${set(LAN_PREFIXES_V4)} accept comment "allow LAN"`, `ip6 saddr ${set(LAN_PREFIXES_V6)} accept comment "allow LAN"`);
  return r;
}

/** From the tunnel only replies and published ports; nothing else on to other interfaces. */
function tunnelForward(p: Parts): string[] {
  if (p.tun === undefined) return [];
  return [
    `oifname ${q(p.tun)} accept comment "into the tunnel"`,
    `iifname ${q(p.tun)} ct state { established, related } accept comment "replies from the tunnel"`,
    `iifname ${q(p.tun)} ct status dnat accept comment "published ports"`,
    `iifname ${q(p.tun)} drop comment "nothing else from the tunnel to other interfaces"`,
  ];
}

function blockForward(p: Parts): string[] {
  const r: string[] = [...dnsRules(p), ...tunnelForward(p)];
  if (p.allowLan) {
    for (const [ip, lan] of [['ip', LAN_PREFIXES_V4], ['ip6', LAN_PREFIXES_V6]] as const) {
      r.push(
        `${ip} daddr ${set(lan)} accept comment "allow LAN"`,
        `${ip} saddr ${set(lan)} ct state { established, related } accept comment "allow LAN (replies)"`,
        `${ip} saddr ${set(lan)} ct status dnat accept comment "allow LAN (published ports)"`,
      );
    }
  }
  return r;
}

// Guard: IPv6 outside an IPv4-only tunnel, in chains of their own that only IPv6 jumps to.
function guardIpv6Output(p: Parts): string[] {
  const r: string[] = ['oif "lo" accept', ...excludedOut(p)];
  if (p.tun !== undefined) r.push(`oifname ${q(p.tun)} accept comment "through the tunnel"`);
  r.push(
    ...endpointOut(p, p.ep6, 'ip6'),
    DHCPV6_OUT,
    ND_OUT,
    MLD_OUT,
    'meta l4proto ipv6-icmp ct state related accept comment "errors about allowed flows"',
    `ip6 daddr ${set(GUARD_LAN_V6)} accept comment "the LAN"`,
    ...REJECT,
  );
  return r;
}

function guardIpv6Input(p: Parts): string[] {
  const r: string[] = ['iif "lo" accept', ...excludedIn(p)];
  if (p.tun !== undefined) r.push(`iifname ${q(p.tun)} accept comment "through the tunnel"`);
  r.push(
    ...endpointIn(p.ep6, 'ip6'),
    DHCPV6_IN,
    ND_IN,
    MLD_IN,
    'meta l4proto ipv6-icmp ct state related accept comment "errors about allowed flows"',
    `ip6 saddr ${set(LAN_PREFIXES_V6)} accept comment "the LAN"`,
    'drop',
  );
  return r;
}

function guardIpv6Forward(p: Parts): string[] {
  const r: string[] = [];
  if (p.tun !== undefined) r.push(`oifname ${q(p.tun)} accept comment "into the tunnel"`);
  r.push(
    'meta l4proto ipv6-icmp ct state related accept comment "errors about allowed flows"',
    `ip6 daddr ${set(LAN_PREFIXES_V6)} accept comment "the LAN"`,
    `ip6 saddr ${set(LAN_PREFIXES_V6)} ct state { established, related } accept comment "the LAN (replies)"`,
    'drop',
  );
  return r;
}

function baseChain(name: string, hook: string, priority: string, policy: 'accept' | 'drop', rules: string[]): string[] {
  return ['', `\tchain ${name} {`, `\t\ttype filter hook ${hook} priority ${priority}; policy ${policy};`, ...rules.map((rule) => `\t\t${rule}`), '\t}'];
}

function regularChain(name: string, rules: string[]): string[] {
  return ['', `\tchain ${name} {`, ...rules.map((rule) => `\t\t${rule}`), '\t}'];
}

function inetChains(p: Parts): string[] {
  const out: string[] = p.excluded ? excludedChains(p.excluded, p.tun) : [];
  const pre = preroutingRules(p);
  if (pre.length > 0) out.push(...baseChain('prerouting', 'prerouting', GUARD_PRIORITY, 'accept', pre));
  if (p.block) {
    out.push(
      ...baseChain('output', 'output', CHAIN_PRIORITY, 'drop', blockOutput(p)),
      ...baseChain('input', 'input', CHAIN_PRIORITY, 'drop', blockInput(p)),
      ...baseChain('forward', 'forward', CHAIN_PRIORITY, 'drop', blockForward(p)),
    );
    return out;
  }
  // Guard: only the chains that have something to do (an empty base chain still costs a hook call).
  const v6 = !p.tunnelsIpv6;
  if (v6) {
    out.push(
      ...baseChain('output', 'output', CHAIN_PRIORITY, 'accept', ['meta nfproto ipv6 jump ipv6_output comment "IPv6 outside an IPv4-only tunnel"']),
      ...baseChain('input', 'input', CHAIN_PRIORITY, 'accept', ['meta nfproto ipv6 jump ipv6_input comment "IPv6 outside an IPv4-only tunnel"']),
    );
  }
  const fwd = [...tunnelForward(p), ...(v6 ? ['meta nfproto ipv6 jump ipv6_forward comment "IPv6 outside an IPv4-only tunnel"'] : [])];
  if (fwd.length > 0) out.push(...baseChain('forward', 'forward', CHAIN_PRIORITY, 'accept', fwd));
  if (v6) {
    out.push(...regularChain('ipv6_output', guardIpv6Output(p)), ...regularChain('ipv6_input', guardIpv6Input(p)), ...regularChain('ipv6_forward', guardIpv6Forward(p)));
  }
  return out;
}

/** The ARP table's rules; empty when the tunnel has no IPv4 address (then there is no arp table). */
function arpRules(p: Parts): string[] {
  if (p.addr4.length === 0) return [];
  return [`arp operation request arp daddr ip ${set(p.addr4)} drop comment "no ARP replies for the tunnel's addresses (CVE-2019-14899)"`];
}

const replaceTables = [
  `add table ${TABLE_FAMILY} ${TABLE_NAME}`,
  `delete table ${TABLE_FAMILY} ${TABLE_NAME}`,
  `add table ${ARP_TABLE_FAMILY} ${TABLE_NAME}`,
  `delete table ${ARP_TABLE_FAMILY} ${TABLE_NAME}`,
];

/** Whether the ruleset for `spec` has the arp table (the tunnel has IPv4 addresses). */
export function hasArpTable(spec: FirewallSpec): boolean {
  return normalizeSpec(spec).tunnelAddresses.some((a) => a.family === 4);
}

/** The complete `nft -f` text that atomically replaces our tables with the policy for `spec`. */
export function buildRuleset(spec: FirewallSpec): string {
  const n = normalizeSpec(spec);
  const p = parts(n);
  const arp = arpRules(p);
  const lines = [
    '#!/usr/sbin/nft -f',
    `# Umbra firewall (${p.block ? 'kill switch' : 'guard'}): generated by the helper (umbrad); edits are undone.`,
    `# One transaction that replaces tables ${TABLE_FAMILY} ${TABLE_NAME} and ${ARP_TABLE_FAMILY} ${TABLE_NAME} atomically and touches no other table.`,
    ...replaceTables,
    `table ${TABLE_FAMILY} ${TABLE_NAME} {`,
    `\tcomment ${q(markerOf(n))}`,
    ...inetChains(p),
    '}',
  ];
  if (arp.length > 0) {
    lines.push(`table ${ARP_TABLE_FAMILY} ${TABLE_NAME} {`, ...baseChain('input', 'input', CHAIN_PRIORITY, 'accept', arp).slice(1), '}');
  }
  return lines.join('\n') + '\n';
}

/** The `nft -f` text that deletes both our tables; succeeds whether or not they exist. */
export function removalScript(): string {
  return replaceTables.join('\n') + '\n';
}
