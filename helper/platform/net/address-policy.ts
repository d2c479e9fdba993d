// Which addresses the helper may open a connection to on a caller's behalf (issue 13, item 2).
// The helper is root inside the firewall: a URL a caller names must not reach this machine's own
// services, the LAN (the router's admin page), cloud metadata or the tunnel's far side. So only
// global unicast addresses pass; every special-purpose range of the IANA registries (RFC 6890) is
// refused, and an IPv6 address that embeds an IPv4 one (mapped, NAT64, 6to4) is judged by that one.
//
// The documentation ranges 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 are refused too —
// networks do use them privately (this project's own machines have an uplink in 192.0.2.0/24) —
// except under the lab allowance (`lab: true`), because the project's network lab builds its
// "internet" from them. 192.0.2.0/24 is refused even then: the lab never uses it.
// Pure: text in, verdict out.
import { isIP } from 'node:net';

export type AddressVerdict =
  | { ok: true; kind: 'public' | 'lab' }
  | { ok: false; why: string };

export interface AddressPolicyOptions {
  /** Allow the lab's documentation ranges (the helper's environment sets it; see safe-fetch.ts). */
  lab?: boolean;
}

interface Range {
  base: bigint;
  bits: number;
  why: string;
  lab?: true;
}

const v4 = (text: string, bits: number, why: string, lab?: true): Range => ({ base: v4Int(text)!, bits, why, ...(lab ? { lab } : {}) });
const v6 = (text: string, bits: number, why: string, lab?: true): Range => ({ base: v6Int(text)!, bits, why, ...(lab ? { lab } : {}) });

const V4_RANGES: Range[] = [
  v4('0.0.0.0', 8, 'an unspecified ("this network") address'),
  v4('10.0.0.0', 8, 'a private (RFC 1918) address'),
  v4('100.64.0.0', 10, 'a shared (CGNAT) address, the range of the VPN tunnel itself'),
  v4('127.0.0.0', 8, 'a loopback address'),
  v4('169.254.0.0', 16, 'a link-local address (cloud metadata lives there)'),
  v4('172.16.0.0', 12, 'a private (RFC 1918) address'),
  v4('192.0.0.0', 24, 'an IETF protocol address'),
  v4('192.0.2.0', 24, 'a documentation address'),
  v4('192.88.99.0', 24, 'a 6to4 relay address'),
  v4('192.168.0.0', 16, 'a private (RFC 1918) address'),
  v4('198.18.0.0', 15, 'a benchmarking address'),
  v4('198.51.100.0', 24, 'a documentation address', true),
  v4('203.0.113.0', 24, 'a documentation address', true),
  v4('224.0.0.0', 4, 'a multicast address'),
  v4('240.0.0.0', 4, 'a reserved address'),
];

// Everything outside 2000::/3 (global unicast) is refused first; these are the holes inside it.
const V6_RANGES: Range[] = [
  v6('2001::', 23, 'an IETF protocol address (Teredo and others)'),
  v6('2001:db8::', 32, 'a documentation address', true),
];

function v4Int(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function v6Int(text: string): bigint | undefined {
  if (isIP(text) !== 6) return undefined;
  let t = text.toLowerCase();
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    const n = v4Int(dotted[2]!);
    if (n === undefined) return undefined;
    t = `${dotted[1]}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const inRange = (n: bigint, width: number, r: Range): boolean => n >> BigInt(width - r.bits) === r.base >> BigInt(width - r.bits);

function judge(n: bigint, width: 32 | 128, ranges: Range[], lab: boolean): AddressVerdict {
  for (const r of ranges) {
    if (!inRange(n, width, r)) continue;
    if (r.lab && lab) return { ok: true, kind: 'lab' };
    return { ok: false, why: r.lab ? `${r.why} (only the test lab may use it)` : r.why };
  }
  return { ok: true, kind: 'public' };
}

/** Whether the helper may connect to `address` (an IPv4 or IPv6 literal, no zone). */
export function checkAddress(address: string, opts: AddressPolicyOptions = {}): AddressVerdict {
  const lab = opts.lab === true;
  const text = address.replace(/^\[|\]$/g, '');
  if (text.includes('%')) return { ok: false, why: 'a link-local address (it names an interface)' };
  const family = isIP(text);
  if (family === 4) return judge(v4Int(text)!, 32, V4_RANGES, lab);
  if (family !== 6) return { ok: false, why: 'not an IP address' };
  const n = v6Int(text);
  if (n === undefined) return { ok: false, why: 'not an IP address' };
  const low32 = n & 0xffffffffn;
  const embedded = (via: string): AddressVerdict => {
    const inner = judge(low32, 32, V4_RANGES, lab);
    return inner.ok ? inner : { ok: false, why: `${inner.why} (${via})` };
  };
  if (n === 0n) return { ok: false, why: 'the unspecified address' };
  if (n === 1n) return { ok: false, why: 'a loopback address' };
  if (n >> 32n === 0xffffn) return embedded('as an IPv4-mapped IPv6 address');
  if (n >> 32n === 0n) return { ok: false, why: 'an IPv4-compatible IPv6 address (deprecated)' };
  if (n >> 32n === 0x0064ff9b0000000000000000n) return embedded('through NAT64');
  if (n >> 112n === 0x2002n) {
    const inner = judge((n >> 80n) & 0xffffffffn, 32, V4_RANGES, lab);
    return inner.ok ? inner : { ok: false, why: `${inner.why} (through 6to4)` };
  }
  const top = n >> 120n;
  if (top === 0xffn) return { ok: false, why: 'a multicast address' };
  if (n >> 118n === 0x3fan) return { ok: false, why: 'a link-local address' };
  if (n >> 121n === 0x7en) return { ok: false, why: 'a unique local (private, fc00::/7) address' };
  if (n >> 125n !== 1n) return { ok: false, why: 'not a global unicast address' };
  return judge(n, 128, V6_RANGES, lab);
}

/** A network of one of this machine's interfaces, as os.networkInterfaces() gives it. */
export interface LocalNetwork {
  name: string;
  cidr: string;
}

/** The address as a number and width, an IPv4-mapped IPv6 address as its IPv4 one. */
function numeric(address: string): { n: bigint; width: 32 | 128 } | undefined {
  const text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(text) === 4) return { n: v4Int(text)!, width: 32 };
  const n = v6Int(text);
  if (n === undefined) return undefined;
  return n >> 32n === 0xffffn ? { n: n & 0xffffffffn, width: 32 } : { n, width: 128 };
}

/**
 * The local network `address` lies on, if any: the LAN the machine sits on is never a public
 * service, whatever its numbers (a LAN can be numbered from public space, as the lab's is).
 */
export function onLocalNetwork(address: string, networks: readonly LocalNetwork[]): LocalNetwork | undefined {
  const a = numeric(address);
  if (!a) return undefined;
  return networks.find((net) => {
    const [base, bitsText] = net.cidr.split('/');
    const b = base === undefined ? undefined : numeric(base);
    const bits = Number(bitsText);
    if (!b || b.width !== a.width || !Number.isInteger(bits) || bits < 0 || bits > a.width) return false;
    const shift = BigInt(a.width - bits);
    return a.n >> shift === b.n >> shift;
  });
}
