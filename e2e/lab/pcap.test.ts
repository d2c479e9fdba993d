// The capture's parser and leak rule on hand-built frames (no network, no root).
import { describe, expect, it } from 'vitest';
import { findLeaks, formatIPv6, isLinkControl, normalizeAddress, parsePcap, PcapError } from './pcap.js';

const CLIENT_MAC = [0x02, 0, 0, 0, 0, 0x02];
const ROUTER_MAC = [0x02, 0, 0, 0, 0, 0x01];

function v4(s: string): number[] {
  return s.split('.').map(Number);
}

function v6(s: string): number[] {
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function eth(type: number, payload: number[]): Buffer {
  return Buffer.from([...ROUTER_MAC, ...CLIENT_MAC, type >> 8, type & 0xff, ...payload]);
}

function ipv4(proto: number, src: string, dst: string, l4: number[], frag = { id: 0, offset: 0, more: false }, ttl = 64): Buffer {
  const total = 20 + l4.length;
  const fw = (frag.more ? 0x2000 : 0) | (frag.offset / 8);
  return eth(0x0800, [0x45, 0, total >> 8, total & 0xff, frag.id >> 8, frag.id & 0xff, fw >> 8, fw & 0xff, ttl, proto, 0, 0, ...v4(src), ...v4(dst), ...l4]);
}

function ipv6(next: number, src: string, dst: string, payload: number[], hop = 64): Buffer {
  return eth(0x86dd, [0x60, 0, 0, 0, payload.length >> 8, payload.length & 0xff, next, hop, ...v6(src), ...v6(dst), ...payload]);
}

function udp(sport: number, dport: number, data: number[] = []): number[] {
  const len = 8 + data.length;
  return [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, len >> 8, len & 0xff, 0, 0, ...data];
}

function tcp(sport: number, dport: number, flags: number): number[] {
  return [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, flags, 0, 0, 0, 0, 0, 0];
}

/** A classic little-endian µs pcap of the frames, 1 ms apart. */
function pcap(frames: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20);
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i * 1000, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([head, ...recs]);
}

const C4 = '198.51.100.2';
const C6 = '2001:db8:c::2';
const EP = '203.0.113.2';

const arp = eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...CLIENT_MAC, ...v4(C4), 0, 0, 0, 0, 0, 0, ...v4('198.51.100.1')]);
const wgUdp = ipv4(17, C4, EP, udp(40000, 51820, [1, 0, 0, 0]));
const httpSyn = ipv4(6, C4, '203.0.113.250', tcp(40001, 80, 0x02));
const ns = ipv6(58, C6, 'ff02::1:ff00:1', [135, 0, 0, 0, 0, 0, 0, 0], 255);
const nsRouted = ipv6(58, C6, '2001:db8:f::250', [135, 0, 0, 0, 0, 0, 0, 0], 64);
// MLDv2 report behind a hop-by-hop header (router alert), hop limit 1.
const mld = ipv6(0, 'fe80::1', 'ff02::16', [58, 0, 5, 2, 0, 0, 1, 0, 143, 0, 0, 0, 0, 0, 0, 1], 1);
const dns6 = ipv6(17, C6, '2001:db8:f::251', udp(5353, 53, [0, 1]));
const frag1 = ipv4(17, C4, EP, udp(40000, 51820, [9, 9, 9, 9]), { id: 77, offset: 0, more: true });
const frag2 = ipv4(17, C4, EP, [9, 9, 9, 9, 9, 9, 9, 9], { id: 77, offset: 16, more: false });
const strayFrag = ipv4(17, C4, '203.0.113.250', [1, 2, 3, 4, 5, 6, 7, 8], { id: 78, offset: 16, more: false });

describe('pcap parsing', () => {
  const { frames, consumed } = parsePcap(pcap([arp, wgUdp, httpSyn, ns, nsRouted, mld, dns6, frag1, frag2, strayFrag]));
  const [a, w, s, n, nr, m, d, f1, f2, sf] = frames;

  it('reads every record, with times, MACs and lengths', () => {
    expect(frames).toHaveLength(10);
    expect(w!.time).toBe(1_700_000_000_001);
    expect(w!.ethSrc).toBe('02:00:00:00:00:02');
    expect(w!.length).toBe(wgUdp.length - 14);
    expect(consumed).toBe(pcap([arp, wgUdp, httpSyn, ns, nsRouted, mld, dns6, frag1, frag2, strayFrag]).length);
  });

  it('decodes ARP, UDP, TCP, ICMPv6 behind extension headers, and fragments', () => {
    expect(a).toMatchObject({ family: 'arp', protocol: 'arp', src: C4, dst: '198.51.100.1' });
    expect(w).toMatchObject({ family: 'ipv4', protocol: 'udp', src: C4, dst: EP, srcPort: 40000, dstPort: 51820, ttl: 64 });
    expect(s).toMatchObject({ protocol: 'tcp', dstPort: 80, tcpFlags: 'S' });
    expect(n).toMatchObject({ family: 'ipv6', protocol: 'icmpv6', icmpType: 135, ttl: 255, dst: 'ff02::1:ff00:1' });
    expect(nr!.ttl).toBe(64);
    expect(m).toMatchObject({ protocol: 'icmpv6', icmpType: 143, ttl: 1, src: 'fe80::1', dst: 'ff02::16' });
    expect(d).toMatchObject({ protocol: 'udp', src: C6, dst: '2001:db8:f::251', dstPort: 53 });
    expect(f1).toMatchObject({ dstPort: 51820, fragment: { id: 77, offset: 0, more: true } });
    expect(f2!.dstPort).toBeUndefined();
    expect(f2!.fragment).toEqual({ id: 77, offset: 16, more: false });
    expect(sf!.summary).toContain('frag id 78 off 16');
  });

  it('leaves a partial record for later and rejects what is not pcap', () => {
    const whole = pcap([wgUdp, httpSyn]);
    const part = parsePcap(whole.subarray(0, whole.length - 5));
    expect(part.frames).toHaveLength(1);
    expect(part.consumed).toBe(24 + 16 + wgUdp.length);
    expect(parsePcap(whole.subarray(0, 10)).frames).toEqual([]);
    expect(() => parsePcap(Buffer.alloc(40, 7))).toThrow(PcapError);
  });

  it('counts as link control only ARP, ND with hop limit 255 and link-scope MLD', () => {
    expect([a, n, m].every((p) => isLinkControl(p!))).toBe(true);
    expect([w, s, nr, d].some((p) => isLinkControl(p!))).toBe(false);
  });

  it('reports as leaks everything but UDP to allowed endpoints and link control', () => {
    const leaks = findLeaks(frames, [{ address: EP, port: 51820 }]);
    expect(leaks).toEqual([s, nr, d, sf]); // the endpoint datagram's second fragment is allowed with its first
    expect(findLeaks(frames, [{ address: EP, port: 51821 }])).toContain(w);
    expect(findLeaks(frames, [{ address: EP, port: 51820 }, { address: '2001:0db8:c::f:0:251' }])).toContain(d); // not that address
    expect(findLeaks(frames, [{ address: EP }, { address: '2001:0db8:000f::251' }])).toEqual([s, nr, sf]);
    expect(findLeaks(frames, [{ address: EP }, { address: '203.0.113.250', protocol: 'any' }])).toEqual([nr, d, sf]);
  });

  it('writes IPv6 as RFC 5952 does', () => {
    expect(formatIPv6(Buffer.from(v6('2001:db8:0:0:1:0:0:1')))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(Buffer.alloc(16))).toBe('::');
    expect(normalizeAddress('2001:DB8:C:0:0:0:0:2')).toBe(C6);
    expect(normalizeAddress('203.0.113.002')).toBe('203.0.113.2');
    expect(() => normalizeAddress('example.com')).toThrow();
  });
});
