// The routing changes of routes.ts as rtnetlink requests, built the way iproute2 builds them for
// the same words, so the kernel does exactly what `ip` would have done (routing.lab.test.ts and
// ip-library.lab.test.ts compare the two). Pure: words in, bytes and ip's error texts out; the
// addon (helper/native/src/rtnl.cc) sends them.
//
// Only the words routes.ts writes are understood (anything else is left to the `ip` program):
//   address add|del <prefix> dev <dev>
//   link set dev <dev> addrgenmode none
//   link set dev <dev> mtu <n> [up|down]
//   route add|del <prefix> dev <dev> [table <n>]
//   rule add|del [not] [fwmark <n>] table <n|main> [suppress_prefixlength <n>]
// Message layouts are the kernel's (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h,
// fib_rules.h); numbers are in host byte order, as netlink's are.
import { endianness } from 'node:os';
import { parsePrefix, type Prefix } from '../../net/ip.js';

export type Family = 4 | 6;

/** One change `ip` would make, as understood from its words. */
export type IpChange =
  | { kind: 'address'; add: boolean; address: Prefix; dev: string }
  | { kind: 'link'; dev: string; mtu?: number; up?: boolean; addrGenNone?: boolean }
  | { kind: 'route'; add: boolean; dest: Prefix; dev: string; table: number }
  | { kind: 'rule'; add: boolean; family: Family; not: boolean; fwmark?: number; table: number; suppressPrefixLength?: number };

const RT_TABLE_MAIN = 254;
const U32_MAX = 0xffffffff;

function uint(word: string | undefined, max: number): number | undefined {
  // No leading zeros: ip reads them as octal.
  if (word === undefined || !/^(0x[0-9a-f]+|0|[1-9]\d*)$/i.test(word)) return undefined;
  const n = Number(word);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

function prefix(word: string | undefined, keepHostBits: boolean): Prefix | undefined {
  if (word === undefined || !word.includes('/')) return undefined;
  try {
    return parsePrefix(word, { keepHostBits });
  } catch {
    return undefined;
  }
}

/** An interface name as the kernel takes it: 1–15 bytes, no space, slash or colon. */
const isDev = (w: string | undefined): w is string => w !== undefined && /^[^\s/:"'\\]+$/.test(w) && Buffer.byteLength(w) <= 15 && w !== '.' && w !== '..';

/**
 * The change `ip [-4|-6] <words>` makes, or undefined for words outside the forms above (and for
 * a family flag that contradicts the address: the program says what is wrong then).
 */
export function parseIpWords(words: readonly string[], family: Family | undefined): IpChange | undefined {
  const [object, verb, ...rest] = words;
  const add = verb === 'add';
  if (object === 'address' && (add || verb === 'del') && rest.length === 3 && rest[1] === 'dev' && isDev(rest[2])) {
    const address = prefix(rest[0], true);
    if (!address || (family !== undefined && address.family !== family)) return undefined;
    return { kind: 'address', add, address, dev: rest[2] };
  }
  if (object === 'link' && verb === 'set' && rest[0] === 'dev' && isDev(rest[1])) {
    const dev = rest[1];
    const opts = rest.slice(2);
    if (opts.length === 2 && opts[0] === 'addrgenmode' && opts[1] === 'none') return { kind: 'link', dev, addrGenNone: true };
    const mtu = opts[0] === 'mtu' ? uint(opts[1], U32_MAX) : undefined;
    if (mtu === undefined) return undefined;
    if (opts.length === 2) return { kind: 'link', dev, mtu };
    if (opts.length === 3 && (opts[2] === 'up' || opts[2] === 'down')) return { kind: 'link', dev, mtu, up: opts[2] === 'up' };
    return undefined;
  }
  if (object === 'route' && (add || verb === 'del') && (rest.length === 3 || rest.length === 5) && rest[1] === 'dev' && isDev(rest[2])) {
    const dest = prefix(rest[0], false);
    if (!dest || (family !== undefined && dest.family !== family)) return undefined;
    let table = RT_TABLE_MAIN;
    if (rest.length === 5) {
      const t = rest[3] === 'table' ? uint(rest[4], U32_MAX) : undefined;
      if (t === undefined || t === 0) return undefined;
      table = t;
    }
    return { kind: 'route', add, dest, dev: rest[2], table };
  }
  if (object === 'rule' && (add || verb === 'del')) {
    const change: IpChange = { kind: 'rule', add, family: family ?? 4, not: false, table: 0 };
    let i = 0;
    if (rest[i] === 'not') {
      change.not = true;
      i++;
    }
    if (rest[i] === 'fwmark') {
      change.fwmark = uint(rest[i + 1], U32_MAX);
      if (change.fwmark === undefined) return undefined;
      i += 2;
    }
    if (rest[i] !== 'table') return undefined;
    const table = rest[i + 1] === 'main' ? RT_TABLE_MAIN : uint(rest[i + 1], U32_MAX);
    if (table === undefined || table === 0) return undefined;
    change.table = table;
    i += 2;
    if (rest[i] === 'suppress_prefixlength') {
      change.suppressPrefixLength = uint(rest[i + 1], 128);
      if (change.suppressPrefixLength === undefined) return undefined;
      i += 2;
    }
    return i === rest.length ? change : undefined;
  }
  return undefined;
}

/** The interface a change names, if any (its index goes into the request). */
export const changeDev = (c: IpChange): string | undefined => (c.kind === 'rule' ? undefined : c.dev);

// --- encoding ---

const NLMSG_HDRLEN = 16;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const RTM_NEWLINK = 16;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_NEWRULE = 32;
const RTM_DELRULE = 33;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;
const IFLA_MTU = 4;
const IFLA_AF_SPEC = 26;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_TABLE = 15;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_HOST = 254;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;
const FR_ACT_TO_TBL = 1;
const FIB_RULE_INVERT = 0x2;
const FRA_FWMARK = 10;
const FRA_SUPPRESS_PREFIXLEN = 14;
const FRA_TABLE = 15;

const littleEndian = endianness() === 'LE';
const align4 = (n: number) => (n + 3) & ~3;

/** A netlink attribute: bytes, or attributes nested in it. */
type Attr = { type: number; data: Uint8Array } | { type: number; nested: Attr[] };

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, littleEndian);
  return b;
}

function attrBytes(a: Attr): Uint8Array {
  const body = 'data' in a ? a.data : concat(a.nested.map(attrBytes));
  const out = new Uint8Array(align4(4 + body.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, 4 + body.length, littleEndian);
  v.setUint16(2, a.type, littleEndian);
  out.set(body, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/**
 * One request: the netlink header (flags beyond NLM_F_REQUEST|NLM_F_ACK, which the addon adds
 * with the sequence number), the family header, the attributes.
 */
function request(type: number, flags: number, header: Uint8Array, attrs: Attr[]): Uint8Array {
  const body = concat([header, ...attrs.map(attrBytes)]);
  const out = new Uint8Array(NLMSG_HDRLEN + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, littleEndian);
  v.setUint16(4, type, littleEndian);
  v.setUint16(6, flags, littleEndian);
  out.set(body, NLMSG_HDRLEN);
  return out;
}

/** A family header of `size` bytes, filled by `fill`. */
function header(size: number, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  fill(new DataView(b.buffer));
  return b;
}

const af = (f: Family) => (f === 4 ? AF_INET : AF_INET6);

/** The request for `c`; `ifindex` is the index of the interface it names (changeDev). */
export function encodeIpChange(c: IpChange, ifindex: number): Uint8Array {
  switch (c.kind) {
    case 'address': {
      // struct ifaddrmsg; the address as both local and address (no peer), as `ip` sends it, and
      // its scope as `ip` picks it: host for IPv4 loopback (127/8), else global.
      const loopback = c.address.family === 4 && c.address.bytes[0] === 127;
      const h = header(8, (v) => {
        v.setUint8(0, af(c.address.family));
        v.setUint8(1, c.address.prefix);
        if (c.add && loopback) v.setUint8(3, RT_SCOPE_HOST);
        v.setUint32(4, ifindex, littleEndian);
      });
      const attrs = [{ type: IFA_LOCAL, data: c.address.bytes }, { type: IFA_ADDRESS, data: c.address.bytes }];
      return c.add ? request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, h, attrs) : request(RTM_DELADDR, 0, h, attrs);
    }
    case 'link': {
      // struct ifinfomsg: flags and the mask of flags to change.
      const h = header(16, (v) => {
        v.setUint8(0, AF_UNSPEC);
        v.setInt32(4, ifindex, littleEndian);
        if (c.up !== undefined) {
          v.setUint32(8, c.up ? IFF_UP : 0, littleEndian);
          v.setUint32(12, IFF_UP, littleEndian);
        }
      });
      const attrs: Attr[] = [];
      if (c.mtu !== undefined) attrs.push({ type: IFLA_MTU, data: u32(c.mtu) });
      if (c.addrGenNone) attrs.push({ type: IFLA_AF_SPEC, nested: [{ type: AF_INET6, nested: [{ type: IFLA_INET6_ADDR_GEN_MODE, data: Uint8Array.of(IN6_ADDR_GEN_MODE_NONE) }] }] });
      return request(RTM_NEWLINK, 0, h, attrs);
    }
    case 'route': {
      // struct rtmsg. A table above 255 goes in RTA_TABLE. A route through a device and no
      // gateway is scope link in IPv4; a delete matches any scope and protocol.
      const v4 = c.dest.family === 4;
      const h = header(12, (v) => {
        v.setUint8(0, af(c.dest.family));
        v.setUint8(1, c.dest.prefix);
        v.setUint8(4, c.table < 256 ? c.table : 0);
        if (c.add) {
          v.setUint8(5, RTPROT_BOOT);
          v.setUint8(6, v4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
          v.setUint8(7, RTN_UNICAST);
        } else v.setUint8(6, v4 ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE);
      });
      const attrs: Attr[] = [{ type: RTA_DST, data: c.dest.bytes }];
      if (c.table >= 256) attrs.push({ type: RTA_TABLE, data: u32(c.table) });
      attrs.push({ type: RTA_OIF, data: u32(ifindex) });
      return c.add ? request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, h, attrs) : request(RTM_DELROUTE, 0, h, attrs);
    }
    case 'rule': {
      // struct fib_rule_hdr. A delete leaves the action open (it matches any), as `ip` does.
      const h = header(12, (v) => {
        v.setUint8(0, af(c.family));
        v.setUint8(4, c.table < 256 ? c.table : 0);
        if (c.add) v.setUint8(7, FR_ACT_TO_TBL);
        if (c.not) v.setUint32(8, FIB_RULE_INVERT, littleEndian);
      });
      const attrs: Attr[] = [];
      if (c.fwmark !== undefined) attrs.push({ type: FRA_FWMARK, data: u32(c.fwmark) });
      if (c.table >= 256) attrs.push({ type: FRA_TABLE, data: u32(c.table) });
      if (c.suppressPrefixLength !== undefined) attrs.push({ type: FRA_SUPPRESS_PREFIXLEN, data: u32(c.suppressPrefixLength) });
      return c.add ? request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, h, attrs) : request(RTM_DELRULE, 0, h, attrs);
    }
  }
}

/**
 * What `ip` prints when the kernel refuses a request: the kernel's own message where it gave one
 * ("Error: <message>."), else the errno's text.
 */
export function refusalText(reason: string, kernelMessage: string): string {
  const m = kernelMessage.trim();
  if (m) return `Error: ${m}${m.endsWith('.') ? '' : '.'}`;
  return `RTNETLINK answers: ${reason}`;
}

/** What `ip` prints for a device that does not exist. */
export const noDeviceText = (dev: string): string => `Cannot find device "${dev}"`;
