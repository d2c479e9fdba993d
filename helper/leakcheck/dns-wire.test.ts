import { describe, expect, it } from 'vitest';
import { DnsWireError, encodeQuery, normalizeName, parseResponseHead, rcodeName, TYPE_A, TYPE_AAAA } from './dns-wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A response to `query` with `rcode`, built by hand: the query with QR, AA, RA set. */
function responseTo(query: Uint8Array, rcode: number, answers = 0): Uint8Array {
  const r = Uint8Array.from(query);
  r[2] = 0x85; // QR=1 AA=1 RD=1
  r[3] = 0x80 | rcode; // RA=1
  r[7] = answers;
  return r;
}

describe('the DNS wire code of the active leak test', () => {
  it('encodes a standard query, byte for byte', () => {
    const q = encodeQuery(0x1234, 'umbra-ab.Lab.Test.');
    expect(hex(q)).toBe(
      '1234' + '0100' + '0001' + '0000' + '0000' + '0000' + // id, RD, 1 question
        '08' + Buffer.from('umbra-ab').toString('hex') + '03' + Buffer.from('lab').toString('hex') + '04' + Buffer.from('test').toString('hex') + '00' +
        '0001' + '0001', // A, IN
    );
    expect(encodeQuery(1, 'x.lab.test', TYPE_AAAA).at(-3)).toBe(TYPE_AAAA);
  });

  it('reads the id, rcode and question back from a response', () => {
    const q = encodeQuery(0xbeef, 'umbra-1.lab.test');
    expect(parseResponseHead(responseTo(q, 3))).toEqual({ id: 0xbeef, rcode: 3, answerCount: 0, qname: 'umbra-1.lab.test', qtype: TYPE_A });
    expect(rcodeName(3)).toBe('NXDOMAIN');
    expect(rcodeName(0)).toBe('NOERROR');
    expect(rcodeName(9)).toBe('RCODE9');
  });

  it('refuses what it cannot use, with a named error', () => {
    const q = encodeQuery(1, 'a.lab.test');
    expect(() => parseResponseHead(q)).toThrow(/not a response/);
    expect(() => parseResponseHead(q.subarray(0, 8))).toThrow(DnsWireError);
    expect(() => parseResponseHead(responseTo(q, 0).subarray(0, 20))).toThrow(/cut short/);
    expect(() => encodeQuery(70000, 'a.lab.test')).toThrow(RangeError);
    expect(() => normalizeName('bad name.lab.test')).toThrow(DnsWireError);
    expect(() => normalizeName(`${'a'.repeat(64)}.test`)).toThrow(/label/);
    expect(() => normalizeName('')).toThrow(DnsWireError);
  });
});
