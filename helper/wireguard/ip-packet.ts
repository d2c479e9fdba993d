// Just enough of IPv4/IPv6 headers for cryptokey routing: version, addresses, true length.

export interface IpInfo {
  family: 4 | 6;
  /** Length from the header; bytes past it are transport padding. */
  length: number;
  srcOffset: number;
  dstOffset: number;
}

/** Reads the header of an IP packet; null when it is not a well-formed IPv4 or IPv6 packet. */
export function ipInfo(p: Uint8Array): IpInfo | null {
  if (p.length < 1) return null;
  const version = p[0]! >> 4;
  if (version === 4) {
    if (p.length < 20) return null;
    const length = (p[2]! << 8) | p[3]!;
    if (length < 20 || length > p.length) return null;
    return { family: 4, length, srcOffset: 12, dstOffset: 16 };
  }
  if (version === 6) {
    if (p.length < 40) return null;
    const length = 40 + ((p[4]! << 8) | p[5]!);
    if (length > p.length) return null;
    return { family: 6, length, srcOffset: 8, dstOffset: 24 };
  }
  return null;
}
