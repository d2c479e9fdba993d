// The AEAD behind a small interface, so the data path can use a faster backend (node:crypto,
// wired in from outside this pure folder) while noble stays the reference. Both are
// cross-checked on the same vectors in the tests.
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';

export const AEAD_TAG_LENGTH = 16;

export interface Aead {
  readonly name: string;
  /**
   * ChaCha20-Poly1305 with WireGuard's nonce: 32 zero bits then the 64-bit little-endian counter.
   * Encrypts `plaintext` followed by zeros up to `paddedLength` bytes, and writes
   * ciphertext||tag (paddedLength + 16 bytes) into `out` at `outOffset`.
   */
  seal(key: Uint8Array, counter: number, plaintext: Uint8Array, paddedLength: number, ad: Uint8Array | undefined, out: Uint8Array, outOffset: number): void;
  /** Decrypts ciphertext||tag into a new array; null when authentication fails. */
  open(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array | undefined): Uint8Array | null;
  /**
   * Optional, for transport data (no AD): decrypts ciphertext||tag over itself and returns the
   * plaintext as a view of `sealed`'s first bytes; null when authentication fails (`sealed` is
   * then garbage). Saves the data path an allocation per packet.
   */
  openInPlace?(key: Uint8Array, counter: number, sealed: Uint8Array): Uint8Array | null;
}

export function nonceFor(counter: number, nonce = new Uint8Array(12)): Uint8Array {
  nonce.fill(0, 0, 4);
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 0x1_0000_0000);
  nonce[4] = lo & 0xff; nonce[5] = (lo >>> 8) & 0xff; nonce[6] = (lo >>> 16) & 0xff; nonce[7] = lo >>> 24;
  nonce[8] = hi & 0xff; nonce[9] = (hi >>> 8) & 0xff; nonce[10] = (hi >>> 16) & 0xff; nonce[11] = hi >>> 24;
  return nonce;
}

export const nobleAead: Aead = {
  name: 'noble',
  seal(key, counter, plaintext, paddedLength, ad, out, outOffset) {
    let input = plaintext;
    if (paddedLength > plaintext.length) {
      input = new Uint8Array(paddedLength);
      input.set(plaintext);
    }
    const sealed = chacha20poly1305(key, nonceFor(counter), ad).encrypt(input);
    out.set(sealed, outOffset);
  },
  open(key, counter, sealed, ad) {
    if (sealed.length < AEAD_TAG_LENGTH) return null;
    try {
      return chacha20poly1305(key, nonceFor(counter), ad).decrypt(sealed);
    } catch {
      return null;
    }
  },
};

/** XChaCha20-Poly1305, used only for cookie replies (§5.4.7). */
export function xseal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

export function xopen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(sealed);
  } catch {
    return null;
  }
}
