// The kill-switch lab: three network namespaces of their own, never connected to the host.
//
//   ukf-<pid>-k (container)            ukf-<pid>-c (client: the kill switch goes here)       ukf-<pid>-r (router / "internet")
//   eth0 198.51.100.66/26  ─── veth ─── k0     198.51.100.65/26
//                                       eth0   198.51.100.2/26, 2001:db8:1::2/64  ─── veth ─── to-c  198.51.100.1/26, 2001:db8:1::1/64
//                                              fe80::2/64                                            fe80::1/64
//                                       umbra0 100.64.0.2/30, 2001:db8:64::2/64   ─── veth ─── tun-r 100.64.0.1/30, 2001:db8:64::1/64
//                                                                                             lo: 203.0.113.250 + 2001:db8:ff::250 (an internet host)
//                                                                                                 203.0.113.2 + 2001:db8:ff::2 (the VPN endpoint, udp 51820)
//                                                                                                 203.0.113.53 + 2001:db8:ff::53 (the tunnel's DNS)
//                                                                                                 203.0.113.54 (some other DNS server)
//
// The veth pair umbra0/tun-r stands in for the tunnel: what the client routes into umbra0
// reaches the router without passing eth0. The client's default routes go out eth0; the DNS
// servers are routed into umbra0 (through the "tunnel"). The router answers the container's
// tunnel traffic (from 100.64.0.1) back through the tunnel (policy rule), everything else back
// through the client's eth0. The router's side of eth0 is also "the LAN": its fixed link-local
// address fe80::1 is the only LAN-range ("allow LAN") address the lab may use.
//
// The client answers ARP for any of its addresses on any interface (arp_ignore=0, the Linux
// default, set explicitly so the lab does not depend on what new namespaces inherit): the
// condition CVE-2019-14899 needs.
import { spawnSync } from 'node:child_process';

export interface Lab {
  client: string;
  router: string;
  container: string;
}

export const ADDR = {
  internet4: '203.0.113.250',
  internet6: '2001:db8:ff::250',
  endpoint4: '203.0.113.2',
  endpoint6: '2001:db8:ff::2',
  endpointPort: 51820,
  dns4: '203.0.113.53',
  dns6: '2001:db8:ff::53',
  otherDns4: '203.0.113.54',
  routerLan4: '198.51.100.1',
  routerLan6: '2001:db8:1::1',
  /** The router's link-local address on the client's LAN (scope: to-c there, eth0 on the client). */
  routerLink6: 'fe80::1',
  clientLink6: 'fe80::2',
  clientLan4: '198.51.100.2',
  clientLan6: '2001:db8:1::2',
  /** The client's tunnel addresses (on umbra0). */
  clientTun4: '100.64.0.2',
  clientTun6: '2001:db8:64::2',
  container4: '198.51.100.66',
  routerTun4: '100.64.0.1',
  routerTun6: '2001:db8:64::1',
  lan4: '198.51.100.0/26',
  lan6: '2001:db8:1::/64',
} as const;

/** Runs a command, throwing with its stderr when it fails. */
export function sh(...argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${String(r.status)}: ${r.stderr || r.error?.message || ''}`);
  return r.stdout;
}

export const inNs = (ns: string, ...argv: string[]) => sh('ip', 'netns', 'exec', ns, ...argv);

/** `nft -f -` with this text, inside a namespace. */
export function nftInput(ns: string, text: string): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft -f - in ${ns}: exit ${String(r.status)}: ${r.stderr}`);
}

export function deleteLab(lab: Lab): void {
  for (const ns of [lab.container, lab.client, lab.router]) spawnSync('ip', ['netns', 'del', ns]);
}

export function buildLab(prefix: string): Lab {
  const lab: Lab = { client: `${prefix}-c`, router: `${prefix}-r`, container: `${prefix}-k` };
  deleteLab(lab); // leftovers of this same process id, if any
  const { client: C, router: R, container: K } = lab;
  for (const ns of [C, R, K]) {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  // Links (veth pairs are created in the client and one end moved).
  sh('ip', '-n', C, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'to-c', 'netns', R);
  sh('ip', '-n', C, 'link', 'add', 'umbra0', 'type', 'veth', 'peer', 'name', 'tun-r', 'netns', R);
  sh('ip', '-n', C, 'link', 'add', 'k0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', K);

  const addr = (ns: string, dev: string, ...cidrs: string[]) => {
    for (const c of cidrs) sh('ip', '-n', ns, 'addr', 'add', c, 'dev', dev, ...(c.includes(':') ? ['nodad'] : []));
    sh('ip', '-n', ns, 'link', 'set', dev, 'up');
  };
  addr(C, 'eth0', '198.51.100.2/26', '2001:db8:1::2/64', 'fe80::2/64');
  addr(C, 'umbra0', '100.64.0.2/30', '2001:db8:64::2/64');
  addr(C, 'k0', '198.51.100.65/26');
  addr(R, 'to-c', '198.51.100.1/26', '2001:db8:1::1/64', 'fe80::1/64');
  addr(R, 'tun-r', '100.64.0.1/30', '2001:db8:64::1/64');
  addr(R, 'lo', '203.0.113.250/32', '203.0.113.2/32', '203.0.113.53/32', '203.0.113.54/32', '2001:db8:ff::250/128', '2001:db8:ff::2/128', '2001:db8:ff::53/128');
  addr(K, 'eth0', '198.51.100.66/26');

  // Client: default out eth0, DNS through the "tunnel"; it forwards for the container.
  sh('ip', '-n', C, 'route', 'add', 'default', 'via', '198.51.100.1');
  sh('ip', '-n', C, '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1');
  for (const dns of ['203.0.113.53', '203.0.113.54']) sh('ip', '-n', C, 'route', 'add', `${dns}/32`, 'via', '100.64.0.1', 'dev', 'umbra0');
  sh('ip', '-n', C, '-6', 'route', 'add', '2001:db8:ff::53/128', 'via', '2001:db8:64::1', 'dev', 'umbra0');
  inNs(C, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  for (const key of ['all', 'eth0']) {
    for (const knob of ['arp_ignore', 'arp_filter', 'rp_filter']) inNs(C, 'sysctl', '-q', '-w', `net.ipv4.conf.${key}.${knob}=0`);
  }
  sh('ip', '-n', K, 'route', 'add', 'default', 'via', '198.51.100.65');

  // Router: the container's subnet is behind the client; answers from 100.64.0.1 go back
  // through the tunnel.
  sh('ip', '-n', R, 'route', 'add', '198.51.100.64/26', 'via', '198.51.100.2');
  sh('ip', '-n', R, 'route', 'add', '198.51.100.64/26', 'via', '100.64.0.2', 'table', '100');
  sh('ip', '-n', R, 'rule', 'add', 'from', '100.64.0.1', 'lookup', '100', 'priority', '100');
  for (const key of ['all', 'default', 'tun-r', 'to-c']) inNs(R, 'sysctl', '-q', '-w', `net.ipv4.conf.${key}.rp_filter=0`);
  for (const key of ['all', 'to-c']) inNs(R, 'sysctl', '-q', '-w', `net.ipv4.conf.${key}.arp_ignore=0`);
  // A real tunnel (WireGuard) is a layer-3 device without ARP or neighbour discovery; the veth that
  // stands in for it gets fixed neighbour entries, since the firewall's ARP guard refuses requests
  // for the tunnel's addresses on every interface.
  const tunMac = (JSON.parse(sh('ip', '-n', C, '-j', 'link', 'show', 'umbra0')) as { address: string }[])[0]!.address;
  for (const ip of ['100.64.0.2', '2001:db8:64::2']) sh('ip', '-n', R, 'neigh', 'replace', ip, 'lladdr', tunMac, 'dev', 'tun-r', 'nud', 'permanent');
  return lab;
}
