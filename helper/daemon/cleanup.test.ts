import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { removeStaleRules } from './cleanup.js';

const RULES4 = JSON.stringify([
  { priority: 0, table: 'local' },
  { priority: 32761, fwmark: '0x7578', table: 'main' },
  { priority: 32762, table: 'main', suppress_prefixlen: 0 },
  { priority: 32763, not: null, fwmark: '0x756d', table: '30061' },
  { priority: 32764, fwmark: '0x1234', table: 'main' },
  { priority: 32766, table: 'main' },
]);

describe('removeStaleRules', () => {
  it('removes the tunnel\'s two rules and split tunnelling\'s, nothing else', async () => {
    const run = new FakeRunner().respond('ip -j -4 rule show', RULES4).respond('ip -j -6 rule show', '[]');
    expect(await removeStaleRules(run, 0x756d, 30061, 0x7578)).toBe(3);
    expect(run.lines.filter((l) => l.includes(' del '))).toEqual([
      'ip -4 rule del priority 32761',
      'ip -4 rule del priority 32763',
      'ip -4 rule del priority 32762',
    ]);
  });

  it('leaves a rule with the excluded mark alone when no excluded mark is given', async () => {
    const run = new FakeRunner().respond('ip -j -4 rule show', RULES4).respond('ip -j -6 rule show', '[]');
    expect(await removeStaleRules(run, 0x756d, 30061)).toBe(2);
    expect(run.lines).not.toContain('ip -4 rule del priority 32761');
  });
});
