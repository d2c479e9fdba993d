// Known-answer tests: the device must produce, byte for byte, what an independent reference
// computed from the whitepaper (testdata/kat/reference.py → vectors.json), as initiator and as
// responder, for the handshake, the transport keys, cookies and the first transport packets.
import { describe, expect, it } from 'vitest';
import { fromHex } from './bytes.js';
import { INITIAL_CHAINING_KEY, INITIAL_HASH } from './noise/handshake.js';
import { tai64n } from './noise/tai64n.js';
import vectors from './testdata/kat/vectors.json' with { type: 'json' };
import { katMismatches, runScenario, type KatCheck } from './testing/kat.js';

/** One expect per check, named, so a failure says which bytes differ. */
function expectAll(checks: KatCheck[]): void {
  expect(checks.length).toBeGreaterThan(0);
  for (const c of checks) expect(c.actual, c.name).toBe(c.expected);
}

describe('WireGuard known-answer vectors', () => {
  it('the device as initiator: initiation, keys from the response, transport both ways', () => {
    expectAll(runScenario('asInitiator'));
  });

  it('the device as responder: response to the initiation, keys, transport both ways', () => {
    expectAll(runScenario('asResponder'));
  });

  it('the device under load: the cookie reply, then accepts the retry whose mac2 uses it', () => {
    expectAll(runScenario('cookieReplyUnderLoad'));
  });

  it('the device takes the cookie and its retransmission carries mac2', () => {
    expectAll(runScenario('initiationWithCookie'));
  });

  it('TAI64N of the vectors\' wall clock matches the reference\'s timestamps', () => {
    for (const t of [vectors.inputs.timestamp, vectors.initiationWithCookie.timestamp]) {
      expect(tai64n(t.unixSeconds * 1000 + t.nanoseconds / 1e6)).toEqual(fromHex(t.tai64n));
    }
  });

  it('the initial chaining key and hash are the reference\'s', () => {
    expect(INITIAL_CHAINING_KEY).toEqual(fromHex(vectors.initialChainingKey));
    expect(INITIAL_HASH).toEqual(fromHex(vectors.initialHash));
  });

  it('a vector edited by one bit is caught (the comparison is not vacuous)', () => {
    const tampered = structuredClone(vectors);
    const m = tampered.response.message;
    tampered.response.message = m.slice(0, 40) + (parseInt(m[40]!, 16) ^ 1).toString(16) + m.slice(41);
    expect(katMismatches(vectors)).toEqual([]);
    expect(katMismatches(tampered).map((m) => m.name)).toContain('asResponder: response');
  });
});
