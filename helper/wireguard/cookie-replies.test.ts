// Which cookie replies the device takes (§5.4.7): only one answering a handshake message it sent
// and still awaits an answer to, and through a lane of its own, so forged replies to an index an
// on-path sender saw on the wire can neither cost crypto nor starve real handshake responses.
import { describe, expect, it } from 'vitest';
import { REKEY_TIMEOUT } from './constants.js';
import { CookieChecker } from './cookie/cookie-checker.js';
import { mac2Offset } from './cookie/macs.js';
import { serializeCookieReply } from './messages/cookie-reply.js';
import { readU32LE } from './bytes.js';
import type { DropReason } from './device.js';
import { MessageType, messageTypeOf } from './messages/types.js';
import { Pair, random } from './testing/pair.js';

const FROM_B = { host: 'b', port: 51820 };
const FROM_A = { host: 'a', port: 40000 };

/** What anyone who saw an index on the wire can send to it: a cookie reply that cannot decrypt. */
const forgedCookieReply = (receiver: number): Uint8Array =>
  serializeCookieReply({ receiver, nonce: random(24), encryptedCookie: random(32) });

/** Takes the next datagram off the wire, which must be of type `t`. */
function next(p: Pair, t: MessageType): Uint8Array {
  const d = p.wire.shift()?.data;
  if (!d || messageTypeOf(d) !== t) throw new Error(`expected a message of type ${t} on the wire`);
  return d;
}

const count = (p: Pair, side: 'a' | 'b', reason: DropReason): number => p[side].device.drops.get(reason) ?? 0;

describe('cookie replies', () => {
  it('do not starve the response to a rekey, flooded to our session and pending indices', () => {
    const p = new Pair();
    expect(p.aToB()).toBe(true);
    const session = p.a.peer.current!.localIndex;
    p.now += REKEY_TIMEOUT; // a rekey is allowed again; no ticks, so nothing else happens
    p.a.device.connect(p.a.peer, p.now);
    const pending = p.a.peer.pendingInitiation!.localIndex;
    p.b.device.receive(next(p, MessageType.HandshakeInitiation), FROM_A, p.now);
    const response = next(p, MessageType.HandshakeResponse);
    const handshakes = p.handshakes(p.a);
    // Both indices are on the wire: the session's in every transport packet, the pending one in
    // our initiation. The flood comes "from" the server's address, as a spoofer would send it.
    for (let i = 0; i < 10_000; i++) p.a.device.receive(forgedCookieReply(i % 2 ? session : pending), FROM_B, p.now);
    p.a.device.receive(response, FROM_B, p.now);
    expect(p.handshakes(p.a)).toBe(handshakes + 1);
    expect(count(p, 'a', 'unknown-index')).toBe(5_000); // every one to the session index
    // Those to the pending index: a cookie lane's burst opened (and failed), the rest dropped.
    expect(count(p, 'a', 'unauthenticated')).toBeLessThanOrEqual(2);
    expect(count(p, 'a', 'unauthenticated') + count(p, 'a', 'handshake-flood')).toBe(5_000);
    p.run();
    expect(p.aToB()).toBe(true);
  });

  it('to a session index are dropped before any crypto and spend no budget', () => {
    const p = new Pair();
    expect(p.aToB()).toBe(true);
    expect(p.bToA()).toBe(true); // B's session is confirmed: its index no longer awaits anything
    for (let i = 0; i < 100; i++) {
      p.a.device.receive(forgedCookieReply(p.a.peer.current!.localIndex), FROM_B, p.now);
      p.b.device.receive(forgedCookieReply(p.b.peer.current!.localIndex), FROM_A, p.now);
    }
    for (const side of ['a', 'b'] as const) {
      expect(count(p, side, 'unknown-index')).toBe(100);
      expect(count(p, side, 'unauthenticated')).toBe(0);
      expect(count(p, side, 'handshake-flood')).toBe(0);
    }
  });

  it('to our pending initiation is taken once, and the retried initiation carries mac2', () => {
    const p = new Pair({ forceUnderLoadB: true });
    p.a.device.connect(p.a.peer, p.now);
    p.b.device.receive(next(p, MessageType.HandshakeInitiation), FROM_A, p.now);
    const reply = next(p, MessageType.CookieReply);
    p.a.device.receive(reply, FROM_B, p.now);
    expect(p.a.peer.cookieJar.hasFreshCookie).toBe(true);
    expect(count(p, 'a', 'unauthenticated')).toBe(0);
    // The same reply again, or a forged one, to the same initiation: a comparison, no open.
    p.a.device.receive(reply, FROM_B, p.now);
    p.a.device.receive(forgedCookieReply(readU32LE(reply, 4)), FROM_B, p.now);
    expect(count(p, 'a', 'unknown-index')).toBe(2);
    expect(count(p, 'a', 'unauthenticated')).toBe(0);
    // The retransmission carries mac2, so the loaded server answers it.
    p.advance(REKEY_TIMEOUT + 400);
    const initiations = p.a.sent.filter((d) => messageTypeOf(d) === MessageType.HandshakeInitiation);
    expect(initiations.length).toBeGreaterThanOrEqual(2);
    expect(initiations[0]!.subarray(mac2Offset(initiations[0]!)).some((x) => x !== 0)).toBe(false);
    expect(initiations[1]!.subarray(mac2Offset(initiations[1]!)).some((x) => x !== 0)).toBe(true);
    expect(p.handshakes(p.a)).toBe(1);
  });

  it('to our response is taken while its session is unconfirmed, and not after', () => {
    const p = new Pair();
    p.a.device.connect(p.a.peer, p.now);
    p.b.device.receive(next(p, MessageType.HandshakeInitiation), FROM_A, p.now);
    const response = next(p, MessageType.HandshakeResponse);
    const bIndex = readU32LE(response, 4);
    expect(p.b.peer.next?.localIndex).toBe(bIndex);
    // A, were it loaded, would answer B's response with a cookie reply such as this one.
    const loadedA = new CookieChecker(p.a.publicKey, random, p.now);
    const reply = () => loadedA.reply(response, bIndex, 'b|51820', p.now);
    p.b.device.receive(reply(), FROM_A, p.now);
    expect(p.b.peer.cookieJar.hasFreshCookie).toBe(true);
    expect(count(p, 'b', 'unauthenticated')).toBe(0);
    // A takes the response and confirms B's session with a keepalive: B's index is a session's now.
    p.a.device.receive(response, FROM_B, p.now);
    p.run();
    expect(p.b.peer.current?.localIndex).toBe(bIndex);
    p.b.device.receive(reply(), FROM_A, p.now);
    expect(count(p, 'b', 'unknown-index')).toBe(1);
    expect(count(p, 'b', 'unauthenticated')).toBe(0);
  });
});
