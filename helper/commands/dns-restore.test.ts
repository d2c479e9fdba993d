// `umbrad dns-restore`: what a helper that died while connected left behind goes back.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvConfBackend, RESOLV_CONF_BACKUP } from '../platform/dns/resolv-conf.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { dnsRestore } from './dns-restore.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-dns-restore-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('umbrad dns-restore', () => {
  it("puts resolv.conf back from a crash's backup, and is a no-op the second time", async () => {
    const path = join(dir, 'resolv.conf');
    const state = join(dir, 'state');
    await writeFile(path, 'nameserver 198.51.100.53\n');
    await resolvConfBackend({ path, stateDir: state }).apply({ interfaceName: 'umbra0', servers: ['100.64.0.1'], searchDomains: [] }); // then "crashed"
    const said: string[] = [];
    const argv = ['--resolv-conf', path, '--state-dir', state];
    expect(await dnsRestore(argv, (l) => said.push(l), new FakeRunner())).toBe(0);
    expect(await readFile(path, 'utf8')).toBe('nameserver 198.51.100.53\n');
    await expect(stat(join(state, RESOLV_CONF_BACKUP))).rejects.toThrow();
    expect(said.join('\n')).toMatch(/put back/);
    said.length = 0;
    expect(await dnsRestore(argv, (l) => said.push(l), new FakeRunner())).toBe(0);
    expect(said).toEqual([]);
  });
});
