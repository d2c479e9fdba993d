// IPv4/IPv6 TCP packets with correct checksums, built and checked byte by byte, for the tests of
// the TUN offloads (segmenting what the kernel sends, joining what goes back to it).

export interface TcpSpec {
  v6?: boolean;
  src?: number[];
  dst?: number[];
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  /** 0x10 ACK, 0x08 PSH, 0x01 FIN, 0x02 SYN, 0x80 CWR. */
  flags?: number;
  window?: number;
  /** TCP options, padded to 4 bytes by the caller. */
  options?: number[];
  payload?: Uint8Array;
  ttl?: number;
  tos?: number;
  id?: number;
}

const V4_SRC = [100, 64, 1, 1];
const V4_DST = [100, 64, 1, 2];
const V6_SRC = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/** The 16-bit one's complement sum (not complemented) of bytes, big-endian words. */
export function onesSum(bytes: Uint8Array, start = 0): number {
  let sum = start;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function pseudo(v6: boolean, p: Uint8Array, l4Length: number): number {
  const addrs = v6 ? p.subarray(8, 40) : p.subarray(12, 20);
  return onesSum(addrs, 6 + l4Length);
}

export function ipHeaderLength(p: Uint8Array): number {
  return p[0]! >> 4 === 6 ? 40 : (p[0]! & 0x0f) * 4;
}

/** Whether the TCP checksum (and for IPv4 the header checksum) of a packet verifies. */
export function checksumsOk(p: Uint8Array): boolean {
  const v6 = p[0]! >> 4 === 6;
  const iph = ipHeaderLength(p);
  if (!v6 && onesSum(p.subarray(0, iph)) !== 0xffff) return false;
  return onesSum(p.subarray(iph), pseudo(v6, p, p.length - iph)) === 0xffff;
}

export function tcpPacket(s: TcpSpec): Uint8Array {
  const v6 = s.v6 ?? false;
  const opts = s.options ?? [];
  const payload = s.payload ?? new Uint8Array(0);
  const iph = v6 ? 40 : 20;
  const tcph = 20 + opts.length;
  const p = new Uint8Array(iph + tcph + payload.length);
  const view = new DataView(p.buffer);
  if (v6) {
    p[0] = 0x60 | ((s.tos ?? 0) >> 4);
    p[1] = ((s.tos ?? 0) & 0x0f) << 4;
    view.setUint16(4, tcph + payload.length);
    p[6] = 6;
    p[7] = s.ttl ?? 64;
    p.set(s.src ?? V6_SRC, 8);
    p.set(s.dst ?? V6_DST, 24);
  } else {
    p[0] = 0x45;
    p[1] = s.tos ?? 0;
    view.setUint16(2, p.length);
    view.setUint16(4, s.id ?? 1);
    p[6] = 0x40; // DF
    p[8] = s.ttl ?? 64;
    p[9] = 6;
    p.set(s.src ?? V4_SRC, 12);
    p.set(s.dst ?? V4_DST, 16);
    view.setUint16(10, ~onesSum(p.subarray(0, 20)) & 0xffff);
  }
  const t = p.subarray(iph);
  const tv = new DataView(p.buffer, iph);
  tv.setUint16(0, s.sport ?? 40000);
  tv.setUint16(2, s.dport ?? 5201);
  tv.setUint32(4, s.seq >>> 0);
  tv.setUint32(8, (s.ack ?? 1000) >>> 0);
  t[12] = (tcph / 4) << 4;
  t[13] = s.flags ?? 0x10;
  tv.setUint16(14, s.window ?? 502);
  t.set(opts, 20);
  t.set(payload, tcph);
  tv.setUint16(16, ~onesSum(t, pseudo(v6, p, t.length)) & 0xffff);
  return p;
}

/** Bytes that say where they are in a stream: byte i of the stream is (i * 13 + 5) & 0xff. */
export function streamBytes(from: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => ((from + i) * 13 + 5) & 0xff);
}

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function readVnet(b: Uint8Array): VnetHeader {
  const v = new DataView(b.buffer, b.byteOffset, 10);
  return { flags: b[0]!, gsoType: b[1]!, hdrLen: v.getUint16(2, true), gsoSize: v.getUint16(4, true), csumStart: v.getUint16(6, true), csumOffset: v.getUint16(8, true) };
}

export function vnetHeader(h: VnetHeader): Uint8Array {
  const b = new Uint8Array(10);
  const v = new DataView(b.buffer);
  b[0] = h.flags;
  b[1] = h.gsoType;
  v.setUint16(2, h.hdrLen, true);
  v.setUint16(4, h.gsoSize, true);
  v.setUint16(6, h.csumStart, true);
  v.setUint16(8, h.csumOffset, true);
  return b;
}

export const tcpSeq = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset).getUint32(ipHeaderLength(p) + 4);
export const tcpFlags = (p: Uint8Array): number => p[ipHeaderLength(p) + 13]!;
export const tcpPayload = (p: Uint8Array): Uint8Array => {
  const iph = ipHeaderLength(p);
  return p.subarray(iph + (p[iph + 12]! >> 4) * 4);
};
