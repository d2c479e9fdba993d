// Which upstream a query goes to while LAN DNS is on (Settings.lanDns): names in or under one of
// the user's domains to the LAN servers, everything else to the tunnel's. Pure: bytes in, a
// decision out; the forwarder (lan-forwarder.ts) does the sending.
import { DnsWireError, parseQueryHead } from './wire.js';

export type Upstream = 'lan' | 'tunnel';

/** Whether `name` is `domain` or a name under it (both lower case, no trailing dot). */
export function inDomain(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * Where a query goes, or undefined when it is not a well-formed standard query with one
 * question (the forwarder drops it: nothing of it is sent anywhere).
 */
export function upstreamFor(query: Uint8Array, domains: readonly string[]): Upstream | undefined {
  let qname: string;
  try {
    qname = parseQueryHead(query).qname;
  } catch (e) {
    if (e instanceof DnsWireError) return undefined;
    throw e;
  }
  return domains.some((d) => inDomain(qname, d)) ? 'lan' : 'tunnel';
}

/** The 16-bit id of a DNS message (its first two bytes); undefined when shorter than a header. */
export function messageId(msg: Uint8Array): number | undefined {
  return msg.length >= 12 ? (msg[0]! << 8) | msg[1]! : undefined;
}
