// The node:crypto and native (addon) backends must agree with noble byte for byte, on the known
// vector and on random inputs, and all must refuse what the others refuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../platform/native.js';
import fc from 'fast-check';
import { nobleAead, type Aead } from '../wireguard/crypto/aead.js';
import { fromHex, utf8, toHex } from '../wireguard/bytes.js';
import { loadNativeAead, nodeAead } from './node-aead.js';
import { Pair } from '../wireguard/testing/pair.js';

const nativeAead = loadNativeAead();
// The addon composes OpenSSL's ChaCha20 and Poly1305 cores where Node exports them, else uses
// EVP; both are held to the same tests.
const impl = (() => {
  try {
    return (loadNative() as unknown as { aeadImpl?: (name?: 'cores' | 'evp') => string }).aeadImpl;
  } catch {
    return undefined;
  }
})();
const nativeImpls = impl ? [...new Set(['evp', impl()])] : [];

const backends: [string, Aead | undefined, string | undefined][] = [
  ['node:crypto', nodeAead, undefined],
  ...nativeImpls.map((i): [string, Aead | undefined, string] => ['native', nativeAead, i]),
];
if (nativeImpls.length === 0) backends.push(['native', undefined, undefined]);

for (const [name, backend, nativeImpl] of backends) {
  describe.skipIf(backend === undefined)(`${name}${nativeImpl ? ` (${nativeImpl})` : ''} AEAD backend${backend ? '' : ' (skipped: the addon is not built)'}`, () => {
    const aead = backend as Aead;
    beforeAll(() => {
      if (nativeImpl) impl!(nativeImpl as 'cores' | 'evp');
    });
    afterAll(() => {
      if (nativeImpl) impl!(nativeImpls.at(-1) as 'cores' | 'evp');
    });

    it('matches the known vector', () => {
      const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
      const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
      const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
      const out = new Uint8Array(pt.length + 16);
      aead.seal(key, 0x000f1e2d3c4b5a69, pt, pt.length, aad, out, 0);
      expect(toHex(out)).toBe('a3809e0cd8039e1667ee8e6b7375a1e4e95aa93e3c3fff0e2f606e6776860dc0073408c6f0ad0795680b449acef2b33556f502ae7cd10e70efe7fac0231824188b15240717ec1d3132457cc4605c960e64f09cb1a1d6754c769c2f0f80a5a55ab72b9bc478865ed0a9f0b1fb9cbbfa900d84fec0136094977a8731427a59424e756d');
    });

    it('agrees with noble on random keys, counters, lengths, padding and AD', () => {
      fc.assert(fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ maxLength: 1500 }),
        fc.integer({ min: 0, max: 40 }),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        (key, counter, pt, extra, ad) => {
          const padded = pt.length + extra;
          const a = new Uint8Array(padded + 16 + 3);
          const b = new Uint8Array(padded + 16 + 3);
          nobleAead.seal(key, counter, pt, padded, ad, a, 3);
          aead.seal(key, counter, pt, padded, ad, b, 3);
          expect(toHex(b)).toBe(toHex(a));
          const sealed = a.subarray(3);
          expect(toHex(aead.open(key, counter, sealed, ad)!)).toBe(toHex(nobleAead.open(key, counter, sealed, ad)!));
          const bad = sealed.slice();
          bad[bad.length - 1]! ^= 1;
          expect(aead.open(key, counter, bad, ad)).toBeNull();
          expect(nobleAead.open(key, counter, bad, ad)).toBeNull();
        },
      ), { numRuns: 300 });
    });

    it('decrypts in place (when it offers that) exactly what open() decrypts, and refuses the same', () => {
      fc.assert(fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ maxLength: 1500 }),
        fc.boolean(),
        (key, counter, pt, tamper) => {
          if (!aead.openInPlace) return;
          const sealed = new Uint8Array(pt.length + 16);
          nobleAead.seal(key, counter, pt, pt.length, undefined, sealed, 0);
          if (tamper) sealed[sealed.length - 1]! ^= 1;
          const expected = nobleAead.open(key, counter, sealed, undefined);
          const got = aead.openInPlace(key, counter, sealed);
          if (expected === null) {
            expect(got).toBeNull();
          } else {
            expect(toHex(got!)).toBe(toHex(expected));
            expect(got!.buffer).toBe(sealed.buffer); // a view, not a copy
          }
        },
      ), { numRuns: 200 });
    });

    it('refuses what is too short to hold a tag, and checks its arguments', () => {
      expect(aead.open(new Uint8Array(32), 0, new Uint8Array(15), undefined)).toBeNull();
      expect(aead.openInPlace?.(new Uint8Array(32), 0, new Uint8Array(15)) ?? null).toBeNull();
      if (name === 'native') {
        expect(() => aead.seal(new Uint8Array(31), 0, new Uint8Array(1), 1, undefined, new Uint8Array(17), 0)).toThrow(/32 bytes/);
        expect(() => aead.seal(new Uint8Array(32), 0, new Uint8Array(1), 1, undefined, new Uint8Array(16), 0)).toThrow(/too small/);
        expect(() => aead.seal(new Uint8Array(32), -1, new Uint8Array(1), 1, undefined, new Uint8Array(17), 0)).toThrow(RangeError);
      }
    });

    it(`a device on ${name} talks to a device on noble`, () => {
      const p = new Pair({ aead, aeadB: nobleAead });
      expect(p.aToB(new Uint8Array(1000).fill(7))).toBe(true);
      expect(p.bToA()).toBe(true);
    });
  });
}
