// The words of routes.ts as rtnetlink requests: what is understood (and what is left to `ip`), and
// the layout of each request, read back field by field. ip-library.lab.test.ts checks that the
// kernel does with them what it does with ip's.
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../net/ip.js';
import { encodeIpChange, parseIpWords, refusalText, type IpChange } from './rtnetlink.js';

const w = (line: string) => line.split(' ');
const le = endianness() === 'LE';

/** A request read back: header fields, the family header, and its attributes (type → bytes). */
function decode(b: Uint8Array, familyHeader: number) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const attrs: [number, Uint8Array][] = [];
  for (let at = 16 + familyHeader; at < b.length; ) {
    const len = v.getUint16(at, le);
    attrs.push([v.getUint16(at + 2, le), b.slice(at + 4, at + len)]);
    at += (len + 3) & ~3;
  }
  return { len: v.getUint32(0, le), type: v.getUint16(4, le), flags: v.getUint16(6, le), head: b.slice(16, 16 + familyHeader), attrs };
}
const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, le);
const u32At = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, le);

describe('parseIpWords', () => {
  it('understands the forms routes.ts writes', () => {
    expect(parseIpWords(w('address add 100.64.0.2/32 dev tun0'), undefined)).toMatchObject({ kind: 'address', add: true, dev: 'tun0', address: { family: 4, prefix: 32, address: '100.64.0.2' } });
    // Host bits are kept: an address, not a network.
    expect(parseIpWords(w('address del 100.64.1.2/24 dev tun0'), 4)).toMatchObject({ kind: 'address', add: false, address: { address: '100.64.1.2', prefix: 24 } });
    expect(parseIpWords(w('link set dev tun0 addrgenmode none'), undefined)).toEqual({ kind: 'link', dev: 'tun0', addrGenNone: true });
    expect(parseIpWords(w('link set dev tun0 mtu 1420 up'), undefined)).toEqual({ kind: 'link', dev: 'tun0', mtu: 1420, up: true });
    expect(parseIpWords(w('link set dev tun0 mtu 1500 down'), undefined)).toEqual({ kind: 'link', dev: 'tun0', mtu: 1500, up: false });
    expect(parseIpWords(w('link set dev tun0 mtu 1500'), undefined)).toEqual({ kind: 'link', dev: 'tun0', mtu: 1500 });
    expect(parseIpWords(w('route add ::/0 dev tun0 table 30061'), 6)).toMatchObject({ kind: 'route', add: true, table: 30061, dest: { family: 6, prefix: 0 } });
    expect(parseIpWords(w('route del 198.51.100.128/25 dev tun0'), 4)).toMatchObject({ kind: 'route', add: false, table: 254 });
    expect(parseIpWords(w('rule add not fwmark 0x756d table 30061'), undefined)).toEqual({ kind: 'rule', add: true, family: 4, not: true, fwmark: 0x756d, table: 30061 });
    expect(parseIpWords(w('rule del table main suppress_prefixlength 0'), 6)).toEqual({ kind: 'rule', add: false, family: 6, not: false, table: 254, suppressPrefixLength: 0 });
    expect(parseIpWords(w('rule add fwmark 0x7578 table main'), 6)).toEqual({ kind: 'rule', add: true, family: 6, not: false, fwmark: 0x7578, table: 254 });
  });

  it('leaves anything else to the ip program', () => {
    for (const line of [
      'address add 100.64.0.2 dev tun0', // no prefix length
      'address add 100.64.0.2/32 dev tun0 nodad',
      'address add 2001:db8::1/64 dev tun0', // with -4 below
      'address flush dev tun0',
      'link set dev tun0 up',
      'link set dev tun0 mtu 99999999999',
      'link set dev tun0 mtu 1420 promisc',
      'link set dev tun0 addrgenmode eui64',
      'link set dev a/b mtu 1420',
      'route add default dev tun0',
      'route add 0.0.0.0/0 via 198.51.100.1 dev tun0',
      'route add 0.0.0.0/0 dev tun0 table main',
      'route add 0.0.0.0/0 dev tun0 table 0',
      'route replace 0.0.0.0/0 dev tun0',
      'rule add fwmark 0x756d',
      'rule add table 30061 priority 10',
      'rule add fwmark nope table 30061',
      'rule add table main suppress_prefixlength 129',
      'neigh add 198.51.100.1 dev eth0',
      'link set dev tun0 mtu 01420', // ip reads a leading zero as octal
      'link set dev ümbrä-tünnel0 mtu 1420', // 15 characters, 19 bytes
      'link set dev "tun0" mtu 1420',
    ]) {
      expect(parseIpWords(w(line), 4), line).toBeUndefined();
    }
    expect(parseIpWords(w('route add ::/0 dev tun0'), 4)).toBeUndefined();
  });
});

describe('encodeIpChange', () => {
  const change = (line: string, family?: 4 | 6): IpChange => parseIpWords(w(line), family)!;

  it('an address: RTM_NEWADDR with create|excl, the interface index, local and address', () => {
    const r = decode(encodeIpChange(change('address add 2001:db8:ff::2/64 dev tun0'), 7), 8);
    expect(r).toMatchObject({ type: 20, flags: 0x600 });
    expect(r.len).toBe(16 + 8 + 2 * 20);
    expect([...r.head.slice(0, 2)]).toEqual([10, 64]); // AF_INET6, prefix length
    expect(u32At(r.head, 4)).toBe(7);
    const bytes = parsePrefix('2001:db8:ff::2/64', { keepHostBits: true }).bytes;
    expect(r.attrs).toEqual([[2, bytes], [1, bytes]]);
    expect(decode(encodeIpChange(change('address del 100.64.0.2/32 dev tun0'), 7), 8)).toMatchObject({ type: 21, flags: 0 });
    // The whole header: family, prefix length, flags, scope (global), index.
    expect([...decode(encodeIpChange(change('address add 100.64.0.2/32 dev tun0'), 7), 8).head]).toEqual([2, 32, 0, 0, 7, 0, 0, 0].map((b, i) => (i >= 4 && !le ? [0, 0, 0, 7][i - 4]! : b)));
    // IPv4 loopback is scope host, as ip makes it.
    expect([...decode(encodeIpChange(change('address add 127.0.0.2/8 dev tun0'), 7), 8).head.slice(0, 4)]).toEqual([2, 8, 0, 254]);
  });

  it('a link: flags and their mask only when up or down is asked, the MTU, no link-local as a nested attribute', () => {
    const up = decode(encodeIpChange(change('link set dev tun0 mtu 1420 up'), 9), 16);
    expect(up).toMatchObject({ type: 16, flags: 0 });
    expect([u32At(up.head, 4), u32At(up.head, 8), u32At(up.head, 12)]).toEqual([9, 1, 1]);
    expect(up.attrs.map(([t, d]) => [t, u32(d)])).toEqual([[4, 1420]]);
    const down = decode(encodeIpChange(change('link set dev tun0 mtu 1500 down'), 9), 16);
    expect([u32At(down.head, 8), u32At(down.head, 12)]).toEqual([0, 1]);
    const mtuOnly = decode(encodeIpChange(change('link set dev tun0 mtu 1500'), 9), 16);
    expect([u32At(mtuOnly.head, 8), u32At(mtuOnly.head, 12)]).toEqual([0, 0]);
    const gen = decode(encodeIpChange(change('link set dev tun0 addrgenmode none'), 9), 16);
    // IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: u8 1 } }, padded to 4 bytes.
    expect(gen.attrs).toEqual([[26, Uint8Array.of(12, 0, 10, 0, 5, 0, 8, 0, 1, 0, 0, 0)]]);
  });

  it('a route: a table above 255 in RTA_TABLE, scope link for IPv4 through a device, a delete that matches any scope', () => {
    const add = decode(encodeIpChange(change('route add 0.0.0.0/0 dev tun0 table 30061'), 5), 12);
    expect(add).toMatchObject({ type: 24, flags: 0x600 });
    // family, dst_len, src_len, tos, table, protocol (boot), scope (link), type (unicast)
    expect([...add.head.slice(0, 8)]).toEqual([2, 0, 0, 0, 0, 3, 253, 1]);
    expect(add.attrs.map(([t, d]) => [t, d.length === 4 && t !== 1 ? u32(d) : [...d]])).toEqual([[1, [0, 0, 0, 0]], [15, 30061], [4, 5]]);
    const v6 = decode(encodeIpChange(change('route add 2001:db8:ff::/64 dev tun0'), 5), 12);
    expect([...v6.head.slice(0, 8)]).toEqual([10, 64, 0, 0, 254, 3, 0, 1]);
    expect(v6.attrs.map(([t]) => t)).toEqual([1, 4]);
    const del = decode(encodeIpChange(change('route del 198.51.100.128/25 dev tun0', 4), 5), 12);
    expect(del).toMatchObject({ type: 25, flags: 0 });
    expect([...del.head.slice(0, 8)]).toEqual([2, 25, 0, 0, 254, 0, 255, 0]);
  });

  it('a rule: the action and create|excl only to add, not as the invert flag, the mark, the table, the suppressed length', () => {
    const add = decode(encodeIpChange(change('rule add not fwmark 0x756d table 30061'), 0), 12);
    expect(add).toMatchObject({ type: 32, flags: 0x600 });
    expect([...add.head.slice(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 1]);
    expect(u32At(add.head, 8)).toBe(2);
    expect(add.attrs.map(([t, d]) => [t, u32(d)])).toEqual([[10, 0x756d], [15, 30061]]);
    const del = decode(encodeIpChange(change('rule del table main suppress_prefixlength 0', 6), 0), 12);
    expect(del).toMatchObject({ type: 33, flags: 0 });
    expect([...del.head.slice(0, 8)]).toEqual([10, 0, 0, 0, 254, 0, 0, 0]);
    expect(u32At(del.head, 8)).toBe(0);
    expect(del.attrs.map(([t, d]) => [t, u32(d)])).toEqual([[14, 0]]);
  });
});

describe('refusalText', () => {
  it("is the kernel's message where it gave one, as ip prints it, else the errno's text", () => {
    expect(refusalText('Invalid argument', 'IPv6 is disabled on nexthop device')).toBe('Error: IPv6 is disabled on nexthop device.');
    expect(refusalText('Invalid argument', 'Nexthop has invalid gateway.')).toBe('Error: Nexthop has invalid gateway.');
    expect(refusalText('File exists', '')).toBe('RTNETLINK answers: File exists');
  });
});
