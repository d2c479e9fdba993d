// The receiving side of cookies (§5.3, §5.4.7): checks mac1 on every handshake message, and
// when the device is under load demands a valid mac2, answering without one by a cookie reply
// that costs us no state: the cookie is a MAC of the sender's address under a rotating secret.
import { COOKIE_SECRET_MAX_AGE } from '../constants.js';
import { constantTimeEqual, utf8 } from '../bytes.js';
import { xseal } from '../crypto/aead.js';
import { mac } from '../crypto/primitives.js';
import { serializeCookieReply } from '../messages/cookie-reply.js';
import { computeMac2, cookieKeyFor, hasValidMac1, mac1KeyFor, mac1Offset, mac2Offset } from './macs.js';

export class CookieChecker {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private secret: Uint8Array;
  private secretAt: number;

  constructor(ownPublicKey: Uint8Array, private readonly random: (n: number) => Uint8Array, now: number) {
    this.mac1Key = mac1KeyFor(ownPublicKey);
    this.cookieKey = cookieKeyFor(ownPublicKey);
    this.secret = random(32);
    this.secretAt = now;
  }

  checkMac1(msg: Uint8Array): boolean {
    return hasValidMac1(this.mac1Key, msg);
  }

  checkMac2(msg: Uint8Array, source: string, now: number): boolean {
    const cookie = this.cookieFor(source, now);
    return constantTimeEqual(computeMac2(cookie, msg), msg.subarray(mac2Offset(msg)));
  }

  /** A cookie reply to `msg` (whose sender index is `receiver`), for the address `source`. */
  reply(msg: Uint8Array, receiver: number, source: string, now: number): Uint8Array {
    const nonce = this.random(24);
    const encryptedCookie = xseal(this.cookieKey, nonce, this.cookieFor(source, now), msg.subarray(mac1Offset(msg), mac2Offset(msg)));
    return serializeCookieReply({ receiver, nonce, encryptedCookie });
  }

  private cookieFor(source: string, now: number): Uint8Array {
    if (now - this.secretAt >= COOKIE_SECRET_MAX_AGE) {
      this.secret.fill(0);
      this.secret = this.random(32);
      this.secretAt = now;
    }
    return mac(this.secret, utf8(source));
  }
}
