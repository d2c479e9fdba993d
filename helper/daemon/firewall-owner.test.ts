import { describe, expect, it } from 'vitest';
import type { FirewallSpec, TableState } from '../platform/firewall/firewall.js';
import { bootSpec } from '../platform/firewall/ruleset.js';
import { FirewallOwner, kindOf } from './firewall-owner.js';

const PLAIN = bootSpec({ fwmark: 1 });
const BLOCK: FirewallSpec = { ...PLAIN, endpoints: [{ address: '203.0.113.2', port: 51820 }] };
const GUARD: FirewallSpec = { ...BLOCK, block: false, tunnelInterface: 'umbra0', tunnelAddresses: ['100.64.0.2'] };

function owner(opts: { applyError?: Error; table?: TableState } = {}) {
  const calls: string[] = [];
  let changes = 0;
  const o = new FirewallOwner(
    {
      apply: async (spec) => {
        calls.push(spec === PLAIN ? 'apply plain' : `apply ${kindOf(spec)}`);
        if (opts.applyError && spec !== PLAIN) throw opts.applyError;
      },
      remove: async () => void calls.push('remove'),
      read: async () => opts.table ?? { present: false },
    },
    PLAIN,
    () => undefined,
    () => changes++,
  );
  return { o, calls, changes: () => changes };
}

describe('FirewallOwner', () => {
  it('a blocking spec that cannot be built falls back to the plain block, never to none', async () => {
    const { o, calls } = owner({ applyError: new RangeError('endpoints[0].port: out of range') });
    await o.set(BLOCK);
    expect(calls).toEqual(['apply block', 'apply plain']);
    expect(o.wanted).toBe(PLAIN);
    expect(o.kernel).toBe('block');
  });

  it('a kernel that refuses is the caller\'s to handle: it throws and claims nothing', async () => {
    const { o } = owner({ applyError: new Error('nft: Operation not permitted') });
    await expect(o.set(BLOCK)).rejects.toThrow(/not permitted/);
    expect(o.kernel).toBe('none');
    expect(o.wanted).toBeUndefined();
  });

  it('the same policy set again while its first set is still going in: one apply, both wait for it', async () => {
    const { o, calls } = owner();
    const first = o.set(GUARD);
    const second = o.set({ ...GUARD });
    await Promise.all([first, second]);
    expect(calls).toEqual(['apply guard']);
    // A different one while one is in flight is applied after it.
    await Promise.all([o.set(BLOCK), o.set(GUARD)]);
    expect(calls).toEqual(['apply guard', 'apply block', 'apply guard']);
    expect(o.wanted).toEqual(GUARD);
  });

  it('setting the same policy again does nothing; a change of kind is reported', async () => {
    const { o, calls, changes } = owner();
    await o.set(GUARD);
    await o.set({ ...GUARD });
    expect(calls).toEqual(['apply guard']);
    expect(changes()).toBe(1);
    await o.set(undefined);
    expect(calls).toEqual(['apply guard', 'remove']);
    expect(o.kernel).toBe('none');
  });

  it('reads what the kernel holds at start, ours or not', async () => {
    expect(await owner({ table: { present: true, block: true } }).o.readKernel()).toBe('block');
    expect(await owner({ table: { present: true, block: false } }).o.readKernel()).toBe('guard');
    expect(await owner({ table: { present: true } }).o.readKernel()).toBe('foreign');
    // Found at start and not wanted: set(undefined) removes it.
    const { o, calls } = owner({ table: { present: true, block: true } });
    await o.readKernel();
    await o.set(undefined);
    expect(calls).toEqual(['remove']);
  });

  it('the watchdog\'s view decides what status reports', async () => {
    const { o } = owner();
    await o.set(BLOCK);
    o.observe(false);
    expect(o.kernel).toBe('none');
    o.observe(true); // restored
    expect(o.kernel).toBe('block');
  });
});
