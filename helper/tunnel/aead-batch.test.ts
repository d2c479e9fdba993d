// The batch AEAD against noble: deferred seals come out as noble's, opens in place authenticate
// what noble sealed and refuse what was changed, on both of the addon's paths (OpenSSL's cores
// and EVP), and a bad job changes nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../platform/native.js';
import { nobleAead } from '../wireguard/crypto/aead.js';
import { AeadBatch, MAX_JOBS, loadAeadBatchAddon, type AeadBatchAddon } from './aead-batch.js';
import { loadNativeAead } from './node-aead.js';

const addon = loadAeadBatchAddon();
const direct = loadNativeAead();
const impl = (loadNative() as unknown as { aeadImpl(name?: string): string }).aeadImpl;
const startImpl = impl();
afterAll(() => {
  if (startImpl === 'cores' || startImpl === 'evp') impl(startImpl);
});

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const sealedByNoble = (key: Uint8Array, counter: number, plain: Uint8Array, padded: number) => {
  const out = new Uint8Array(padded + 16);
  nobleAead.seal(key, counter, plain, padded, undefined, out, 0);
  return out;
};

const paths = ['cores', 'evp'].filter((p) => {
  try {
    impl(p);
    return true;
  } catch {
    return false; // this Node's OpenSSL lacks it
  }
});

describe.skipIf(!addon || !direct)('AeadBatch (the addon, one call a batch)', () => {
  for (const path of paths) {
    describe(path, () => {
      it('seals nothing until run(), then writes what noble writes, for several keys and counters past 2^32', () => {
        impl(path);
        const batch = new AeadBatch(addon!, direct!);
        const arena = new Uint8Array(256 * 1024); // a TUN read buffer: the plaintexts
        const out = new Uint8Array(256 * 1024); // a send buffer
        const keys = [random(32), random(32), random(32)];
        const cases = [0, 1, 15, 16, 17, 100, 1379, 1420].map((len, i) => ({
          key: keys[i % 3]!,
          counter: [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 7, 2 ** 53 - 1, 77, 123456789][i]!,
          len,
          padded: len === 0 ? 0 : Math.min(Math.ceil(len / 16) * 16, 1420),
          at: i * 2000,
          outAt: 16 + i * 2000,
        }));
        for (const c of cases) arena.set(random(c.len), c.at);
        for (const c of cases) batch.aead.seal(c.key, c.counter, arena.subarray(c.at, c.at + c.len), c.padded, undefined, out, c.outAt);
        expect(batch.pending).toBe(cases.length);
        expect(out.every((b) => b === 0)).toBe(true);
        // The engine may wipe a retired key before the run: the batch keeps its own copy.
        const wanted = cases.map((c) => sealedByNoble(c.key, c.counter, arena.subarray(c.at, c.at + c.len), c.padded));
        keys[0]!.fill(0);
        batch.run();
        expect(batch.pending).toBe(0);
        for (const [i, c] of cases.entries()) expect(out.subarray(c.outAt, c.outAt + c.padded + 16)).toEqual(wanted[i]);
      });

      it('opens in place what noble sealed, and says which did not authenticate', () => {
        impl(path);
        const batch = new AeadBatch(addon!, direct!);
        const slots = new Uint8Array(128 * 1024); // a receive buffer of datagrams
        const key = random(32);
        const plains = [0, 16, 48, 1420].map((n) => random(n));
        const at = plains.map((_, i) => i * 4096);
        plains.forEach((p, i) => slots.set(sealedByNoble(key, 1000 + i, p, p.length), at[i]! + 16));
        slots[at[2]! + 16 + 3]! ^= 1; // one bit changed in transit
        for (const [i, p] of plains.entries()) {
          expect(batch.queueOpen(key, 1000 + i, slots.subarray(at[i]!, at[i]! + 16 + p.length + 16), 16)).toBe(true);
        }
        const authentic = new Uint8Array(4).fill(9);
        batch.run(authentic);
        expect([...authentic]).toEqual([1, 1, 0, 1]);
        for (const i of [0, 1, 3]) expect(slots.subarray(at[i]! + 16, at[i]! + 16 + plains[i]!.length)).toEqual(plains[i]);
        // The wrong counter is the wrong nonce: refused too.
        const again = sealedByNoble(key, 5, plains[1]!, 16);
        expect(batch.queueOpen(key, 6, again, 0)).toBe(true);
        batch.run(authentic);
        expect(authentic[0]).toBe(0);
      });
    });
  }

  it('leaves seals it cannot queue to the direct backend: with AD, or once the table is full', () => {
    const batch = new AeadBatch(addon!, direct!);
    const key = random(32);
    const plain = random(40);
    const out = new Uint8Array(64 * 1024);
    const ad = random(32);
    batch.aead.seal(key, 3, plain, 48, ad, out, 0); // a handshake's seal: at once
    expect(batch.pending).toBe(0);
    const withAd = new Uint8Array(64);
    nobleAead.seal(key, 3, plain, 48, ad, withAd, 0);
    expect(out.subarray(0, 64)).toEqual(withAd);
    for (let i = 0; i < MAX_JOBS; i++) batch.aead.seal(key, i, plain, 48, undefined, out, 64);
    expect(batch.pending).toBe(MAX_JOBS);
    batch.aead.seal(key, 9999, plain, 48, undefined, out, 1000); // full: at once
    expect(out.subarray(1000, 1064)).toEqual(sealedByNoble(key, 9999, plain, 48));
    expect(batch.queueOpen(key, 1, out, 1000)).toBe(false);
    batch.run();
  });

  it('leaves a seal the addon would refuse to the direct call, which throws at once', () => {
    const batch = new AeadBatch(addon!, direct!);
    const key = random(32);
    const out = new Uint8Array(64 * 1024);
    expect(() => batch.aead.seal(key, 1, random(40), 32, undefined, out, 0)).toThrow(/paddedLength/);
    expect(() => batch.aead.seal(key, 1, random(40), 48, undefined, out, out.length - 40)).toThrow(/too small/);
    expect(batch.pending).toBe(0);
  });

  it('discard() drops the jobs and wipes its copies of the keys', () => {
    const batch = new AeadBatch(addon!, direct!);
    const out = new Uint8Array(64 * 1024);
    batch.aead.seal(random(32), 1, random(40), 48, undefined, out, 0);
    batch.discard();
    expect(batch.pending).toBe(0);
    const copies = (batch as unknown as { keys: Uint8Array }).keys;
    expect(copies.every((b) => b === 0)).toBe(true);
    batch.run();
    expect(out.every((b) => b === 0)).toBe(true);
  });

  it('refuses a job whose output would land on the keys or results', () => {
    const keys = random(64);
    const results = new Uint8Array(2);
    const jobs = Int32Array.of(0, 0, 1, 0, 0, 0, 10, 16, 0, 0);
    expect(() => addon!.aeadBatch(jobs, 1, keys, [keys], results)).toThrow(/overlaps the keys or results/);
    const big = new Uint8Array(256);
    const inside = big.subarray(100, 102);
    jobs[9] = 90;
    expect(() => addon!.aeadBatch(jobs, 1, keys, [big], inside)).toThrow(/overlaps the keys or results/);
  });

  it('refuses a job outside its buffer before doing any, so no memory changes', () => {
    const jobs = new Int32Array(20);
    const key = random(32);
    const buf = new Uint8Array(100);
    jobs.set([0, 0, 1, 0, 0, 0, 10, 16, 0, 40]); // a good seal into buf[40..72)
    jobs.set([0, 0, 2, 0, 0, 0, 10, 16, 0, 90], 10); // its output would run past the end
    const results = new Uint8Array(2);
    expect(() => addon!.aeadBatch(jobs, 2, key, [buf], results)).toThrow(/outside its buffer/);
    expect(buf.every((b) => b === 0)).toBe(true);
    jobs[11] = 1; // key 1 of a 32-byte table
    jobs[19] = 40;
    expect(() => addon!.aeadBatch(jobs, 2, key, [buf], results)).toThrow(/key is not in keys/);
    expect(() => addon!.aeadBatch(jobs, 3, key, [buf], results)).toThrow(/fewer than count/);
    expect(() => (addon as AeadBatchAddon).aeadBatch(jobs, 1, key, [buf, 'x' as unknown as Uint8Array], results)).toThrow(/Uint8Array/);
  });
});
