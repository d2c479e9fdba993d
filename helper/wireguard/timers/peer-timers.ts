// The per-peer timers of §6 as plain deadlines: events set or clear them, and `due(now)` says
// which have fired. Nothing here reads a clock; the tunnel calls `Device.tick(now)`.
import {
  KEEPALIVE_TIMEOUT,
  QUIET_PROBE_AFTER,
  KEY_ZEROING_TIME,
  REKEY_ATTEMPT_TIME,
  REKEY_TIMEOUT,
} from '../constants.js';

export type TimerAction =
  /** Resend the initiation: no response came within REKEY_TIMEOUT (+ jitter). */
  | 'retransmit-handshake'
  /** Stop retrying: REKEY_ATTEMPT_TIME has passed without a response (§6.4). */
  | 'give-up-handshake'
  /** We received data and sent nothing back for KEEPALIVE_TIMEOUT: send a keepalive (§6.5). */
  | 'send-keepalive'
  /** We sent data and heard nothing for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: the session may be dead. */
  | 'new-handshake'
  /** We sent data and heard nothing for QUIET_PROBE_AFTER: try a handshake early (ours, see constants). */
  | 'probe-handshake'
  /** No new session for three times REJECT_AFTER_TIME: erase every key (§6.1). */
  | 'zero-keys'
  /** The user's PersistentKeepalive interval passed with no packet either way. */
  | 'persistent-keepalive';

const NEVER = Infinity;

export class PeerTimers {
  private retransmitAt = NEVER;
  private attemptStartedAt = NEVER;
  private keepaliveAt = NEVER;
  private newHandshakeAt = NEVER;
  private probeAt = NEVER;
  /** The first data sent since we last heard anything authenticated; NEVER when nothing is unanswered. */
  private unansweredSince = NEVER;
  private lastDataSentAt = NEVER;
  /** The probe came due after a single packet: it fires with the next one (a lone datagram nobody answers is no sign of a dead session). */
  private probeOnNextData = false;
  private zeroKeysAt = NEVER;
  private persistentAt = NEVER;

  /** Seconds; 0 turns persistent keepalive off. */
  constructor(private persistentKeepalive = 0) {}

  setPersistentKeepalive(seconds: number, now: number): void {
    this.persistentKeepalive = seconds;
    this.persistentAt = seconds > 0 ? now + seconds * 1000 : NEVER;
  }

  get handshakeInProgress(): boolean {
    return this.retransmitAt !== NEVER;
  }

  /** When the current series of unanswered initiations began; undefined when none is failing. */
  get handshakeAttemptSince(): number | undefined {
    return this.attemptStartedAt === NEVER ? undefined : this.attemptStartedAt;
  }

  /** An initiation was sent; `jitter` is random in [0, REKEY_TIMEOUT_JITTER_MAX]. */
  handshakeInitiated(now: number, jitter: number): void {
    if (this.attemptStartedAt === NEVER) this.attemptStartedAt = now;
    this.retransmitAt = now + REKEY_TIMEOUT + jitter;
  }

  /** A handshake finished (either role): retries stop, key erasure moves out. */
  handshakeComplete(now: number): void {
    this.retransmitAt = NEVER;
    this.attemptStartedAt = NEVER;
    this.zeroKeysAt = now + KEY_ZEROING_TIME;
  }

  /** Since when data we sent has gone unanswered (nothing authenticated heard since); undefined when it has not. */
  get quietSince(): number | undefined {
    return this.unansweredSince === NEVER ? undefined : this.unansweredSince;
  }

  /** The probe could not send yet (at most one initiation per REKEY_TIMEOUT): try again at `at`, if still unanswered. */
  probeAgainAt(at: number): void {
    if (this.unansweredSince !== NEVER) this.probeAt = at;
  }

  /** A non-keepalive data packet was sent. */
  dataSent(now: number): void {
    if (this.newHandshakeAt === NEVER) this.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
    if (this.unansweredSince === NEVER) {
      this.unansweredSince = now;
      this.probeAt = now + QUIET_PROBE_AFTER;
    } else if (this.probeOnNextData) {
      this.probeOnNextData = false;
      this.probeAt = now;
    }
    this.lastDataSentAt = now;
  }

  /** A non-keepalive data packet was received and authenticated. */
  dataReceived(now: number): void {
    if (this.keepaliveAt === NEVER) this.keepaliveAt = now + KEEPALIVE_TIMEOUT;
  }

  /** Any authenticated packet (data, keepalive or handshake) was sent. */
  anyAuthenticatedSent(now: number): void {
    this.keepaliveAt = NEVER;
    this.touchPersistent(now);
  }

  /** Any authenticated packet was received. */
  anyAuthenticatedReceived(now: number): void {
    this.newHandshakeAt = NEVER;
    this.probeAt = this.unansweredSince = NEVER;
    this.probeOnNextData = false;
    this.touchPersistent(now);
  }

  /** Everything off: the peer is being removed or its keys were erased. */
  stop(): void {
    this.retransmitAt = this.attemptStartedAt = this.keepaliveAt = NEVER;
    this.newHandshakeAt = this.zeroKeysAt = this.persistentAt = NEVER;
    this.probeAt = this.unansweredSince = this.lastDataSentAt = NEVER;
    this.probeOnNextData = false;
  }

  /** The actions whose deadline has passed; each fires once and is disarmed. */
  due(now: number): TimerAction[] {
    const out: TimerAction[] = [];
    // First: after a long gap (a suspend) erasing the old keys must not also wipe the initiation
    // another action of this same tick sends.
    if (now >= this.zeroKeysAt) {
      this.zeroKeysAt = NEVER;
      out.push('zero-keys');
    }
    if (now >= this.retransmitAt) {
      this.retransmitAt = NEVER;
      if (now - this.attemptStartedAt >= REKEY_ATTEMPT_TIME) {
        this.attemptStartedAt = NEVER;
        out.push('give-up-handshake');
      } else {
        out.push('retransmit-handshake');
      }
    }
    if (now >= this.keepaliveAt) {
      this.keepaliveAt = NEVER;
      out.push('send-keepalive');
    }
    if (now >= this.newHandshakeAt) {
      this.newHandshakeAt = NEVER;
      out.push('new-handshake');
    }
    if (now >= this.probeAt) {
      this.probeAt = NEVER;
      if (this.lastDataSentAt > this.unansweredSince) out.push('probe-handshake');
      else this.probeOnNextData = true;
    }
    if (now >= this.persistentAt) {
      this.persistentAt = NEVER;
      out.push('persistent-keepalive');
    }
    return out;
  }

  /** The earliest armed deadline, so a driver can sleep until then. */
  nextDeadline(): number {
    return Math.min(this.retransmitAt, this.keepaliveAt, this.newHandshakeAt, this.probeAt, this.zeroKeysAt, this.persistentAt);
  }

  private touchPersistent(now: number): void {
    if (this.persistentKeepalive > 0) this.persistentAt = now + this.persistentKeepalive * 1000;
  }
}
