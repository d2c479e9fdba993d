import { describe, expect, it } from 'vitest';
import { buildResponse, QNAME_OFFSET, type BuiltRecord } from './testdata/response-builder.js';
import { answerAddresses, DnsWireError, encodeQuery, MAX_CNAME_HOPS, parseResponse, readName, TYPE_A, TYPE_AAAA, TYPE_CNAME } from './wire.js';

const Q = { name: 'vpn.example.com', type: TYPE_A };

describe('DNS responses: parseResponse and answerAddresses', () => {
  it('reads an A answer, header fields and the question', () => {
    const msg = buildResponse({ id: 0x4242, question: Q, answers: [{ name: { pointer: QNAME_OFFSET }, type: TYPE_A, ttl: 300, address: '203.0.113.9' }] });
    const res = parseResponse(msg);
    expect(res).toEqual({
      id: 0x4242,
      opcode: 0,
      truncated: false,
      rcode: 0,
      questions: [{ name: 'vpn.example.com', type: TYPE_A, class: 1 }],
      answers: [{ name: 'vpn.example.com', type: TYPE_A, class: 1, ttl: 300, address: '203.0.113.9' }],
    });
    expect(answerAddresses(res, 'VPN.Example.com.', TYPE_A)).toEqual({ addresses: ['203.0.113.9'], chain: ['vpn.example.com'] });
  });

  it('reads AAAA answers in canonical (RFC 5952) text and keeps their order', () => {
    const msg = buildResponse({
      id: 1,
      question: { name: 'vpn.example.com', type: TYPE_AAAA },
      answers: [
        { name: 'vpn.example.com', type: TYPE_AAAA, address: '2001:0db8:0000:0000:0000:0000:0000:0001' },
        { name: 'vpn.example.com', type: TYPE_AAAA, address: '2001:db8:1:0:0:0:0:2' },
      ],
    });
    expect(answerAddresses(parseResponse(msg), 'vpn.example.com', TYPE_AAAA).addresses).toEqual(['2001:db8::1', '2001:db8:1::2']);
  });

  it('follows a CNAME chain inside the answer, through nested compression pointers', () => {
    // Header 12 bytes; qname "vpn.example.com" at 12 (17 bytes), "example.com" at 16; qtype/qclass
    // end at 33. Answer 1: owner = pointer to 12 (2), fixed fields (10), rdata from 45:
    // "edge" + pointer to 16, i.e. "edge.example.com" at 45. Answer 2's owner points to 45, a name
    // that itself ends in a pointer.
    const msg = buildResponse({
      id: 7,
      question: Q,
      answers: [
        { name: { pointer: QNAME_OFFSET }, type: TYPE_CNAME, target: { labels: ['edge'], pointer: 16 } },
        { name: { pointer: 45 }, type: TYPE_CNAME, target: 'pop1.cdn.test' },
        { name: 'pop1.cdn.test', type: TYPE_A, address: '198.51.100.77' },
        // An address for a name outside the chain: never used.
        { name: 'other.example.com', type: TYPE_A, address: '198.51.100.66' },
      ],
    });
    const res = parseResponse(msg);
    expect(res.answers[1]!.name).toBe('edge.example.com');
    expect(answerAddresses(res, 'vpn.example.com', TYPE_A)).toEqual({
      addresses: ['198.51.100.77'],
      chain: ['vpn.example.com', 'edge.example.com', 'pop1.cdn.test'],
    });
  });

  it('gives no address when the chain ends without one, or the answer is for another name', () => {
    const dangling = buildResponse({ id: 1, question: Q, answers: [{ name: 'vpn.example.com', type: TYPE_CNAME, target: 'gone.test' }] });
    expect(answerAddresses(parseResponse(dangling), 'vpn.example.com', TYPE_A)).toEqual({ addresses: [], chain: ['vpn.example.com', 'gone.test'] });
    const elsewhere = buildResponse({ id: 1, question: Q, answers: [{ name: 'evil.test', type: TYPE_A, address: '198.51.100.1' }] });
    expect(answerAddresses(parseResponse(elsewhere), 'vpn.example.com', TYPE_A).addresses).toEqual([]);
    const otherClass = buildResponse({ id: 1, question: Q, answers: [{ name: 'vpn.example.com', type: TYPE_A, cls: 3, data: Uint8Array.of(1, 2, 3, 4) }] });
    expect(answerAddresses(parseResponse(otherClass), 'vpn.example.com', TYPE_A).addresses).toEqual([]);
  });

  it('refuses CNAME loops and chains longer than the bound', () => {
    const loop = buildResponse({
      id: 1,
      question: Q,
      answers: [
        { name: 'vpn.example.com', type: TYPE_CNAME, target: 'b.test' },
        { name: 'b.test', type: TYPE_CNAME, target: 'vpn.example.com' },
      ],
    });
    expect(() => answerAddresses(parseResponse(loop), 'vpn.example.com', TYPE_A)).toThrow(/loop/);
    const names = ['vpn.example.com', ...Array.from({ length: MAX_CNAME_HOPS + 1 }, (_, i) => `h${i}.test`)];
    const long = buildResponse({ id: 1, question: Q, answers: names.slice(1).map((target, i) => ({ name: names[i]!, type: TYPE_CNAME, target })) });
    expect(() => answerAddresses(parseResponse(long), 'vpn.example.com', TYPE_A)).toThrow(DnsWireError);
    // One hop fewer is fine.
    const ok = buildResponse({ id: 1, question: Q, answers: names.slice(1, -1).map((target, i) => ({ name: names[i]!, type: TYPE_CNAME, target })) });
    expect(answerAddresses(parseResponse(ok), 'vpn.example.com', TYPE_A).chain).toHaveLength(MAX_CNAME_HOPS + 1);
  });

  it('reads the rcode and the TC bit', () => {
    const res = parseResponse(buildResponse({ id: 9, rcode: 3, truncated: true, question: Q }));
    expect([res.rcode, res.truncated, res.answers]).toEqual([3, true, []]);
  });

  it('throws DnsWireError for every cut-short prefix of a good message', () => {
    const msg = buildResponse({
      id: 7,
      question: Q,
      answers: [
        { name: { pointer: QNAME_OFFSET }, type: TYPE_CNAME, target: { labels: ['edge'], pointer: 16 } },
        { name: { pointer: 45 }, type: TYPE_A, address: '198.51.100.77' },
      ],
    });
    expect(() => parseResponse(msg)).not.toThrow();
    for (let n = 0; n < msg.length; n++) expect(() => parseResponse(msg.subarray(0, n)), `prefix of ${n} bytes`).toThrow(DnsWireError);
  });

  it('throws DnsWireError for malformed messages', () => {
    const a = (extra: Partial<BuiltRecord>) =>
      buildResponse({ id: 1, question: Q, answers: [{ name: 'vpn.example.com', type: TYPE_A, address: '1.2.3.4', ...extra }] });
    expect(() => parseResponse(encodeQuery(1, 'vpn.example.com'))).toThrow(/not a response/);
    expect(() => parseResponse(a({ data: Uint8Array.of(1, 2, 3, 4, 5) }))).toThrow(/A record of 5 bytes/);
    expect(() => parseResponse(a({ type: TYPE_AAAA, data: Uint8Array.of(1, 2, 3, 4) }))).toThrow(/AAAA record of 4 bytes/);
    expect(() => parseResponse(a({ name: { pointer: 200 } }))).toThrow(/does not point backwards/);
    // A pointer to itself (the answer's owner starts at 33).
    expect(() => parseResponse(a({ name: { pointer: 33 } }))).toThrow(/does not point backwards/);
    expect(() => parseResponse(a({ type: TYPE_CNAME, address: undefined, data: Uint8Array.of(0x40, 0) }))).toThrow(/reserved label type/);
    // CNAME data longer than its name.
    expect(() => parseResponse(a({ type: TYPE_CNAME, address: undefined, data: Uint8Array.of(1, 0x61, 0, 0) }))).toThrow(/exactly/);
    expect(() => parseResponse(buildResponse({ id: 1, question: Q, answers: [], answerCount: 1 }))).toThrow(/answer 1 is cut short/);
    const longName = Array.from({ length: 5 }, () => 'x'.repeat(60)).join('.');
    expect(() => parseResponse(buildResponse({ id: 1, question: { name: longName, type: TYPE_A } }))).toThrow(/longer than 255/);
  });

  it('readName reports where a compressed name ends in the message', () => {
    const msg = buildResponse({ id: 1, question: Q, answers: [{ name: { labels: ['x'], pointer: QNAME_OFFSET }, type: TYPE_A, address: '1.2.3.4' }] });
    expect(readName(msg, 33)).toEqual({ name: 'x.vpn.example.com', next: 33 + 2 + 2 });
  });
});
