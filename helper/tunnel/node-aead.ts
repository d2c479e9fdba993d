// A second AEAD backend on node:crypto (OpenSSL's ChaCha20-Poly1305), for the data path.
// It implements the protocol's Aead interface and is cross-checked against noble in the tests.
import { createCipheriv, createDecipheriv } from 'node:crypto';
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
