// node:crypto's X25519 against RFC 7748's vectors and against noble (the reference) on random
// keys, and the same refusal of low-order points.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, nobleCurve } from '../wireguard/crypto/primitives.js';
import { nodeCurve, systemCurve } from './node-x25519.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
// RFC 7748 §6.1.
const ALICE = { priv: hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'), pub: hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a') };
const BOB = { priv: hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'), pub: hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f') };
const SHARED = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

describe('X25519 on node:crypto', () => {
  it("gives RFC 7748's public keys and shared secret", () => {
    expect(nodeCurve.publicKeyOf(ALICE.priv)).toEqual(ALICE.pub);
    expect(nodeCurve.publicKeyOf(BOB.priv)).toEqual(BOB.pub);
    expect(nodeCurve.dh(ALICE.priv, BOB.pub)).toEqual(SHARED);
    expect(nodeCurve.dh(BOB.priv, ALICE.pub)).toEqual(SHARED);
  });

  it('agrees with noble on random keys, both ways', () => {
    for (let i = 0; i < 20; i++) {
      const a = generateKeyPair((n) => new Uint8Array(randomBytes(n)), nodeCurve);
      const b = generateKeyPair((n) => new Uint8Array(randomBytes(n)));
      expect(a.publicKey).toEqual(nobleCurve.publicKeyOf(a.privateKey));
      expect(nodeCurve.dh(a.privateKey, b.publicKey)).toEqual(nobleCurve.dh(b.privateKey, a.publicKey));
    }
  });

  it('refuses a low-order public key as noble does (null, never an all-zero secret)', () => {
    const zero = new Uint8Array(32);
    const one = new Uint8Array(32);
    one[0] = 1;
    for (const bad of [zero, one]) {
      expect(nobleCurve.dh(ALICE.priv, bad)).toBeNull();
      expect(nodeCurve.dh(ALICE.priv, bad)).toBeNull();
    }
  });

  it('answers for the bytes an array holds now, not the key it held when first used', () => {
    // The engine reuses and wipes its arrays; a key parsed once per array must follow them.
    const key = ALICE.priv.slice();
    const peer = BOB.pub.slice();
    expect(nodeCurve.publicKeyOf(key)).toEqual(ALICE.pub);
    expect(nodeCurve.dh(key, peer)).toEqual(SHARED);
    key.set(BOB.priv);
    peer.set(ALICE.pub);
    expect(nodeCurve.publicKeyOf(key)).toEqual(BOB.pub);
    expect(nodeCurve.dh(key, peer)).toEqual(SHARED);
    peer.set(BOB.pub);
    expect(nodeCurve.dh(key, peer)).toEqual(nobleCurve.dh(BOB.priv, BOB.pub));
    key.fill(0);
    expect(nodeCurve.publicKeyOf(key)).toEqual(nobleCurve.publicKeyOf(new Uint8Array(32)));
  });

  it('is the one this runtime uses', () => {
    expect(systemCurve()).toBe(nodeCurve);
  });
});
