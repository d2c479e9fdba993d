// Reading what tcpdump captured: the classic pcap format (tcpdump -w), Ethernet frames, and in them
// ARP, IPv4 and IPv6 (extension headers walked) with TCP, UDP, ICMP and ICMPv6 — what a leak check
// needs to know about each packet. Pure: bytes in, records out. Also the leak rule (findLeaks).

export interface CapturedPacket {
  /** Capture time, ms since the epoch (µs resolution). */
  time: number;
  ethSrc: string;
  ethDst: string;
  family: 'ipv4' | 'ipv6' | 'arp' | 'other';
  /** tcp, udp, icmp, icmpv6, igmp, arp; else ip-proto-<n> or ethertype-0x<hex>. */
  protocol: string;
  /** IP source and destination (RFC 5952 text for IPv6); for ARP the sender and target protocol addresses. */
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  /** Length on the wire from the network header on (the frame without its Ethernet header). */
  length: number;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl?: number;
  icmpType?: number;
  icmpCode?: number;
  /** TCP flags as tcpdump writes them: S, S., ., P., F., R ... */
  tcpFlags?: string;
  /** Set for a fragment of a larger IP datagram (offset in bytes; ports only in the first one). */
  fragment?: { id: number; offset: number; more: boolean };
  /** One line, e.g. "tcp 198.51.100.2:40000 > 203.0.113.250:80 [S] length 60". */
  summary: string;
}

/** A parsed frame with the UDP payload kept (captured part only), for the capture's sync marker. */
export interface ParsedFrame extends CapturedPacket {
  udpPayload?: Buffer;
}

const LINKTYPE_ETHERNET = 1;

export class PcapError extends Error {}

/**
 * Parses a pcap stream (or a prefix of one: a trailing partial record is left for later).
 * Returns the frames and how many bytes were consumed.
 */
export function parsePcap(buf: Buffer): { frames: ParsedFrame[]; consumed: number; linkType?: number } {
  if (buf.length < 24) return { frames: [], consumed: 0 };
  const magicBE = buf.readUInt32BE(0);
  let le: boolean;
  let nano: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) {
    le = false;
    nano = magicBE === 0xa1b23c4d;
  } else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) {
    le = true;
    nano = magicBE === 0x4d3cb2a1;
  } else {
    throw new PcapError(`not a pcap stream (magic 0x${magicBE.toString(16)}; pcapng is not supported)`);
  }
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const linkType = u32(20) & 0x0fffffff;
  const frames: ParsedFrame[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    const origLen = u32(off + 12);
    if (off + 16 + inclLen > buf.length) break;
    const data = buf.subarray(off + 16, off + 16 + inclLen);
    const time = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    if (linkType === LINKTYPE_ETHERNET) frames.push(parseEthernet(data, origLen, time));
    else frames.push(unknownFrame(time, origLen, `linktype-${linkType}`));
    off += 16 + inclLen;
  }
  return { frames, consumed: off, linkType };
}

function unknownFrame(time: number, length: number, protocol: string): ParsedFrame {
  return { time, ethSrc: '', ethDst: '', family: 'other', protocol, src: '', dst: '', length, summary: `${protocol} length ${length}` };
}

function mac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lower case, the first longest run (≥ 2) of zero groups as "::". */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** An address in the form CapturedPacket uses (IPv6 compressed, lower case); throws if not an IP. */
export function normalizeAddress(address: string): string {
  if (!address.includes(':')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`not an IP address: ${address}`);
    return address.split('.').map(Number).join('.');
  }
  // The WHATWG URL serializer writes IPv6 exactly as RFC 5952 (and formatIPv6) do.
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    throw new Error(`not an IP address: ${address}`);
  }
}

function parseEthernet(data: Buffer, origLen: number, time: number): ParsedFrame {
  if (data.length < 14) return unknownFrame(time, origLen, 'runt');
  const ethDst = mac(data.subarray(0, 6));
  const ethSrc = mac(data.subarray(6, 12));
  let type = data.readUInt16BE(12);
  let l2 = 14;
  while ((type === 0x8100 || type === 0x88a8) && data.length >= l2 + 4) {
    type = data.readUInt16BE(l2 + 2);
    l2 += 4;
  }
  const length = Math.max(0, origLen - l2);
  const base = { time, ethSrc, ethDst, length };
  const net = data.subarray(l2);
  if (type === 0x0800) return { ...base, ...parseIPv4(net) };
  if (type === 0x86dd) return { ...base, ...parseIPv6(net) };
  if (type === 0x0806) return { ...base, ...parseArp(net) };
  const protocol = `ethertype-0x${type.toString(16).padStart(4, '0')}`;
  return { ...base, family: 'other', protocol, src: '', dst: '', summary: `${protocol} ${ethSrc} > ${ethDst} length ${length}` };
}

type L3 = Omit<ParsedFrame, 'time' | 'ethSrc' | 'ethDst' | 'length'>;

function parseArp(b: Buffer): L3 {
  // Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4.
  if (b.length < 28 || b.readUInt16BE(2) !== 0x0800 || b[4] !== 6 || b[5] !== 4) {
    return { family: 'arp', protocol: 'arp', src: '', dst: '', summary: 'arp (not Ethernet/IPv4)' };
  }
  const op = b.readUInt16BE(6);
  const src = formatIPv4(b.subarray(14, 18));
  const dst = formatIPv4(b.subarray(24, 28));
  const what = op === 1 ? `who-has ${dst} tell ${src}` : op === 2 ? `reply ${src} is-at ${mac(b.subarray(8, 14))}` : `op ${op}`;
  return { family: 'arp', protocol: 'arp', src, dst, summary: `arp ${what}` };
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

function parseIPv4(b: Buffer): L3 {
  if (b.length < 20 || b[0]! >> 4 !== 4) return { family: 'ipv4', protocol: 'ipv4-malformed', src: '', dst: '', summary: 'ipv4 (malformed)' };
  const ihl = (b[0]! & 0xf) * 4;
  const fragWord = b.readUInt16BE(6);
  const offset = (fragWord & 0x1fff) * 8;
  const more = (fragWord & 0x2000) !== 0;
  const src = formatIPv4(b.subarray(12, 16));
  const dst = formatIPv4(b.subarray(16, 20));
  const proto = b[9]!;
  const out: L3 = { family: 'ipv4', protocol: PROTO_NAMES[proto] ?? `ip-proto-${proto}`, src, dst, ttl: b[8]!, summary: '' };
  if (offset !== 0 || more) out.fragment = { id: b.readUInt16BE(4), offset, more };
  if (offset === 0) transport(out, proto, b.subarray(ihl));
  out.summary = summarize(out);
  return out;
}

function parseIPv6(b: Buffer): L3 {
  if (b.length < 40 || b[0]! >> 4 !== 6) return { family: 'ipv6', protocol: 'ipv6-malformed', src: '', dst: '', summary: 'ipv6 (malformed)' };
  const src = formatIPv6(b.subarray(8, 24));
  const dst = formatIPv6(b.subarray(24, 40));
  const out: L3 = { family: 'ipv6', protocol: '', src, dst, ttl: b[7]!, summary: '' };
  let next = b[6]!;
  let off = 40;
  let upper = true;
  // Walk the extension headers: hop-by-hop, routing, fragment, destination options, AH.
  for (let n = 0; n < 16 && off < b.length; n++) {
    if (next === 0 || next === 43 || next === 60) {
      if (off + 2 > b.length) break;
      const nh = b[off]!;
      off += (b[off + 1]! + 1) * 8;
      next = nh;
    } else if (next === 44) {
      if (off + 8 > b.length) break;
      const word = b.readUInt16BE(off + 2);
      out.fragment = { id: b.readUInt32BE(off + 4), offset: (word >> 3) * 8, more: (word & 1) !== 0 };
      if (out.fragment.offset !== 0) upper = false;
      next = b[off]!;
      off += 8;
    } else if (next === 51) {
      if (off + 2 > b.length) break;
      const nh = b[off]!;
      off += (b[off + 1]! + 2) * 4;
      next = nh;
    } else {
      break;
    }
  }
  out.protocol = next === 59 ? 'none' : PROTO_NAMES[next] ?? `ip-proto-${next}`;
  if (upper && off <= b.length) transport(out, next, b.subarray(off));
  out.summary = summarize(out);
  return out;
}

function transport(out: L3, proto: number, b: Buffer): void {
  if ((proto === 6 || proto === 17) && b.length >= 4) {
    out.srcPort = b.readUInt16BE(0);
    out.dstPort = b.readUInt16BE(2);
    if (proto === 6 && b.length >= 14) out.tcpFlags = tcpFlags(b[13]!);
    if (proto === 17 && b.length >= 8) out.udpPayload = Buffer.from(b.subarray(8));
  } else if ((proto === 1 || proto === 58) && b.length >= 2) {
    out.icmpType = b[0]!;
    out.icmpCode = b[1]!;
  }
}

function tcpFlags(f: number): string {
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x20) s += 'U';
  if (f & 0x10) s += '.';
  return s || 'none';
}

function summarize(p: L3): string {
  const host = (a: string, port?: number): string => (port === undefined ? a : a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`);
  let s = `${p.protocol} ${host(p.src, p.srcPort)} > ${host(p.dst, p.dstPort)}`;
  if (p.tcpFlags) s += ` [${p.tcpFlags}]`;
  if (p.icmpType !== undefined) s += ` type ${p.icmpType} code ${p.icmpCode}`;
  if (p.fragment) s += ` frag id ${p.fragment.id} off ${p.fragment.offset}${p.fragment.more ? '+' : ''}`;
  return s;
}

// ---- the leak rule -----------------------------------------------------------------------------

export interface AllowedEndpoint {
  address: string;
  /** Any port when omitted. */
  port?: number;
  /** Default 'udp' (a WireGuard endpoint); 'tcp' or 'any' for other exceptions (a LAN host). */
  protocol?: 'udp' | 'tcp' | 'any';
}

function inFf02(a: string): boolean {
  return /^ff02:/i.test(a);
}

/**
 * Packets that stay on the link by construction and that the kernel sends on its own, so they are
 * not leaks (they are still in what a capture returns):
 * - ARP: not IP, answered only on the link; the endpoint traffic itself needs it, and an `inet`
 *   nftables table cannot filter it;
 * - IPv6 Neighbor Discovery — router solicitation (133), neighbor solicitation (135) and
 *   advertisement (136) — with hop limit 255: RFC 4861 §7.1.1 makes receivers drop any whose hop
 *   limit is not 255, i.e. any that crossed a router (so they cannot leave the link); this covers
 *   DAD for the link-local address and neighbor reachability probes of the router;
 * - MLD listener reports/dones (131, 132, 143) with hop limit 1 to ff02::/16: a router never
 *   forwards them; the kernel sends them when an interface joins its solicited-node groups.
 * Not excluded: everything else, including router advertisements or redirects (a client never
 * sends them), IGMP, link-local unicast or multicast such as mDNS/LLMNR/DHCPv6 (they carry data).
 */
export function isLinkControl(p: CapturedPacket): boolean {
  if (p.protocol === 'arp') return true;
  if (p.protocol !== 'icmpv6' || p.fragment) return false;
  if ((p.icmpType === 133 || p.icmpType === 135 || p.icmpType === 136) && p.ttl === 255) return true;
  if ((p.icmpType === 131 || p.icmpType === 132 || p.icmpType === 143) && p.ttl === 1 && inFf02(p.dst)) return true;
  return false;
}

function matches(p: CapturedPacket, e: AllowedEndpoint, address: string): boolean {
  const proto = e.protocol ?? 'udp';
  if (proto !== 'any' && p.protocol !== proto) return false;
  if (p.dst !== address) return false;
  if (e.port === undefined) return true;
  return p.dstPort === e.port;
}

/**
 * Every packet that is neither traffic to an allowed endpoint (UDP unless the endpoint says
 * otherwise) nor link control (isLinkControl). A non-first fragment carries no ports: it is
 * allowed only when the first fragment of its datagram (same src, dst, protocol, id) was.
 */
export function findLeaks(packets: readonly CapturedPacket[], allowed: readonly AllowedEndpoint[]): CapturedPacket[] {
  const rules = allowed.map((e) => ({ e, address: normalizeAddress(e.address) }));
  const allowedDatagrams = new Set<string>();
  const key = (p: CapturedPacket): string => `${p.src}|${p.dst}|${p.protocol}|${p.fragment?.id}`;
  const leaks: CapturedPacket[] = [];
  for (const p of packets) {
    if (isLinkControl(p)) continue;
    if (p.fragment && p.fragment.offset !== 0) {
      if (!allowedDatagrams.has(key(p))) leaks.push(p);
      continue;
    }
    if (rules.some((r) => matches(p, r.e, r.address))) {
      if (p.fragment) allowedDatagrams.add(key(p));
      continue;
    }
    leaks.push(p);
  }
  return leaks;
}
