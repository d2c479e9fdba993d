// The firewall on libnftables in a namespace of its own (never linked to the host): the helper
// keeps one library context for its life, so what matters is that it reads the kernel as it is
// now, not a cache of its own changes. A child process in the namespace does the work
// (testdata/nft-library-child.ts); the test checks its report and the kernel from outside.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labSkipReason } from '../tun/testdata/lab-child.js';
import { specHash } from './ruleset.js';
import { CONNECTED } from './testdata/specs.js';

const ns = `ukn-${process.pid}`;
const reason = labSkipReason() ?? (spawnSync('nft', ['--version']).status !== 0 ? 'nft is missing (apt-get install nftables)' : undefined);
const child = fileURLToPath(new URL('./testdata/nft-library-child.ts', import.meta.url));
const register = fileURLToPath(new URL('../tun/testdata/ts-register.mjs', import.meta.url));

describe.skipIf(reason !== undefined)('the firewall through libnftables (lab)', () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 198.51.100.53\n');
    execFileSync('ip', ['netns', 'add', ns]);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  });

  it('applies, sees another process tamper with the table, restores it and removes it, with no nft process', () => {
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', register, child, JSON.stringify(CONNECTED)], { encoding: 'utf8', timeout: 30_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(r).toEqual({
      unavailable: [],
      processes: [],
      hash: specHash(CONNECTED),
      plantedSeen: true,
      enforced: { present: true, restored: 'the table had been modified' },
      restoredAsApplied: true,
      present: false,
    });
    // And from outside, by the nft program: the child left nothing behind.
    expect(execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { encoding: 'utf8' })).not.toMatch(/umbra/);
  });
});
