import { describe, expect, it } from 'vitest';
import {
  KEEPALIVE_TIMEOUT, KEY_ZEROING_TIME, QUIET_PROBE_AFTER, REJECT_AFTER_TIME, REKEY_AFTER_TIME, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT,
} from './constants.js';
import { ipv4, Pair, random } from './testing/pair.js';
import { messageTypeOf, MessageType } from './messages/types.js';
import { nobleAead } from './crypto/aead.js';
import { readCounterLE } from './bytes.js';

const typesSent = (sent: Uint8Array[]) => sent.map((d) => messageTypeOf(d));

describe('two in-memory peers', () => {
  it('handshake on first packet, then data both ways, byte for byte', () => {
    const p = new Pair();
    const payload = random(700);
    expect(p.aToB(payload)).toBe(true);
    expect(p.handshakes(p.a)).toBe(1);
    expect(p.handshakes(p.b)).toBe(1);
    expect(p.b.delivered[0]).toEqual(ipv4('100.64.0.2', '100.64.0.1', payload));
    expect(p.bToA(Uint8Array.of(9))).toBe(true);
    expect(p.a.delivered[0]).toEqual(ipv4('100.64.0.1', '100.64.0.2', Uint8Array.of(9)));
    // initiation, then the queued packet; B: response
    expect(typesSent(p.a.sent)).toEqual([MessageType.HandshakeInitiation, MessageType.TransportData]);
    expect(typesSent(p.b.sent)).toEqual([MessageType.HandshakeResponse, MessageType.TransportData]);
  });

  it('works with a preshared key, and fails with mismatched ones', () => {
    const psk = random(32);
    const p = new Pair({ presharedKey: psk });
    expect(p.aToB()).toBe(true);
    const q = new Pair({ presharedKey: psk });
    // B gets a different PSK: the response does not authenticate at A.
    q.b.device.removePeer(q.b.peer);
    q.b.peer = q.b.device.addPeer({ publicKey: q.a.publicKey, presharedKey: random(32), allowedIPs: [{ family: 4, bytes: Uint8Array.of(100, 64, 0, 2), prefix: 32 }] }, q.now);
    expect(q.aToB()).toBe(false);
    expect(q.a.device.drops.get('unauthenticated')).toBe(1);
  });

  it('connect() handshakes before any data and the initiator confirms with a keepalive', () => {
    const p = new Pair();
    p.a.device.connect(p.a.peer, p.now);
    p.run();
    expect(typesSent(p.a.sent)).toEqual([MessageType.HandshakeInitiation, MessageType.TransportData]);
    expect(p.a.sent[1]!.length).toBe(32); // keepalive: header + tag only
    expect(p.b.peer.current).toBeDefined(); // confirmed by the keepalive
    expect(p.bToA()).toBe(true);
  });

  it('the responder role works for B initiating to A too (both roles)', () => {
    const p = new Pair();
    p.aToB();
    // Let the session age so that B (responder so far) becomes the initiator when A's keys go.
    p.b.peer.endpoint = { host: 'a', port: 40000 };
    p.b.device.connect(p.b.peer, p.now + REKEY_TIMEOUT);
    p.run();
    expect(p.b.events.some((e) => e.type === 'handshake-complete' && e.role === 'initiator')).toBe(true);
    expect(p.a.events.some((e) => e.type === 'handshake-complete' && e.role === 'responder')).toBe(true);
    expect(p.bToA()).toBe(true);
    expect(p.aToB()).toBe(true);
  });

  it('pads payloads to 16 bytes and strips the padding on receipt', () => {
    const p = new Pair();
    p.aToB(random(5)); // 25-byte packet → 32 padded
    const data = p.a.sent.filter((d) => messageTypeOf(d) === MessageType.TransportData);
    expect(data[0]!.length).toBe(16 + 32 + 16);
    expect(p.b.delivered[0]!.length).toBe(25);
  });

  it('drops inner packets whose source is outside the peer\'s AllowedIPs', () => {
    const p = new Pair();
    p.aToB();
    const before = p.b.delivered.length;
    p.a.device.send(ipv4('100.64.0.9', '100.64.0.1'), p.now); // spoofed source
    p.run();
    expect(p.b.delivered.length).toBe(before);
    expect(p.b.device.drops.get('not-allowed-ip')).toBe(1);
  });

  it('drops packets with no route instead of sending them anywhere', () => {
    const p = new Pair();
    p.a.device.send(ipv4('100.64.0.2', '198.51.100.7'), p.now);
    expect(p.a.sent).toHaveLength(0);
    expect(p.a.device.drops.get('no-route')).toBe(1);
  });

  it('drops a replayed transport packet and a replayed initiation', () => {
    const p = new Pair();
    p.aToB();
    const data = p.a.sent.find((d) => messageTypeOf(d) === MessageType.TransportData)!;
    const init = p.a.sent.find((d) => messageTypeOf(d) === MessageType.HandshakeInitiation)!;
    const delivered = p.b.delivered.length;
    p.b.device.receive(data, { host: 'a', port: 40000 }, p.now);
    expect(p.b.delivered.length).toBe(delivered);
    expect(p.b.device.drops.get('replay')).toBe(1);
    const sentBefore = p.b.sent.length;
    p.b.device.receive(init, { host: 'a', port: 40000 }, p.now + 1000);
    expect(p.b.sent.length).toBe(sentBefore); // no second response
    expect(p.b.device.drops.get('stale-timestamp')).toBe(1);
  });

  it('takes transport data opened ahead with the key openingKey gave, and nothing else', () => {
    const p = new Pair();
    p.aToB(); // the handshake
    const from = { host: 'a', port: 40000 };
    const next = (payload: Uint8Array): Uint8Array => {
      p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', payload), p.now);
      return p.wire.pop()!.data;
    };
    const openAhead = (d: Uint8Array, key: Uint8Array): boolean => {
      const plain = nobleAead.open(key, readCounterLE(d, 8), d.subarray(16), undefined);
      if (plain) d.set(plain, 16);
      return plain !== null;
    };
    const d1 = next(Uint8Array.of(1));
    const key = p.b.device.openingKey(d1, p.now)!;
    expect(key).toBeInstanceOf(Uint8Array);
    expect(openAhead(d1, key)).toBe(true);
    const before = p.b.delivered.length;
    p.b.device.receiveBatched(d1, from, p.now, key, true);
    expect(p.b.delivered.slice(before)).toEqual([ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(1))]);
    // Now replayed: no key to open it with.
    expect(p.b.device.openingKey(d1, p.now)).toBeUndefined();
    // Said not authentic, or opened with a key that is not this session's: dropped, not opened again.
    const d2 = next(Uint8Array.of(2));
    p.b.device.receiveBatched(d2, from, p.now, key, false);
    const d3 = next(Uint8Array.of(3));
    const other = random(32);
    p.b.device.receiveBatched(d3, from, p.now, other, true);
    expect(p.b.delivered.length).toBe(before + 1);
    expect(p.b.device.drops.get('unauthenticated')).toBe(2);
    // A handshake message, a short datagram and an unknown index have no key.
    expect(p.b.device.openingKey(p.a.sent[0]!, p.now)).toBeUndefined();
    expect(p.b.device.openingKey(d1.subarray(0, 31), p.now)).toBeUndefined();
    const stranger = next(Uint8Array.of(4));
    stranger[4]! ^= 0xff;
    expect(p.b.device.openingKey(stranger, p.now)).toBeUndefined();
  });
});

describe('timers with a manual clock', () => {
  it('zeroes a handshake\'s ephemeral private key and chaining key once it is done with it', () => {
    const p = new Pair();
    p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(1)), p.now); // an initiation, not yet answered
    const state = p.a.peer.pendingInitiation!;
    const [eph, ck] = [state.ephemeralPrivate, state.chainingKey];
    expect(eph.some((b) => b !== 0) && ck.some((b) => b !== 0)).toBe(true);
    p.run(); // answered: the session's keys exist, the handshake's secrets do not
    expect(p.a.peer.current).toBeDefined();
    expect(p.a.peer.pendingInitiation).toBeUndefined();
    expect([eph.every((b) => b === 0), ck.every((b) => b === 0)]).toEqual([true, true]);
  });

  it('after a long sleep, a packet that starts a handshake before the first tick: the erasure keeps that initiation', () => {
    const p = new Pair();
    expect(p.aToB()).toBe(true);
    // Asleep for hours: no tick ran, the server restarted and forgot the session.
    p.now += KEY_ZEROING_TIME + 8 * 3_600_000;
    p.restartB();
    const before = p.b.delivered.length;
    p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(7)), p.now); // keys too old: an initiation, the packet queued
    expect(typesSent(p.wire.map((w) => w.data))).toEqual([MessageType.HandshakeInitiation]);
    p.a.device.tick(p.now); // the first tick after the resume erases yesterday's keys
    p.run(); // initiation → response → the queued packet
    expect(p.b.delivered.length, 'the packet arrived without waiting for a retransmit').toBe(before + 1);
    expect(p.a.peer.current).toBeDefined();
  });

  it('rekeys after REKEY_AFTER_TIME when the initiator sends, with no traffic lost', () => {
    const p = new Pair();
    p.aToB();
    const first = p.a.peer.current!;
    p.advance(REKEY_AFTER_TIME + 1);
    expect(p.aToB()).toBe(true); // sent on the old keys, and triggers the rekey
    expect(p.handshakes(p.a)).toBe(2);
    expect(p.a.peer.current).not.toBe(first);
    expect(p.a.peer.previous).toBe(first);
    expect(p.aToB()).toBe(true);
    expect(p.bToA()).toBe(true);
  });

  it('never uses keys past REJECT_AFTER_TIME: traffic waits for a new handshake', () => {
    const p = new Pair();
    p.aToB();
    const old = p.a.peer.current!;
    p.lose = () => true; // the network goes dark while the keys age
    p.advance(REJECT_AFTER_TIME + 1, 1000);
    p.lose = () => false;
    p.wire = [];
    const sentBefore = p.a.sent.length;
    expect(p.aToB()).toBe(true);
    const newTypes = typesSent(p.a.sent.slice(sentBefore));
    expect(newTypes[0]).toBe(MessageType.HandshakeInitiation); // not data on the expired keys
    expect(p.a.peer.current).not.toBe(old);
    // An old data packet replayed later is refused as expired.
    const b = new Pair();
    b.aToB();
    const pkt = b.a.sent.find((d) => messageTypeOf(d) === MessageType.TransportData)!;
    b.now += REJECT_AFTER_TIME + 1;
    b.b.device.receive(pkt, { host: 'a', port: 40000 }, b.now);
    expect(b.b.device.drops.get('expired')).toBe(1);
  });

  it('retransmits an unanswered initiation every REKEY_TIMEOUT (+jitter) and gives up after REKEY_ATTEMPT_TIME', () => {
    const p = new Pair();
    p.lose = (to) => to === 'b';
    p.aToB();
    p.advance(REKEY_ATTEMPT_TIME + REKEY_TIMEOUT * 2, 50);
    const inits = p.a.sent.filter((d) => messageTypeOf(d) === MessageType.HandshakeInitiation).length;
    // one per 5–5.333 s over 90 s: between 17 and 19
    expect(inits).toBeGreaterThanOrEqual(17);
    expect(inits).toBeLessThanOrEqual(19);
    expect(p.a.events.some((e) => e.type === 'handshake-failed')).toBe(true);
    const after = p.a.sent.length;
    p.advance(60_000);
    expect(p.a.sent.length).toBe(after); // quiet after giving up
    p.lose = () => false;
    expect(p.aToB()).toBe(true); // new traffic starts a new attempt
  });

  it('retries when a lost response leaves the handshake half done', () => {
    const p = new Pair();
    let dropped = 0;
    p.lose = (to, d) => to === 'a' && messageTypeOf(d) === MessageType.HandshakeResponse && dropped++ === 0;
    expect(p.aToB()).toBe(false);
    p.advance(REKEY_TIMEOUT + 400);
    expect(p.b.delivered.length).toBe(1); // the queued packet went out after the retry
  });

  it('recovers by itself when the server restarts and forgets the session', () => {
    const p = new Pair({ persistentKeepalive: 25 });
    p.aToB();
    p.restartB();
    expect(p.aToB()).toBe(false); // B no longer knows the session
    // A keeps sending; no answer for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT → new handshake.
    for (let t = 0; t < 20; t++) {
      p.advance(1000);
      p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(t)), p.now);
      p.run();
    }
    expect(p.b.delivered.length).toBeGreaterThan(0);
    expect(p.bToA()).toBe(true);
  });

  it('a server that restarted is found within QUIET_PROBE_AFTER of unanswered data, not after 15 s', () => {
    const p = new Pair();
    p.aToB();
    p.bToA();
    p.advance(30_000, 1000); // idle for a while, as before a server restart
    p.restartB();
    const handshakes = p.handshakes(p.a);
    const t0 = p.now;
    expect(p.aToB()).toBe(false); // B no longer knows the session
    expect(p.a.peer.timers.quietSince).toBe(t0);
    // The user's traffic keeps trying (a TCP retransmit every half second).
    while (p.now - t0 < QUIET_PROBE_AFTER + 500 && p.handshakes(p.a) === handshakes) {
      p.advance(500, 100);
      p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(9)), p.now);
      p.run();
    }
    expect(p.handshakes(p.a)).toBe(handshakes + 1);
    expect(p.aToB()).toBe(true);
    expect(p.now - t0).toBeLessThan(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
  });

  it('after a night\'s sleep on a clock that counts it, the next packet gets a fresh session at once', () => {
    const p = new Pair();
    p.aToB();
    const handshakes = p.handshakes(p.a);
    p.now += 8 * 3_600_000; // the protocol clock (CLOCK_BOOTTIME) ran on while asleep
    // Only the client wakes: the server's timers ran all night, and it has nothing to send.
    p.a.device.tick(p.now);
    expect(p.a.peer.current).toBeUndefined(); // yesterday's keys are not used
    expect(p.aToB()).toBe(true);
    expect(p.handshakes(p.a)).toBe(handshakes + 1);
  });

  it('a lone datagram nobody answers does not start a handshake', () => {
    const p = new Pair();
    p.aToB();
    p.bToA();
    p.advance(30_000, 1000);
    const handshakes = p.handshakes(p.a);
    p.aToB(); // one datagram; the far end's application never answers
    p.advance(QUIET_PROBE_AFTER * 3, 100);
    expect(p.handshakes(p.a)).toBe(handshakes);
  });

  it('the quiet probe sends at most one initiation per REKEY_TIMEOUT while the peer stays silent', () => {
    const p = new Pair();
    p.aToB();
    p.lose = () => true;
    const before = p.a.sent.filter((d) => messageTypeOf(d) === MessageType.HandshakeInitiation).length;
    for (let t = 0; t < 30; t++) {
      p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(t)), p.now);
      p.run();
      p.advance(1000, 100);
    }
    const inits = p.a.sent.filter((d) => messageTypeOf(d) === MessageType.HandshakeInitiation).length - before;
    // 30 s of unanswered data: the first probe at ~2 s, then retries every 5–5.333 s.
    expect(inits).toBeGreaterThanOrEqual(5);
    expect(inits).toBeLessThanOrEqual(6);
  });

  it('sends a keepalive after KEEPALIVE_TIMEOUT when data came in and nothing went out', () => {
    const p = new Pair();
    p.aToB();
    const before = p.b.sent.length;
    p.advance(KEEPALIVE_TIMEOUT + 200);
    const extra = p.b.sent.slice(before);
    expect(extra).toHaveLength(1);
    expect(extra[0]!.length).toBe(32);
  });

  it('persistent keepalive every N seconds of silence', () => {
    const p = new Pair({ persistentKeepalive: 25 });
    p.aToB();
    const before = p.a.sent.length;
    p.advance(100_000, 500);
    const keepalives = p.a.sent.slice(before).filter((d) => d.length === 32).length;
    expect(keepalives).toBeGreaterThanOrEqual(3);
    expect(keepalives).toBeLessThanOrEqual(4);
  });

  it('persistent keepalives alone rekey a session on time', () => {
    const p = new Pair({ persistentKeepalive: 25 });
    p.aToB();
    p.advance(REKEY_AFTER_TIME + 30_000, 500);
    expect(p.handshakes(p.a)).toBe(2);
    expect(p.a.peer.timers.handshakeAttemptSince).toBeUndefined();
  });

  it('reports how long a failing handshake series has run', () => {
    const p = new Pair();
    p.lose = () => true;
    p.aToB();
    const start = p.now;
    p.advance(12_000);
    expect(p.a.peer.timers.handshakeAttemptSince).toBe(start);
  });

  it('erases all keys after three times REJECT_AFTER_TIME without a new handshake', () => {
    const p = new Pair();
    p.aToB();
    const kp = p.a.peer.current!;
    // The peer goes away: the quiet probe's initiations get no answer, so no new session comes.
    p.lose = () => true;
    p.advance(KEY_ZEROING_TIME + 1000, 5000);
    expect(p.a.peer.current).toBeUndefined();
    expect(kp.keys.sendKey.every((x) => x === 0)).toBe(true);
    expect(p.a.events.some((e) => e.type === 'keys-zeroed')).toBe(true);
  });
});

describe('cookies under load', () => {
  it('a loaded responder answers with a cookie reply, then accepts the retry with mac2', () => {
    const p = new Pair({ forceUnderLoadB: true });
    expect(p.aToB()).toBe(false);
    expect(typesSent(p.b.sent)).toEqual([MessageType.CookieReply]);
    expect(p.b.device.drops.get('cookie-sent')).toBe(1);
    p.advance(REKEY_TIMEOUT + 400);
    expect(p.handshakes(p.a)).toBe(1);
    expect(p.b.delivered.length).toBe(1);
  });

  it('drops handshake messages with a bad mac1 without answering', () => {
    const p = new Pair();
    p.a.device.connect(p.a.peer, p.now);
    const init = p.wire.shift()!.data;
    init[120]! ^= 1; // inside mac1
    p.b.device.receive(init, { host: 'a', port: 40000 }, p.now);
    expect(p.b.sent).toHaveLength(0);
    expect(p.b.device.drops.get('bad-mac1')).toBe(1);
  });
});
