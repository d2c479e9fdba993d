// A keypair: the two transport keys of one completed handshake, with the counters and replay
// window that go with them (§5.4.6). A peer holds up to three: previous, current and next.
import { REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME, MAX_COUNTER } from '../constants.js';
import { wipe } from '../bytes.js';
import type { SessionKeys } from '../noise/handshake.js';
import { ReplayWindow } from './replay-window.js';

const SEND_LIMIT = Math.min(REJECT_AFTER_MESSAGES, MAX_COUNTER);
const REKEY_LIMIT = Math.min(REKEY_AFTER_MESSAGES, MAX_COUNTER - 2 ** 20);

export class Keypair {
  sendCounter = 0;
  readonly replay = new ReplayWindow();

  constructor(
    readonly keys: SessionKeys,
    readonly localIndex: number,
    readonly remoteIndex: number,
    /** Whether we initiated the handshake: only the initiator rekeys on age (§6.2). */
    readonly initiator: boolean,
    readonly createdAt: number,
  ) {}

  /** Neither send nor receive on a keypair past REJECT_AFTER_TIME (§6.1). */
  isExpired(now: number): boolean {
    return now - this.createdAt >= REJECT_AFTER_TIME;
  }

  canSend(now: number): boolean {
    return !this.isExpired(now) && this.sendCounter < SEND_LIMIT;
  }

  /** §6.2: the initiator of a keypair starts a new handshake once it is old or well used. */
  needsRekeyAfterSend(now: number): boolean {
    return this.sendCounter >= REKEY_LIMIT || (this.initiator && now - this.createdAt >= REKEY_AFTER_TIME);
  }

  wipe(): void {
    wipe(this.keys.sendKey, this.keys.receiveKey);
  }
}
