// The auto rule, with files in a temporary directory and a fake resolvectl.
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeRunner } from '../testing/fake-runner.js';
import { chooseDnsBackend, pointsIntoResolved } from './choose.js';
import { RESOLV_CONF_BACKUP } from './resolv-conf.js';
import type { DnsMode } from './types.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-dns-choose-'));
  path = join(dir, 'resolv.conf');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const choose = (mode: DnsMode, run = new FakeRunner(), resolvedRunning?: () => Promise<boolean>) =>
  chooseDnsBackend({ mode, resolvConfPath: path, stateDir: join(dir, 'state'), run, ...(resolvedRunning ? { resolvedRunning } : {}) });

describe('chooseDnsBackend', () => {
  it('explicit modes are taken as they are', async () => {
    expect((await choose('resolv-conf')).name).toBe('resolv-conf');
    expect((await choose('resolved')).name).toBe('resolved');
    expect((await choose('networkmanager')).name).toBe('networkmanager');
  });

  it('auto: a symlink into /run/systemd/resolve/ and resolved running -> resolved', async () => {
    await symlink('/run/systemd/resolve/stub-resolv.conf', path);
    const run = new FakeRunner();
    expect((await choose('auto', run)).name).toBe('resolved');
    expect(run.lines).toEqual(['resolvectl status']);
  });

  it('auto: a relative symlink into /run/systemd/resolve/ counts too', async () => {
    await symlink(relative(dir, '/run/systemd/resolve/resolv.conf'), path);
    expect(await pointsIntoResolved(path)).toBe(true);
  });

  it('auto: the symlink but resolved not running -> resolv-conf', async () => {
    await symlink('/run/systemd/resolve/stub-resolv.conf', path);
    const run = new FakeRunner().failOn('resolvectl status', { exitCode: 1, stderr: 'Failed to get global data: Could not activate remote peer\n' });
    expect((await choose('auto', run)).name).toBe('resolv-conf');
    expect((await choose('auto', new FakeRunner(), async () => false)).name).toBe('resolv-conf');
  });

  it('auto: a regular file (as in a lab namespace) -> resolv-conf, without asking resolved', async () => {
    await writeFile(path, 'nameserver 198.51.100.53\n');
    const run = new FakeRunner();
    expect((await choose('auto', run)).name).toBe('resolv-conf');
    expect(run.lines).toEqual([]);
  });

  it('auto: a symlink elsewhere (NetworkManager) or no file -> resolv-conf, never networkmanager', async () => {
    await symlink('/run/NetworkManager/resolv.conf', path);
    expect((await choose('auto', new FakeRunner(), async () => true)).name).toBe('resolv-conf');
    await rm(path);
    expect((await choose('auto', new FakeRunner(), async () => true)).name).toBe('resolv-conf');
  });
});

describe('recover() of the chosen backend', () => {
  it('restores a resolv.conf backup left by a crash even when resolved is chosen now', async () => {
    await writeFile(path, 'nameserver 198.51.100.53\n');
    await (await choose('resolv-conf')).apply({ interfaceName: 'umbra0', servers: ['100.64.0.1'], searchDomains: [] }); // crash: undo dropped
    const backend = await choose('resolved');
    expect(await backend.recover()).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('nameserver 198.51.100.53\n');
    await expect(stat(join(dir, 'state', RESOLV_CONF_BACKUP))).rejects.toThrow();
    expect(await backend.recover()).toBe(false);
  });
});
