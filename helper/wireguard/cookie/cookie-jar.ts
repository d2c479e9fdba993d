// The sending side of cookies (§5.4.4, §5.4.7): one per peer. It stamps mac1 (and mac2 while it
// holds a fresh cookie) on our handshake messages, and takes the cookie out of a cookie reply.
import { readU32LE } from '../bytes.js';
import { COOKIE_MAX_AGE } from '../constants.js';
import { xopen } from '../crypto/aead.js';
import type { CookieReply } from '../messages/cookie-reply.js';
import { computeMac1, computeMac2, cookieKeyFor, mac1KeyFor, mac1Offset, mac2Offset } from './macs.js';

export class CookieJar {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private cookie: Uint8Array | undefined;
  private cookieAt = 0;
  private lastMac1: Uint8Array | undefined;
  /** The sender index of the last stamped message while no cookie reply to it has been taken. */
  private awaiting: number | undefined;

  constructor(peerPublicKey: Uint8Array) {
    this.mac1Key = mac1KeyFor(peerPublicKey);
    this.cookieKey = cookieKeyFor(peerPublicKey);
  }

  /** Writes mac1 and, with a fresh cookie, mac2 into a finished handshake message. */
  stamp(msg: Uint8Array, now: number): void {
    const m1 = computeMac1(this.mac1Key, msg);
    msg.set(m1, mac1Offset(msg));
    this.lastMac1 = m1;
    this.awaiting = readU32LE(msg, 4); // initiation and response alike: type(1) reserved(3) sender(4)
    if (this.cookie && now - this.cookieAt < COOKIE_MAX_AGE) {
      msg.set(computeMac2(this.cookie, msg), mac2Offset(msg));
    } else {
      msg.fill(0, mac2Offset(msg));
    }
  }

  /**
   * Whether a cookie reply to `receiver` could be one we take, for the price of a comparison: only
   * our last stamped message's can decrypt (its mac1 is the reply's associated data), and once
   * one has, later ones to it are useless.
   */
  awaitsReplyTo(receiver: number): boolean {
    return this.awaiting === receiver;
  }

  /** Accepts a cookie reply to our last handshake message; false when it does not decrypt. */
  consume(reply: CookieReply, now: number): boolean {
    if (!this.lastMac1 || !this.awaitsReplyTo(reply.receiver)) return false;
    const cookie = xopen(this.cookieKey, reply.nonce, reply.encryptedCookie, this.lastMac1);
    if (!cookie) return false;
    this.cookie = cookie;
    this.cookieAt = now;
    this.awaiting = undefined;
    return true;
  }

  get hasFreshCookie(): boolean {
    return this.cookie !== undefined;
  }
}
