// Builds and parses IPv4/UDP packets for the lab tests (RFC 791, RFC 768; checksums per RFC 1071).

export interface Udp4Packet {
  version: number;
  protocol: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

function ipBytes(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${ip}`);
  return parts;
}

/** The ones'-complement sum of 16-bit words, folded and complemented. */
function internetChecksum(...chunks: Uint8Array[]): number {
  let sum = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += 2) sum += (chunk[i]! << 8) | (chunk[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet (20-byte header, TTL 64, DF) carrying a UDP datagram, both checksums right. */
export function buildUdp4(src: string, dst: string, srcPort: number, dstPort: number, payload: Uint8Array): Buffer {
  const udpLength = 8 + payload.length;
  const packet = Buffer.alloc(20 + udpLength);
  packet[0] = 0x45;
  packet.writeUInt16BE(packet.length, 2);
  packet.writeUInt16BE(0x4000, 6); // don't fragment
  packet[8] = 64;
  packet[9] = 17;
  packet.set(ipBytes(src), 12);
  packet.set(ipBytes(dst), 16);
  packet.writeUInt16BE(internetChecksum(packet.subarray(0, 20)), 10);

  const udp = packet.subarray(20);
  udp.writeUInt16BE(srcPort, 0);
  udp.writeUInt16BE(dstPort, 2);
  udp.writeUInt16BE(udpLength, 4);
  udp.set(payload, 8);
  const pseudo = Buffer.alloc(12);
  pseudo.set(ipBytes(src), 0);
  pseudo.set(ipBytes(dst), 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udpLength, 10);
  const sum = internetChecksum(pseudo, udp);
  udp.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return packet;
}

/** Parses an IPv4/UDP packet; undefined for anything else (IPv6, ICMP, ...). */
export function parseUdp4(packet: Uint8Array): Udp4Packet | undefined {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 28 || b[0]! >> 4 !== 4 || b[9] !== 17) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = b.readUInt16BE(2);
  const udp = b.subarray(ihl, total);
  return {
    version: 4,
    protocol: 17,
    src: [...b.subarray(12, 16)].join('.'),
    dst: [...b.subarray(16, 20)].join('.'),
    srcPort: udp.readUInt16BE(0),
    dstPort: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))),
  };
}
