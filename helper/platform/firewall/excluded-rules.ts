// The rules of split tunnelling (FirewallSpec.excluded), for ruleset.ts. Pure. Sockets of processes
// in the excluded cgroup get the excluded mark, which the routing rule `fwmark <excluded> lookup
// main` (routing/routes.ts) sends past the tunnel's table; excluded traffic is the only traffic
// allowed outside the tunnel in every state, the kill switch's block included:
//   excluded_mark   (type route, output, priority mangle) marks packets of sockets in the cgroup,
//                   and their connection (ct mark); a route chain makes the kernel route the packet
//                   again by its new mark. `socket cgroupv2` matches the cgroup a socket was created
//                   in, and nft resolves the path (relative to /sys/fs/cgroup) to the cgroup's id
//                   when the ruleset is LOADED: the cgroup must exist first, and a cgroup made again
//                   later needs the ruleset loaded again.
//   excluded_restore (prerouting, priority mangle, after conntrack) gives replies of marked
//                   connections the mark back, so the reverse-path check (rp_filter, with
//                   src_valid_mark) looks them up as the mark routes them, not into the tunnel.
//   filter          (block) marked output accepted before any reject (the DNS reject included), and
//                   replies of marked connections in; (guard) the same in the IPv6 guard's chains.
//   excluded_dnat   (nat, output, priority -100: nft 1.0.6 takes the name dstnat on prerouting only)
//                   port 53 of marked traffic goes to the system resolver of its
//                   family as it was before the helper rewrote DNS (none: left alone); not on
//                   loopback, where a local resolver answers.
//   excluded_snat   (nat, postrouting) marked traffic leaving on any interface but the tunnel and
//                   loopback is masqueraded: its socket may have taken the tunnel's source address
//                   (routed before the mark re-routed it).
import type { NormalizedSpec } from './spec.js';

type Excluded = NonNullable<NormalizedSpec['excluded']>;

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const COMMENT = 'comment "excluded from the VPN (split tunnelling)"';

/**
 * Filter output: excluded traffic out, wherever it goes. The mark alone is not enough: a process
 * with CAP_NET_RAW may set any mark on its own socket, so the socket's cgroup must be the
 * excluded one too.
 */
export const excludedOutput = (ex: Excluded) => [`meta mark ${hex32(ex.mark)} ${cgroupMatch(ex)} accept ${COMMENT}`];

const cgroupMatch = (ex: Excluded) => `socket cgroupv2 level ${ex.cgroupLevel} "${ex.cgroupPath}"`;

/** Filter input: replies of excluded connections. */
export const excludedInput = (ex: Excluded) => [`ct mark ${hex32(ex.mark)} ct state { established, related } accept ${COMMENT}`];

function chain(name: string, type: string, hook: string, priority: string, rules: string[]): string[] {
  return ['', `\tchain ${name} {`, `\t\ttype ${type} hook ${hook} priority ${priority}; policy accept;`, ...rules.map((r) => `\t\t${r}`), '\t}'];
}

/** The chains of their own (marking, mark restore, NAT); `tun` is the tunnel interface if it exists. */
export function excludedChains(ex: Excluded, tun: string | undefined): string[] {
  const mark = hex32(ex.mark);
  const dnat: string[] = [];
  for (const [family, ip] of [['ipv4', 'ip'], ['ipv6', 'ip6']] as const) {
    const to = ex.resolvers.find((r) => r.family === (family === 'ipv4' ? 4 : 6));
    if (to === undefined) continue;
    dnat.push(`meta mark ${mark} meta nfproto ${family} oif != "lo" meta l4proto { tcp, udp } th dport 53 dnat ${ip} to ${to.address} comment "excluded DNS to the system resolver"`);
  }
  const notTunnel = tun === undefined ? '"lo"' : `{ "lo", "${tun}" }`;
  return [
    ...chain('excluded_mark', 'route', 'output', 'mangle', [
      `${cgroupMatch(ex)} meta mark set ${mark} ct mark set ${mark} ${COMMENT}`,
    ]),
    ...chain('excluded_restore', 'filter', 'prerouting', 'mangle', [`ct mark ${mark} meta mark set ct mark ${COMMENT}`]),
    ...(dnat.length > 0 ? chain('excluded_dnat', 'nat', 'output', '-100', dnat) : []),
    ...chain('excluded_snat', 'nat', 'postrouting', 'srcnat', [`meta mark ${mark} oifname != ${notTunnel} masquerade ${COMMENT}`]),
  ];
}
