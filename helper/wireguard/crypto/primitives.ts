// The whitepaper's primitives (§5.4): HASH, MAC, HMAC, KDF_n, DH, DH-GENERATE, built on noble.
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { isZero } from '../bytes.js';

const KEY_LENGTH = 32;

export function assertKey(k: Uint8Array, what: string): void {
  if (!(k instanceof Uint8Array) || k.length !== KEY_LENGTH) {
    throw new TypeError(`${what} must be ${KEY_LENGTH} bytes`);
  }
}

/** HASH(input): BLAKE2s with a 32-byte digest. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create({ dkLen: 32 });
  for (const p of parts) h.update(p);
  return h.digest();
}

/** MAC(key, input): keyed BLAKE2s with a 16-byte digest. */
export function mac(key: Uint8Array, input: Uint8Array): Uint8Array {
  return blake2s(input, { key, dkLen: 16 });
}

/** HMAC(key, input) over BLAKE2s-256. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(blake2s, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

const ONE = Uint8Array.of(1);

/** KDF_n(key, input): n 32-byte outputs (n = 1, 2 or 3), HKDF with HMAC-BLAKE2s. */
export function kdf(n: 1, key: Uint8Array, input: Uint8Array): [Uint8Array];
export function kdf(n: 2, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array];
export function kdf(n: 3, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array];
export function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const prk = hmacBlake2s(key, input);
  const out: Uint8Array[] = [];
  let prev = hmacBlake2s(prk, ONE);
  out.push(prev);
  for (let i = 2; i <= n; i++) {
    prev = hmacBlake2s(prk, prev, Uint8Array.of(i));
    out.push(prev);
  }
  prk.fill(0);
  return out;
}

export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * X25519 behind a small interface, like the AEAD: a faster backend (node:crypto's, wired in from
 * outside this pure folder) can replace noble, which stays the reference; the tests cross-check
 * them. noble's first public key also builds its base-point table (tens of ms): a cold start
 * pays that unless a native backend is used.
 */
export interface Curve25519 {
  readonly name: string;
  /** The public key of a (clamped) private key. */
  publicKeyOf(privateKey: Uint8Array): Uint8Array;
  /** DH(private, public); null for a low-order public key (an all-zero shared secret), which a handshake must reject. */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
}

export const nobleCurve: Curve25519 = {
  name: 'noble',
  publicKeyOf: (privateKey) => x25519.getPublicKey(privateKey),
  dh(privateKey, publicKey) {
    try {
      const shared = x25519.getSharedSecret(privateKey, publicKey);
      return isZero(shared) ? null : shared;
    } catch {
      return null;
    }
  },
};

/** DH-GENERATE: a clamped Curve25519 private key from 32 random bytes, and its public key. */
export function generateKeyPair(random: (n: number) => Uint8Array, curve: Curve25519 = nobleCurve): KeyPair {
  const privateKey = random(32);
  privateKey[0]! &= 248;
  privateKey[31]! &= 127;
  privateKey[31]! |= 64;
  return { privateKey, publicKey: curve.publicKeyOf(privateKey) };
}

export function publicKeyOf(privateKey: Uint8Array, curve: Curve25519 = nobleCurve): Uint8Array {
  assertKey(privateKey, 'private key');
  return curve.publicKeyOf(privateKey);
}

/** DH(private, public) on noble; null for a low-order public key. */
export const dh = (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null => nobleCurve.dh(privateKey, publicKey);
