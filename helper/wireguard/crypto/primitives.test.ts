// Known-answer tests. Expected values come from RFCs and from implementations other than
// noble (Python's hashlib/hmac and OpenSSL via Python's cryptography), so they check our
// composition, not noble against itself.
import { describe, expect, it } from 'vitest';
import { hkdf } from '@noble/hashes/hkdf.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { fromHex, toHex, utf8, toBase64 } from '../bytes.js';
import { INITIAL_CHAINING_KEY, INITIAL_HASH } from '../noise/handshake.js';
import { dh, hash, hmacBlake2s, kdf, mac, publicKeyOf, generateKeyPair } from './primitives.js';
import { nobleAead, xopen, xseal } from './aead.js';
import { tai64n, isAfter } from '../noise/tai64n.js';

const range = (a: number, b: number) => Uint8Array.from({ length: b - a }, (_, i) => a + i);

describe('BLAKE2s, MAC, HMAC, KDF', () => {
  it('HASH("abc") (RFC 7693 appendix B)', () => {
    expect(toHex(hash(utf8('abc')))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  });
  it('the initial chaining key and hash of the construction (§5.4.2)', () => {
    expect(toHex(INITIAL_CHAINING_KEY)).toBe('60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36');
    expect(toHex(INITIAL_HASH)).toBe('2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3');
  });
  it('MAC is keyed BLAKE2s-128', () => {
    expect(toHex(mac(range(0, 32), utf8('hello')))).toBe('1f946dc212a39570bc06fd378517a91e');
  });
  it('KDF1..3 match HMAC-BLAKE2s computed by Python, and HKDF with an empty info', () => {
    const key = range(0, 32);
    const input = utf8('umbra kdf input');
    const [t1, t2, t3] = kdf(3, key, input);
    expect(toHex(t1)).toBe('e47770da1f58b848e8de59e2021f4ba93d69290ac2c518bb77ea9a65b2e23929');
    expect(toHex(t2)).toBe('45bae6dc1100f9aa594d8d223f31d19b6698197393609c0d6280f71a5c1ec240');
    expect(toHex(t3)).toBe('58f62a9a235271d79bf2788b9a3c9e5b4792897696c7485a577657feeac6dddd');
    expect(kdf(2, key, input)).toEqual([t1, t2]);
    expect(kdf(1, key, input)).toEqual([t1]);
    const h = hkdf(blake2s, input, key, new Uint8Array(0), 96);
    expect(h).toEqual(new Uint8Array([...t1, ...t2, ...t3]));
    expect(hmacBlake2s(key, input).length).toBe(32);
  });
});

describe('X25519', () => {
  it('RFC 7748 §6.1 key agreement vector', () => {
    const aPriv = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bPriv = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(toHex(publicKeyOf(aPriv))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(publicKeyOf(bPriv))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(toHex(dh(aPriv, publicKeyOf(bPriv))!)).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });
  it('refuses a low-order public key (all-zero shared secret)', () => {
    expect(dh(range(1, 33), new Uint8Array(32))).toBeNull();
  });
  it('generated private keys are clamped', () => {
    const k = generateKeyPair(() => new Uint8Array(32).fill(0xff));
    expect(k.privateKey[0]! & 7).toBe(0);
    expect(k.privateKey[31]! & 0x80).toBe(0);
    expect(k.privateKey[31]! & 0x40).toBe(0x40);
    expect(toBase64(k.publicKey)).toHaveLength(44);
  });
});

describe('AEAD', () => {
  const key = range(0x80, 0xa0);
  const counter = 0x000f1e2d3c4b5a69;
  const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
  const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  // OpenSSL's ChaCha20-Poly1305 with nonce 00000000 || LE64(counter), via Python's cryptography.
  const expected = 'a3809e0cd8039e1667ee8e6b7375a1e4e95aa93e3c3fff0e2f606e6776860dc0073408c6f0ad0795680b449acef2b33556f502ae7cd10e70efe7fac0231824188b15240717ec1d3132457cc4605c960e64f09cb1a1d6754c769c2f0f80a5a55ab72b9bc478865ed0a9f0b1fb9cbbfa900d84fec0136094977a8731427a59424e756d';

  it('seals with WireGuard\'s nonce layout', () => {
    const out = new Uint8Array(pt.length + 16);
    nobleAead.seal(key, counter, pt, pt.length, aad, out, 0);
    expect(toHex(out)).toBe(expected);
    expect(nobleAead.open(key, counter, out, aad)).toEqual(pt);
  });
  it('rejects a flipped bit, a wrong counter, a wrong AD, a short input', () => {
    const sealed = fromHex(expected);
    sealed[3]! ^= 1;
    expect(nobleAead.open(key, counter, sealed, aad)).toBeNull();
    expect(nobleAead.open(key, counter + 1, fromHex(expected), aad)).toBeNull();
    expect(nobleAead.open(key, counter, fromHex(expected), undefined)).toBeNull();
    expect(nobleAead.open(key, counter, new Uint8Array(5), aad)).toBeNull();
  });
  it('pads with zeros up to the padded length', () => {
    const out = new Uint8Array(32 + 16);
    nobleAead.seal(key, 1, Uint8Array.of(7, 7), 32, undefined, out, 0);
    const opened = nobleAead.open(key, 1, out, undefined)!;
    expect(opened).toEqual(Uint8Array.from([7, 7, ...new Uint8Array(30)]));
  });
  it('XChaCha20-Poly1305 round trip for cookies, bound to its AD', () => {
    const nonce = range(0, 24);
    const sealed = xseal(key, nonce, range(0, 16), aad);
    expect(sealed.length).toBe(32);
    expect(xopen(key, nonce, sealed, aad)).toEqual(range(0, 16));
    expect(xopen(key, nonce, sealed, new Uint8Array(16))).toBeNull();
  });
});

describe('TAI64N', () => {
  it('encodes 2^62 + 10 + seconds, then nanoseconds, big-endian', () => {
    expect(toHex(tai64n(1_700_000_000_123))).toBe('400000006553f10a' + '0754d4c0');
  });
  it('orders timestamps', () => {
    expect(isAfter(tai64n(2000), tai64n(1999))).toBe(true);
    expect(isAfter(tai64n(2000), tai64n(2000))).toBe(false);
  });
});
