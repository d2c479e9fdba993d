// An endpoint's address for a ping: IP literals as they are; names through the system's own
// lookup (getaddrinfo), as any program's traffic. That lookup is unmarked, so the firewall and
// the routes decide where it goes (through the tunnel's DNS while connected), unlike the helper's
// marked endpoint lookup, which exists to connect and may pass the kill switch. Nothing is cached.
import { lookup } from 'node:dns/promises';
import { formatIp, parseIp } from '../net/ip.js';

export async function resolveForPing(ep: { host: string }): Promise<{ host: string; family: 4 | 6 }> {
  const literal = parseIp(ep.host);
  if (literal) return { host: formatIp(literal.bytes), family: literal.family };
  const found = await lookup(ep.host, { verbatim: true });
  const ip = parseIp(found.address);
  if (!ip) throw new Error(`the system's lookup gave "${found.address.slice(0, 45)}", not an address`);
  return { host: formatIp(ip.bytes), family: ip.family };
}
