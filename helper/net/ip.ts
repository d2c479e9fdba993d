// IP addresses and prefixes, as bytes and as canonical text: what the config parser, the
// protocol's cryptokey routing, the routes, the firewall and DNS all share. Pure.
import { quoted } from './quoted.js';

/** An address with a prefix length ("100.64.1.2/24", "::/0"). */
export interface Prefix {
  family: 4 | 6;
  /** Canonical text of `bytes` (RFC 5952 for IPv6). */
  address: string;
  /** 4 or 16 bytes; masked to the prefix, except where the host bits are kept (see parsePrefix). */
  bytes: Uint8Array;
  prefix: number;
}

/** What a longest-prefix lookup needs of a prefix (host bits zero). */
export type PrefixBits = Omit<Prefix, 'address'>;

/** A text that is not an address or a prefix; the message says what is wrong. */
export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  let head = text;
  let tailV4: Uint8Array | undefined;
  // An embedded IPv4 address takes the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::"; "1::2:1.2.3.4" leaves "1::2:" whose trailing ':' belongs to the v4.
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const want = tailV4 ? 6 : 8;
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0]!);
  if (!left) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const right = groups(halves[1]!);
    if (!right) return undefined;
    const missing = want - left.length - right.length;
    if (missing < 1) return undefined; // "::" stands for at least one zero group
    words = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    if (left.length !== want) return undefined;
    words = left;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address (no prefix); undefined if it is not one. */
export function parseIp(text: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const bytes = text.includes(':') ? parseIPv6(text) : parseIPv4(text);
  if (!bytes) return undefined;
  return { family: bytes.length === 4 ? 4 : 6, bytes };
}

/** Canonical text of a 4- or 16-byte address (RFC 5952; IPv4-mapped as ::ffff:a.b.c.d). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  }
  // Longest run of two or more zero words is compressed; the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/**
 * Parses "addr/prefix" or a bare address (/32 or /128). The host bits are masked off, as for a
 * route, unless `keepHostBits` is set (an interface address such as 100.64.1.2/24).
 * Throws an AddressError that says what is wrong.
 */
export function parsePrefix(text: string, opts: { keepHostBits?: boolean } = {}): Prefix {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash < 0 ? t : t.slice(0, slash);
  if (addrText.includes('%')) {
    throw new AddressError(`${quoted(t)} has a zone id (%...); use an address without one`);
  }
  const ip = parseIp(addrText);
  if (!ip) {
    const kind = addrText.includes(':') ? 'IPv6' : 'IPv4';
    throw new AddressError(`${quoted(addrText)} is not a valid ${kind} address`);
  }
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new AddressError(`${quoted(t)} has an invalid prefix length ${quoted(`/${p}`)}; an IPv${ip.family} prefix is 0 to ${max}`);
    }
    prefix = Number(p);
  }
  const bytes = opts.keepHostBits ? ip.bytes : maskBytes(ip.bytes, prefix);
  return { family: ip.family, address: formatIp(bytes), bytes, prefix };
}

export function formatPrefix(p: Prefix): string {
  return `${p.address}/${p.prefix}`;
}
