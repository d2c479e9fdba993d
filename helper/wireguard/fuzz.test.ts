// Throws thousands of random, truncated, mutated and replayed datagrams at an established
// device: none may throw, and none may change its state (sessions, counters, endpoint, timers).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Pair } from './testing/pair.js';
import type { Device } from './device.js';
import { toHex } from './bytes.js';


function snapshot(d: Device): string {
  return JSON.stringify(d.peerList().map((p) => ({
    endpoint: p.endpoint,
    keypairs: [p.previous, p.current, p.next].map((k) => k && {
      li: k.localIndex, ri: k.remoteIndex, send: k.sendCounter,
      replay: JSON.stringify(k.replay), key: toHex(k.keys.receiveKey),
    }),
    pending: p.pendingInitiation?.localIndex,
    ts: toHex(p.greatestTimestamp),
    queue: p.queue.length,
    stats: p.stats,
    deadline: p.timers.nextDeadline(),
    cookie: p.cookieJar.hasFreshCookie,
  })));
}

function established() {
  const p = new Pair();
  p.aToB();
  p.bToA();
  p.aToB(new Uint8Array(300));
  // A library of real messages to mutate: initiation, response, data, keepalive.
  const corpus = [...p.a.sent, ...p.b.sent].map((d) => d.slice());
  return { p, corpus };
}

const datagram = (corpus: Uint8Array[]) => fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 200 }),
  // a valid-looking header of every type with random body
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.uint8Array({ minLength: 0, maxLength: 180 }))
    .map(([t, body]) => Uint8Array.from([t, 0, 0, 0, ...body])),
  // exact message sizes with random content
  fc.tuple(fc.constantFrom([1, 148], [2, 92], [3, 64], [4, 32], [4, 48]), fc.integer())
    .chain(([[t, n], _]) => fc.uint8Array({ minLength: n! - 4, maxLength: n! - 4 }).map((b) => Uint8Array.from([t!, 0, 0, 0, ...b]))),
  // real messages, mutated
  fc.tuple(fc.constantFrom(...corpus), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }))
    .map(([m, flips]) => {
      const c = m.slice();
      for (const [i, x] of flips) c[i % c.length]! ^= x;
      return c;
    }),
  fc.tuple(fc.constantFrom(...corpus), fc.nat()).map(([m, n]) => m.slice(0, n % m.length)),
  fc.tuple(fc.constantFrom(...corpus), fc.uint8Array({ minLength: 1, maxLength: 20 })).map(([m, extra]) => Uint8Array.from([...m, ...extra])),
  // exact replays of real messages
  fc.constantFrom(...corpus),
);

describe('fuzz: hostile datagrams', () => {
  it('never throw and never change an established device\'s state', () => {
    const { p, corpus } = established();
    for (const side of [p.a, p.b]) {
      fc.assert(fc.property(fc.array(datagram(corpus), { minLength: 1, maxLength: 20 }), (batch) => {
        const before = snapshot(side.device);
        const sent = side.sent.length;
        const delivered = side.delivered.length;
        for (const d of batch) {
          expect(() => side.device.receive(d, { host: 'evil', port: 666 }, p.now)).not.toThrow();
        }
        expect(snapshot(side.device)).toBe(before);
        expect(side.delivered.length).toBe(delivered);
        // A flood of replayed handshakes (valid mac1, all at one instant) puts the device under
        // load, where the prescribed answer is a stateless cookie reply (§5.3); nothing else.
        expect(side.sent.slice(sent).filter((d) => d[0] !== 3)).toEqual([]);
      }), { numRuns: 400 });
    }
    // …and the session still works afterwards.
    p.wire = [];
    expect(p.aToB()).toBe(true);
    expect(p.bToA()).toBe(true);
  });

  it('hostile packets from the tunnel side never throw', () => {
    const { p } = established();
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 1500 }), (pkt) => {
      expect(() => p.a.device.send(pkt, p.now)).not.toThrow();
    }), { numRuns: 2000 });
  });
});
