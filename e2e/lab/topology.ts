// The lab's address plan and the commands that build it (DESIGN.md, "The network lab").
//
//  [<p>-c] eth0 ──veth── to-c [<p>-i] to-s<i> ──veth── eth0 [<p>-s<i>]   (i = 0..N-1)
//  198.51.100.2/24        198.51.100.1/24        203.0.113.(16i+1)/28  203.0.113.(16i+2)/28
//  2001:db8:c::2/64       2001:db8:c::1/64       2001:db8:1<i>::1/64   2001:db8:1<i>::2/64
//                         lo: 203.0.113.250/32, 2001:db8:f::250/128 — the "internet" services
//                         (echo :80, DNS :53, STUN :3478; on lo: not every kernel has the dummy driver)
//                         lo: 203.0.113.251/32, 2001:db8:f::251/128 — the "ISP resolver" (DNS :53),
//                         which the client's resolv.conf names and a kill switch must block
//                         to-c 198.51.100.1:8080, [2001:db8:c::1]:8080 — the "LAN host" (echo service)
//  tunnel: server i wg0 100.64.(i+1).1/24, the client's address for server i 100.64.(i+1).2/32;
//  server i masquerades 100.64.0.0/10 out of eth0, so its exit address is its link address.
// Nothing is ever created in the host's namespace: veth pairs are made inside the inet namespace
// with the peer end placed straight into the other lab namespace.
import { nsCheck, type ProcessTracker } from './proc.js';

export const MAX_SERVERS = 15; // 203.0.113.240/28 would hold the service addresses .250 and .251
export const WG_PORT = 51820;

export const CLIENT = {
  v4: '198.51.100.2',
  v6: '2001:db8:c::2',
  gw4: '198.51.100.1',
  gw6: '2001:db8:c::1',
  lan4: '198.51.100.0/24',
  lan6: '2001:db8:c::/64',
  broadcast4: '198.51.100.255',
} as const;
export const SERVICE = { v4: '203.0.113.250', v6: '2001:db8:f::250' } as const;
export const ISP_RESOLVER = { v4: '203.0.113.251', v6: '2001:db8:f::251' } as const;
export const DNS_PORT = 53;
export const STUN_PORT = 3478;
export const LAN_PORT = 8080;
/** Names under this zone resolve (A → SERVICE.v4, AAAA → SERVICE.v6); everything else is NXDOMAIN. */
export const DNS_ZONE = 'lab.test';

export interface ServerPlan {
  index: number;
  ns: string;
  /** inet-side veth name */
  inetIf: string;
  link4: string;
  gw4: string;
  link6: string;
  gw6: string;
  tunnel: string;
  clientTunnel: string;
}

export function serverPlan(prefix: string, i: number): ServerPlan {
  const v6net = `2001:db8:${(0x100 + i).toString(16)}`;
  return {
    index: i,
    ns: `${prefix}-s${i}`,
    inetIf: `to-s${i}`,
    link4: `203.0.113.${16 * i + 2}`,
    gw4: `203.0.113.${16 * i + 1}`,
    link6: `${v6net}::2`,
    gw6: `${v6net}::1`,
    tunnel: `100.64.${i + 1}.1`,
    clientTunnel: `100.64.${i + 1}.2`,
  };
}

const MASQUERADE = `table ip umbra_lab {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 100.64.0.0/10 oifname "eth0" masquerade
  }
}
`;

type Ip = (ns: string, args: string[]) => Promise<string>;

function ipIn(tracker: ProcessTracker): Ip {
  return (ns, args) => nsCheck(tracker, ns, ['ip', ...args]);
}

async function sysctl(tracker: ProcessTracker, ns: string, ...settings: string[]): Promise<void> {
  await nsCheck(tracker, ns, ['sysctl', '-q', '-w', ...settings]);
}

export async function buildCore(tracker: ProcessTracker, inet: string, client: string): Promise<void> {
  const ip = ipIn(tracker);
  await Promise.all([ip(inet, ['link', 'set', 'lo', 'up']), ip(client, ['link', 'set', 'lo', 'up'])]);
  await ip(inet, ['link', 'add', 'to-c', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
  await ip(inet, ['address', 'add', `${CLIENT.gw4}/24`, 'dev', 'to-c']);
  await ip(inet, ['address', 'add', `${CLIENT.gw6}/64`, 'dev', 'to-c', 'nodad']);
  await ip(inet, ['address', 'add', `${SERVICE.v4}/32`, 'dev', 'lo']);
  await ip(inet, ['address', 'add', `${SERVICE.v6}/128`, 'dev', 'lo', 'nodad']);
  await ip(inet, ['address', 'add', `${ISP_RESOLVER.v4}/32`, 'dev', 'lo']);
  await ip(inet, ['address', 'add', `${ISP_RESOLVER.v6}/128`, 'dev', 'lo', 'nodad']);
  await ip(inet, ['link', 'set', 'to-c', 'up']);
  await sysctl(tracker, inet, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');

  await ip(client, ['address', 'add', `${CLIENT.v4}/24`, 'dev', 'eth0']);
  await ip(client, ['address', 'add', `${CLIENT.v6}/64`, 'dev', 'eth0', 'nodad']);
  await ip(client, ['link', 'set', 'eth0', 'up']);
  await ip(client, ['-4', 'route', 'add', 'default', 'via', CLIENT.gw4, 'dev', 'eth0']);
  await ip(client, ['-6', 'route', 'add', 'default', 'via', CLIENT.gw6, 'dev', 'eth0']);
}

/** Links server p to the inet namespace; wireguard-go is started separately. */
export async function buildServerLink(tracker: ProcessTracker, inet: string, p: ServerPlan): Promise<void> {
  const ip = ipIn(tracker);
  await ip(p.ns, ['link', 'set', 'lo', 'up']);
  await ip(inet, ['link', 'add', p.inetIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
  await ip(inet, ['address', 'add', `${p.gw4}/28`, 'dev', p.inetIf]);
  await ip(inet, ['address', 'add', `${p.gw6}/64`, 'dev', p.inetIf, 'nodad']);
  await ip(inet, ['link', 'set', p.inetIf, 'up']);
  await ip(p.ns, ['address', 'add', `${p.link4}/28`, 'dev', 'eth0']);
  await ip(p.ns, ['address', 'add', `${p.link6}/64`, 'dev', 'eth0', 'nodad']);
  await ip(p.ns, ['link', 'set', 'eth0', 'up']);
  await ip(p.ns, ['-4', 'route', 'add', 'default', 'via', p.gw4, 'dev', 'eth0']);
  await ip(p.ns, ['-6', 'route', 'add', 'default', 'via', p.gw6, 'dev', 'eth0']);
  await sysctl(tracker, p.ns, 'net.ipv4.ip_forward=1');
  await nsCheck(tracker, p.ns, ['nft', '-f', '-'], { input: MASQUERADE });
}
