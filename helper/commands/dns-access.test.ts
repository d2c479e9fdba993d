// `umbrad dns-access`: the drop-in it writes, or removes, for the machine's DNS setup (files in a
// temporary directory, resolvectl and busctl faked).
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { UsageError } from './common.js';
import { DROP_IN, dnsAccess, dropIn } from './dns-access.js';

let dir: string;
let resolvConf: string;
let unitDir: string;
let said: string[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-dns-access-'));
  resolvConf = join(dir, 'resolv.conf');
  unitDir = join(dir, 'units');
  said = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (run = new FakeRunner(), ...extra: string[]) => dnsAccess(['--resolv-conf', resolvConf, '--unit-dir', unitDir, ...extra], (l) => said.push(l), run);
const dropInPath = () => join(unitDir, 'umbrad.service.d', DROP_IN);

describe('umbrad dns-access', () => {
  it('a plain resolv.conf: grants its directory, and only that', async () => {
    await writeFile(resolvConf, 'nameserver 198.51.100.53\n');
    expect(await run()).toBe(0);
    const text = await readFile(dropInPath(), 'utf8');
    expect(text.split('\n').filter((l) => !l.startsWith('#') && l !== '')).toEqual(['[Service]', `ReadWritePaths=-${dir}`]);
    expect((await stat(dropInPath())).mode & 0o777).toBe(0o644);
    expect(said.join('\n')).toContain(`may write ${dir}`);
  });

  it("resolvconf's link: grants the link's target's directory, not the link's", async () => {
    await mkdir(join(dir, 'run-resolvconf'));
    await writeFile(join(dir, 'run-resolvconf', 'resolv.conf'), 'nameserver 198.51.100.53\n');
    await symlink(join(dir, 'run-resolvconf', 'resolv.conf'), resolvConf);
    await run();
    expect(await readFile(dropInPath(), 'utf8')).toContain(`ReadWritePaths=-${join(dir, 'run-resolvconf')}\n`);
  });

  it('systemd-resolved takes DNS: removes an earlier drop-in and its empty directory', async () => {
    await writeFile(resolvConf, 'nameserver 198.51.100.53\n');
    await run();
    await rm(resolvConf);
    await symlink('/run/systemd/resolve/stub-resolv.conf', resolvConf);
    expect(await run(new FakeRunner())).toBe(0); // resolvectl status exits 0
    await expect(stat(join(unitDir, 'umbrad.service.d'))).rejects.toThrow();
    expect(said.at(-1)).toMatch(/over D-Bus.*removed/);
  });

  it("keeps an admin's own drop-ins beside it", async () => {
    await mkdir(join(unitDir, 'umbrad.service.d'), { recursive: true });
    await writeFile(join(unitDir, 'umbrad.service.d', 'local.conf'), '[Service]\nNice=5\n');
    await symlink('/run/NetworkManager/resolv.conf', resolvConf);
    const nm = new FakeRunner().respond(/DnsManager Mode$/, '{"type":"s","data":"default"}\n').respond(/DnsManager RcManager$/, '{"type":"s","data":"symlink"}\n');
    expect(await run(nm)).toBe(0);
    expect(await readdir(join(unitDir, 'umbrad.service.d'))).toEqual(['local.conf']);
  });

  it('refuses a bad --dns, and paths a unit file would misread', async () => {
    await expect(run(new FakeRunner(), '--dns', 'dnsmasq')).rejects.toThrow(UsageError);
    expect(() => dropIn(['/etc/my dir'])).toThrow(/only absolute paths/);
    expect(() => dropIn(['etc'])).toThrow(/only absolute paths/);
    expect(() => dropIn(['/etc/%n'])).toThrow(/only absolute paths/);
    await mkdir(join(dir, 'a b'));
    await writeFile(join(dir, 'a b', 'resolv.conf'), 'nameserver 198.51.100.53\n');
    await expect(dnsAccess(['--resolv-conf', join(dir, 'a b', 'resolv.conf'), '--unit-dir', unitDir], () => {}, new FakeRunner())).rejects.toThrow(/cannot grant/);
    await expect(stat(dropInPath())).rejects.toThrow(); // nothing half-written
  });
});
