// Sliding-window replay protection for transport counters, as RFC 6479 lays it out: a ring of
// 32-bit words; moving the window forward clears whole words instead of shifting bits.
import { MAX_COUNTER, REPLAY_WINDOW_WORDS } from '../constants.js';

const WORD_BITS = 32;

export class ReplayWindow {
  /** How far behind the newest counter a packet may arrive and still be accepted. */
  static readonly SIZE = (REPLAY_WINDOW_WORDS - 1) * WORD_BITS;
  private readonly words = new Uint32Array(REPLAY_WINDOW_WORDS);
  private newest = 0;

  /** Whether `counter` could be accepted; changes nothing (called before decrypting). */
  check(counter: number): boolean {
    if (counter < 0 || counter >= MAX_COUNTER) return false;
    if (counter > this.newest) return true;
    if (this.newest - counter >= ReplayWindow.SIZE) return false;
    const word = Math.floor(counter / WORD_BITS) % REPLAY_WINDOW_WORDS;
    return (this.words[word]! & (1 << (counter % WORD_BITS))) === 0;
  }

  /** Records an authenticated counter; false when it is a replay or too old. */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.newest) {
      const from = Math.floor(this.newest / WORD_BITS);
      const to = Math.floor(counter / WORD_BITS);
      const clear = Math.min(to - from, REPLAY_WINDOW_WORDS);
      for (let i = 1; i <= clear; i++) this.words[(from + i) % REPLAY_WINDOW_WORDS] = 0;
      this.newest = counter;
    }
    const word = Math.floor(counter / WORD_BITS) % REPLAY_WINDOW_WORDS;
    this.words[word]! |= 1 << (counter % WORD_BITS);
    return true;
  }
}
