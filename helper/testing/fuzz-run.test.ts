// The fuzz harness itself: a leak, a hang, a slow input and a dropped rejection each fail.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fuzz, fuzzAsync } from './fuzz-run.js';
const kept: unknown[] = [];
it('a leak fails', async () => {
  await expect(fuzz(fc.string(), (s) => { kept.push(new Array(200).fill(s)); }, { runs: 20_000 })).rejects.toThrow(/heap grew/);
});
it('no leak passes', async () => {
  const r = await fuzz(fc.string(), (s) => { new Array(200).fill(s); }, { runs: 20_000 });
  expect(r.heapGrowthBytes).toBeLessThan(16 * 1024 * 1024);
});
it('a hang is stopped and named', async () => {
  await expect(fuzz(fc.constant('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'), (s) => { /^(a+)+$/.test(s); }, { runs: 10, watchdogMs: 1000 })).rejects.toThrow(/hang: .*aaaa/);
});
it('a slow input is named', async () => {
  const e = await fuzz(fc.constant('x'), () => { const t = Date.now(); while (Date.now() - t < 30); }, { runs: 10, maxMsPerInput: 10 }).catch((err: Error) => err);
  expect((e as Error).message).toMatch(/FUZZ_SEED=/);
  expect(String((e as Error).cause)).toMatch(/took \d+ ms.*"x"/);
});
it('an unhandled rejection fails', async () => {
  await expect(fuzzAsync(fc.constant(1), async () => { void Promise.reject(new Error('dropped')); }, { runs: 10 })).rejects.toThrow(/unhandled rejection.*dropped/);
});
