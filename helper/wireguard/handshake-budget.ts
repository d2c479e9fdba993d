// How much handshake work strangers may ask of us (DESIGN convention 12). Handshake messages come
// in lanes, and each lane has its own token bucket, taken BEFORE any crypto (mac1 is a BLAKE2s,
// a cookie reply an XChaCha20-Poly1305 seal, an initiation a Curve25519 DH): a flood spends its own
// lane's tokens and is then dropped for the price of a comparison, while transport data is never
// budgeted at all.
//
//   expected  a response to our pending initiation: cheap to recognise (its receiver index must
//             be that initiation's), so it does not compete with floods
//   cookie    a cookie reply to a handshake message we sent that still awaits its answer (our
//             pending initiation, or a response whose session is unconfirmed). Its own lane: the
//             index it names may be seen on the wire, and a forged flood to it must not spend
//             the tokens real responses need
//   peer      an initiation from a peer's current endpoint (the server rekeying)
//   stranger  any other initiation
//
// Pure: time is a parameter (milliseconds).
import {
  COOKIE_REPLIES_PER_SECOND,
  EXPECTED_HANDSHAKES_PER_SECOND,
  PEER_HANDSHAKES_PER_SECOND,
  RECEIVED_COOKIE_REPLIES_PER_SECOND,
  STRANGER_HANDSHAKES_PER_SECOND,
} from './constants.js';

export type HandshakeLane = 'expected' | 'cookie' | 'peer' | 'stranger';

/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(private readonly rate: number, private readonly burst: number, now: number) {
    if (!(rate > 0 && burst >= 1)) throw new RangeError(`a token bucket needs rate > 0 and burst >= 1 (got ${rate}, ${burst})`);
    this.tokens = burst;
    this.at = now;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface HandshakeBudgetLimits {
  /** Messages a second per lane that may cost crypto; a burst of a quarter second is saved up. */
  expected: number;
  /** Cookie replies received. */
  cookie: number;
  peer: number;
  stranger: number;
  /** Cookie replies a second we send to strangers while under load. */
  cookieReplies: number;
}

const DEFAULT_HANDSHAKE_LIMITS: HandshakeBudgetLimits = {
  expected: EXPECTED_HANDSHAKES_PER_SECOND,
  cookie: RECEIVED_COOKIE_REPLIES_PER_SECOND,
  peer: PEER_HANDSHAKES_PER_SECOND,
  stranger: STRANGER_HANDSHAKES_PER_SECOND,
  cookieReplies: COOKIE_REPLIES_PER_SECOND,
};

const bucket = (rate: number, now: number): TokenBucket => new TokenBucket(rate, Math.max(1, Math.ceil(rate / 4)), now);

export class HandshakeBudget {
  private readonly lanes: Record<HandshakeLane, TokenBucket>;
  private readonly cookies: TokenBucket;

  constructor(now: number, limits: HandshakeBudgetLimits = DEFAULT_HANDSHAKE_LIMITS) {
    this.lanes = {
      expected: bucket(limits.expected, now),
      cookie: bucket(limits.cookie, now),
      peer: bucket(limits.peer, now),
      stranger: bucket(limits.stranger, now),
    };
    this.cookies = bucket(limits.cookieReplies, now);
  }

  /** Whether a message of this lane may be looked at (mac1 and on); false: drop it as it is. */
  admit(lane: HandshakeLane, now: number): boolean {
    return this.lanes[lane].take(now);
  }

  /** Whether a cookie reply may be sent, under load, to a message of this lane. */
  cookieReply(lane: HandshakeLane, now: number): boolean {
    // A peer's own lane is already bounded; strangers share one allowance.
    return lane !== 'stranger' || this.cookies.take(now);
  }
}

/**
 * Counts handshake messages dropped as a flood and says when to tell someone: once `every` ms
 * have passed since the first drop not yet told, with how many were dropped in that time.
 */
export class FloodReport {
  private dropped = 0;
  private since = 0;

  constructor(private readonly every: number) {}

  /** Counts one drop; returns what to report when a report is due, else undefined. */
  drop(now: number): { dropped: number; seconds: number } | undefined {
    if (this.dropped++ === 0) this.since = now;
    if (now - this.since < this.every) return undefined;
    const r = { dropped: this.dropped, seconds: Math.round((now - this.since) / 1000) };
    this.dropped = 0;
    return r;
  }
}
