import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressError, formatPrefix, parsePrefix } from './ip.js';

describe('parsePrefix', () => {
  const ok = (text: string, canonical: string, family: 4 | 6) => {
    const c = parsePrefix(text);
    expect(formatPrefix(c)).toBe(canonical);
    expect(c.family).toBe(family);
    expect(c.bytes.length).toBe(family === 4 ? 4 : 16);
  };
  const bad = (text: string, problem: RegExp) => {
    expect(() => parsePrefix(text)).toThrow(AddressError);
    expect(() => parsePrefix(text)).toThrow(problem);
  };

  it('parses IPv6 forms into RFC 5952 text', () => {
    ok('::', '::/128', 6);
    ok('::/0', '::/0', 6);
    ok('::1', '::1/128', 6);
    ok('2001:db8::/32', '2001:db8::/32', 6);
    ok('2001:DB8:0:0:0:0:0:1', '2001:db8::1/128', 6);
    ok('2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128', 6); // first of two equal runs
    ok('2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1/128', 6); // a single zero group stays
    ok('2001:0db8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32', 6);
    ok('1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0/128', 6);
    ok('::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8/128', 6);
    ok('::ffff:198.51.100.1', '::ffff:198.51.100.1/128', 6);
    ok('::ffff:c633:6401', '::ffff:198.51.100.1/128', 6);
    ok('64:ff9b::203.0.113.5', '64:ff9b::cb00:7105/128', 6);
    ok('64:ff9b::203.0.113.5/96', '64:ff9b::/96', 6);
    ok('1:2:3:4:5:6:198.51.100.1', '1:2:3:4:5:6:c633:6401/128', 6);
    expect(Array.from(parsePrefix('::ffff:198.51.100.1').bytes.subarray(10))).toEqual([0xff, 0xff, 198, 51, 100, 1]);
  });

  it('rejects invalid IPv6', () => {
    for (const t of ['1:::2', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '1::2:', ':::', '1:2:3:4:5:6:7:8::', '12345::', 'g::1', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5', '']) {
      bad(t, /not a valid IP/);
    }
    bad('::1/-1', /invalid prefix length/);
    bad('::1/', /invalid prefix length/);
    bad('fe80::1%eth0', /zone id/);
  });

  it('parses and rejects IPv4', () => {
    ok('198.51.100.7', '198.51.100.7/32', 4);
    ok('0.0.0.0/0', '0.0.0.0/0', 4);
    ok('255.255.255.255/32', '255.255.255.255/32', 4);
    ok(' 203.0.113.9/24 ', '203.0.113.0/24', 4);
    for (const t of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '01.2.3.4', '1.2.3.04', 'a.b.c.d', '+1.2.3.4', '1.2.3.-4']) {
      bad(t, /not a valid IPv4 address/);
    }
    bad('1.2.3.4/33', /an IPv4 prefix is 0 to 32/);
    bad('1.2.3.4/1a', /invalid prefix length/);
    bad('1.2.3.4/24/8', /invalid prefix length/);
  });

  it('masks host bits unless told to keep them', () => {
    const masked = parsePrefix('203.0.113.77/25');
    expect(formatPrefix(masked)).toBe('203.0.113.0/25');
    expect(Array.from(masked.bytes)).toEqual([203, 0, 113, 0]);
    expect(formatPrefix(parsePrefix('203.0.113.200/25'))).toBe('203.0.113.128/25');
    expect(formatPrefix(parsePrefix('2001:db8:abcd:ef01::1/35'))).toBe('2001:db8:a000::/35');
    expect(formatPrefix(parsePrefix('100.64.1.2/24', { keepHostBits: true }))).toBe('100.64.1.2/24');
  });
});

describe('IP text, property-based', () => {
  // Bytes with many zero words, so that "::" runs of every length and position come up.
  const words = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
  const toBytes = (ws: number[]) => Uint8Array.from(ws.flatMap((w) => [w >> 8, w & 0xff]));

  it('formats IPv6 as WHATWG URL does (RFC 5952) and parses its own output back', () => {
    fc.assert(
      fc.property(words, (ws) => {
        const bytes = toBytes(ws);
        const c = parsePrefix(`${Buffer.from(bytes).toString('hex').replace(/(.{4})(?!$)/g, '$1:')}/128`);
        expect(c.bytes).toEqual(bytes);
        expect(parsePrefix(c.address).bytes).toEqual(bytes);
        const mapped = ws.slice(0, 5).every((w) => w === 0) && ws[5] === 0xffff;
        if (!mapped) expect(c.address).toBe(new URL(`http://[${c.address}]/`).hostname.slice(1, -1));
      }),
    );
  });

  it('accepts exactly what node:net accepts, for text built from IPv6 pieces', () => {
    const piece = fc.constantFrom('', ':', '::', ':::', '0', '1', 'ffff', '12345', 'g', '1.2.3.4', '01.2.3.4', '256.0.0.1');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        if (text.includes('%')) return;
        let ours: boolean;
        try {
          parsePrefix(text);
          ours = true;
        } catch {
          ours = false;
        }
        expect(ours, text).toBe(isIP(text) !== 0);
      }),
      { numRuns: 2000 },
    );
  });
});
