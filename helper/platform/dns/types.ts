// What the DNS backends share: the configuration to apply, the backend interface, and checks on
// the values (they end up in a file or on a command line, so nothing but IPs and domain names
// gets through).
import { formatIp, parseIp } from '../../net/ip.js';
import type { Undo } from '../undo.js';

export interface DnsConfig {
  /** The tunnel's network interface (the resolved backend configures DNS on this link). */
  interfaceName: string;
  /** DNS server IPs (IPv4 or IPv6), in order of preference. */
  servers: string[];
  /** Search domains (a wg-quick DNS entry that is not an IP). */
  searchDomains: string[];
}

/** Where DNS is set: /etc/resolv.conf itself, systemd-resolved (resolvectl) or NetworkManager (its global DNS, over D-Bus). */
export type DnsBackendName = 'resolv-conf' | 'resolved' | 'networkmanager';
/** --dns: a backend, or auto (choose.ts). */
export type DnsMode = 'auto' | DnsBackendName;
export const DNS_MODES: readonly DnsMode[] = ['auto', 'resolv-conf', 'resolved', 'networkmanager'];
export const isDnsMode = (s: string): s is DnsMode => (DNS_MODES as readonly string[]).includes(s);

export interface DnsBackend {
  readonly name: DnsBackendName;
  /** Makes the system resolve through `cfg.servers` only; the undo puts back what was there. */
  apply(cfg: DnsConfig): Promise<Undo>;
}

/** Linux interface names: at most 15 bytes, no "/" or spaces; we also refuse a leading "-". */
const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,14}$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Checks a DnsConfig and returns it with the server IPs in canonical form; throws a TypeError that says what is wrong. */
export function checkDnsConfig(cfg: DnsConfig): DnsConfig {
  if (!IFNAME.test(cfg.interfaceName)) {
    throw new TypeError(`${JSON.stringify(cfg.interfaceName)} is not a valid interface name`);
  }
  if (cfg.servers.length === 0) {
    throw new TypeError('no DNS servers to apply; leave the system DNS alone when the tunnel has none');
  }
  const servers = cfg.servers.map((s) => {
    if (s.includes('%')) throw new TypeError(`DNS server ${JSON.stringify(s)} has a zone id; use an address without one`);
    const ip = parseIp(s);
    if (!ip) throw new TypeError(`DNS server ${JSON.stringify(s)} is not an IP address`);
    return formatIp(ip.bytes);
  });
  for (const d of cfg.searchDomains) {
    if (!DOMAIN.test(d)) throw new TypeError(`search domain ${JSON.stringify(d)} is not a domain name`);
  }
  return { interfaceName: cfg.interfaceName, servers, searchDomains: [...cfg.searchDomains] };
}
