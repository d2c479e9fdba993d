// AEAD backends for the data path, both OpenSSL's ChaCha20-Poly1305: node:crypto, and the native
// addon (faster). They implement the protocol's Aead interface and are cross-checked against
// noble in the tests.
import { createCipheriv, createDecipheriv, getCiphers } from 'node:crypto';
import { loadNative } from '../platform/native.js';
import { AEAD_TAG_LENGTH, nonceFor, type Aead } from '../wireguard/crypto/aead.js';

const ZEROS = new Uint8Array(16);
const nonce = new Uint8Array(12);

export const nodeAead: Aead = {
  name: 'node:crypto',
  seal(key, counter, plaintext, paddedLength, ad, out, outOffset) {
    const c = createCipheriv('chacha20-poly1305', key, nonceFor(counter, nonce), { authTagLength: AEAD_TAG_LENGTH });
    if (ad) c.setAAD(ad, { plaintextLength: paddedLength });
    let o = outOffset;
    const a = c.update(plaintext);
    out.set(a, o);
    o += a.length;
    const pad = paddedLength - plaintext.length;
    if (pad > 0) {
      const b = c.update(pad <= 16 ? ZEROS.subarray(0, pad) : new Uint8Array(pad));
      out.set(b, o);
      o += b.length;
    }
    const f = c.final();
    out.set(f, o);
    out.set(c.getAuthTag(), outOffset + paddedLength);
  },
  open(key, counter, sealed, ad) {
    const n = sealed.length - AEAD_TAG_LENGTH;
    if (n < 0) return null;
    try {
      const d = createDecipheriv('chacha20-poly1305', key, nonceFor(counter, nonce), { authTagLength: AEAD_TAG_LENGTH });
      if (ad) d.setAAD(ad, { plaintextLength: n });
      d.setAuthTag(sealed.subarray(n));
      const plain = d.update(sealed.subarray(0, n));
      d.final();
      return plain;
    } catch {
      return null;
    }
  },
};

interface AeadAddon {
  aeadSeal(key: Uint8Array, counter: number, plaintext: Uint8Array, paddedLength: number, ad: Uint8Array | undefined, out: Uint8Array, outOffset: number): void;
  aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array | undefined, out: Uint8Array, outOffset: number): boolean;
  /** 'cores' | 'evp', or 'none' where this Node's crypto library has neither. */
  aeadImpl(name?: 'cores' | 'evp'): string;
}

/** Whether node:crypto has ChaCha20-Poly1305 (Electron's BoringSSL-based Node may not). */
export function nodeCryptoHasChaCha(): boolean {
  return getCiphers().includes('chacha20-poly1305');
}

/**
 * The same AEAD through the native addon: OpenSSL's ChaCha20-Poly1305 with one reusable context
 * instead of a cipher object per packet, or its ChaCha20 and Poly1305 cores directly (several
 * times less time per packet than node:crypto here; see helper/native/src/aead.cc).
 * Undefined when the addon is missing or predates it; the tunnel then uses nodeAead.
 */
export function loadNativeAead(): Aead | undefined {
  let addon: Partial<AeadAddon>;
  try {
    addon = loadNative() as Partial<AeadAddon>;
  } catch {
    return undefined;
  }
  const { aeadSeal, aeadOpen, aeadImpl } = addon;
  if (typeof aeadSeal !== 'function' || typeof aeadOpen !== 'function') return undefined;
  // Under Electron's Node (BoringSSL) neither the cores nor the EVP cipher may exist.
  if (typeof aeadImpl === 'function' && aeadImpl() === 'none') return undefined;
  return {
    name: 'native',
    seal: aeadSeal,
    open(key, counter, sealed, ad) {
      const n = sealed.length - AEAD_TAG_LENGTH;
      if (n < 0) return null;
      // allocUnsafe takes small sizes from Node's pool (no zeroing, no new backing store); every
      // byte is written by the decryption, and nothing is returned when it does not authenticate.
      const plain = Buffer.allocUnsafe(n);
      return aeadOpen(key, counter, sealed, ad, plain, 0) ? plain : null;
    },
    openInPlace(key, counter, sealed) {
      const n = sealed.length - AEAD_TAG_LENGTH;
      if (n < 0) return null;
      return aeadOpen(key, counter, sealed, undefined, sealed, 0) ? sealed.subarray(0, n) : null;
    },
  };
}
