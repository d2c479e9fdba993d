import { describe, expect, it } from 'vitest';
import { inDomain, messageId, upstreamFor } from './lan-split.js';
import { encodeQuery, TYPE_AAAA } from './wire.js';
import { buildResponse } from './testdata/response-builder.js';

const DOMAINS = ['corp.example', 'lan'];

describe('LAN DNS: which upstream a query goes to', () => {
  it('a name in or under a domain goes to the LAN; anything else, look-alikes included, to the tunnel', () => {
    expect(upstreamFor(encodeQuery(1, 'corp.example'), DOMAINS)).toBe('lan');
    expect(upstreamFor(encodeQuery(2, 'Intranet.CORP.example.', TYPE_AAAA), DOMAINS)).toBe('lan');
    expect(upstreamFor(encodeQuery(3, 'printer.lan'), DOMAINS)).toBe('lan');
    expect(upstreamFor(encodeQuery(4, 'evilcorp.example'), DOMAINS)).toBe('tunnel');
    expect(upstreamFor(encodeQuery(5, 'corp.example.attacker.test'), DOMAINS)).toBe('tunnel');
    expect(upstreamFor(encodeQuery(6, 'example'), DOMAINS)).toBe('tunnel');
    expect(upstreamFor(encodeQuery(7, 'corp.example'), [])).toBe('tunnel');
  });

  it('drops what is not one standard query: a response, no question, another opcode, cut short', () => {
    expect(upstreamFor(buildResponse({ id: 1, question: { name: 'a.corp.example', type: 1 } }), DOMAINS)).toBeUndefined();
    expect(upstreamFor(buildResponse({ id: 1, response: false }), DOMAINS)).toBeUndefined();
    expect(upstreamFor(buildResponse({ id: 1, response: false, opcode: 2, question: { name: 'a.corp.example', type: 1 } }), DOMAINS)).toBeUndefined();
    const q = encodeQuery(9, 'a.corp.example');
    expect(upstreamFor(q.subarray(0, q.length - 3), DOMAINS)).toBeUndefined();
    expect(upstreamFor(new Uint8Array(5), DOMAINS)).toBeUndefined();
  });

  it('inDomain matches whole labels only; messageId reads the first two bytes', () => {
    expect(inDomain('a.b.corp.example', 'corp.example')).toBe(true);
    expect(inDomain('xcorp.example', 'corp.example')).toBe(false);
    expect(messageId(encodeQuery(0xbeef, 'x.test'))).toBe(0xbeef);
    expect(messageId(new Uint8Array(3))).toBeUndefined();
  });
});
