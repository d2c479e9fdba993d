// A flood of handshake messages (issue 11, item 2): the device must spend a bounded amount of
// crypto on it, keep transport data first, and still let the real server's handshakes through.
import { describe, expect, it } from 'vitest';
import { COOKIE_REPLIES_PER_SECOND, HANDSHAKES_PER_BATCH, STRANGER_HANDSHAKES_PER_SECOND } from './constants.js';
import { computeMac1, mac1KeyFor, mac1Offset } from './cookie/macs.js';
import { INITIATION_SIZE } from './messages/handshake-initiation.js';
import { RESPONSE_SIZE } from './messages/handshake-response.js';
import { MessageType, messageTypeOf } from './messages/types.js';
import { ipv4, Pair, random } from './testing/pair.js';

const STRANGER = { host: '203.0.113.66', port: 6666 };

/** An initiation from no one we know; with a valid mac1 it costs a cookie reply or a DH. */
function forgedInitiation(to: Uint8Array, validMac1: boolean): Uint8Array {
  const m = random(INITIATION_SIZE);
  m.set([MessageType.HandshakeInitiation, 0, 0, 0]);
  if (validMac1) m.set(computeMac1(mac1KeyFor(to), m), mac1Offset(m));
  return m;
}

const sentOfType = (sent: Uint8Array[], t: number) => sent.filter((d) => messageTypeOf(d) === t).length;

describe('a handshake flood', () => {
  it('answers a valid-mac1 flood with cookie replies at a capped rate, dropping the rest before any crypto', () => {
    const p = new Pair();
    expect(p.aToB()).toBe(true);
    const before = p.a.sent.length;
    // 10,000 in one second, at the client (A), whose public key is all a flooder needs.
    for (let i = 0; i < 10_000; i++) p.a.device.receive(forgedInitiation(p.a.publicKey, true), STRANGER, p.now + i / 10);
    const cookies = sentOfType(p.a.sent.slice(before), MessageType.CookieReply);
    const drops = p.a.device.drops;
    // Looked at: at most the stranger lane's second plus its burst; answered: at most the cookie cap.
    const looked = (drops.get('cookie-sent') ?? 0) + (drops.get('unauthenticated') ?? 0);
    expect(looked).toBeLessThanOrEqual(STRANGER_HANDSHAKES_PER_SECOND * 1.25 + 1);
    expect(cookies).toBeLessThanOrEqual(COOKIE_REPLIES_PER_SECOND * 1.25 + 1);
    expect(drops.get('handshake-flood')).toBeGreaterThan(9_000);
    // Data still flows both ways.
    p.wire = [];
    expect(p.aToB()).toBe(true);
    expect(p.bToA()).toBe(true);
  });

  it('checks mac1 of at most the budget of a bad-mac1 flood', () => {
    const p = new Pair();
    for (let i = 0; i < 10_000; i++) p.a.device.receive(forgedInitiation(p.a.publicKey, false), STRANGER, p.now + i / 10);
    expect(p.a.device.drops.get('bad-mac1')).toBeLessThanOrEqual(STRANGER_HANDSHAKES_PER_SECOND * 1.25 + 1);
    expect(p.a.device.handshakeFloodDrops).toBeGreaterThan(9_000);
    expect(p.a.sent).toHaveLength(0);
  });

  it('drops a response that answers no pending initiation of ours without checking its mac1', () => {
    const p = new Pair();
    const r = random(RESPONSE_SIZE);
    r.set([MessageType.HandshakeResponse, 0, 0, 0]);
    p.a.device.receive(r, STRANGER, p.now);
    expect(p.a.device.drops.get('unknown-index')).toBe(1);
    expect(p.a.device.drops.get('bad-mac1')).toBeUndefined();
  });

  it('lets the server\'s response to our initiation through while flooded (no cookie round trip)', () => {
    const p = new Pair();
    // A is under load: far more valid-mac1 initiations than the under-load threshold.
    for (let i = 0; i < 2_000; i++) p.a.device.receive(forgedInitiation(p.a.publicKey, true), STRANGER, p.now);
    p.a.sent.length = 0;
    p.wire = [];
    p.a.device.connect(p.a.peer, p.now);
    p.run();
    expect(p.handshakes(p.a)).toBe(1);
    expect(sentOfType(p.a.sent, MessageType.CookieReply)).toBe(0);
    expect(p.aToB()).toBe(true);
  });

  it('lets the server\'s own initiation through once the stranger lane and its cookie allowance are spent', () => {
    const p = new Pair();
    expect(p.aToB()).toBe(true);
    // The flood spends the stranger lane and the cookie replies strangers may get.
    for (let i = 0; i < 2_000; i++) p.a.device.receive(forgedInitiation(p.a.publicKey, true), STRANGER, p.now);
    p.wire = [];
    const handshakes = p.handshakes(p.a);
    // B (the server) rekeys: A is under load, so B gets a cookie reply and retries with mac2.
    p.b.device.connect(p.b.peer, p.now);
    p.run();
    p.advance(6_000);
    expect(p.handshakes(p.a)).toBeGreaterThan(handshakes);
  });

  it('handles a batch\'s transport data first and at most a bounded number of its handshakes', () => {
    const p = new Pair();
    expect(p.aToB()).toBe(true);
    // B → A data, captured off the wire instead of delivered.
    p.b.device.send(ipv4('100.64.0.1', '100.64.0.2', Uint8Array.of(7)), p.now);
    const data = p.wire.splice(0).map((w) => w.data);
    expect(data.map((d) => messageTypeOf(d))).toEqual([MessageType.TransportData]);
    const delivered = p.a.delivered.length;
    const sent = p.a.sent.length;
    for (let i = 0; i < 40; i++) p.a.device.receiveBatched(forgedInitiation(p.a.publicKey, true), STRANGER, p.now);
    p.a.device.receiveBatched(data[0]!, { host: 'b', port: 51820 }, p.now);
    // The data is in; no handshake crypto has run yet (nothing sent, nothing counted).
    expect(p.a.delivered.length).toBe(delivered + 1);
    expect(p.a.sent.length).toBe(sent);
    expect(p.a.device.queuedHandshakes).toBe(40);
    p.a.device.runHandshakes(p.now);
    expect(p.a.device.queuedHandshakes).toBe(40 - HANDSHAKES_PER_BATCH);
    // The queue drains on the timer tick too.
    for (let i = 0; i < 10; i++) p.a.device.tick(p.now);
    expect(p.a.device.queuedHandshakes).toBe(0);
  });

  it('handles the server\'s response before a queue full of strangers\' initiations', () => {
    const p = new Pair();
    p.a.device.connect(p.a.peer, p.now);
    const initiation = p.wire.shift()!.data;
    p.b.device.receive(initiation, { host: 'a', port: 40000 }, p.now);
    const response = p.wire.shift()!.data;
    expect(messageTypeOf(response)).toBe(MessageType.HandshakeResponse);
    for (let i = 0; i < 200; i++) p.a.device.receiveBatched(forgedInitiation(p.a.publicKey, true), STRANGER, p.now);
    p.a.device.receiveBatched(response, { host: 'b', port: 51820 }, p.now);
    p.a.device.runHandshakes(p.now);
    expect(p.handshakes(p.a)).toBe(1);
  });

  it('says now and then how many handshake messages it dropped as a flood', () => {
    const p = new Pair();
    for (let t = 0; t <= 6_000; t += 1) p.a.device.receive(forgedInitiation(p.a.publicKey, false), STRANGER, p.now + t);
    const reports = p.a.events.filter((e) => e.type === 'handshake-flood');
    expect(reports.length).toBeGreaterThanOrEqual(1);
    const r = reports[0]!;
    if (r.type !== 'handshake-flood') throw new Error('unreachable');
    expect(r.dropped).toBeGreaterThan(3_000); // 5 s at 1000 a second, less what the lane admitted
    expect(r.seconds).toBe(5);
  });
});
