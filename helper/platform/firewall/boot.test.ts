// The kill-switch-on-boot file and `umbrad early-boot`, with a temporary state dir and a fake nft.
// Loading the file for real (in a namespace) is in firewall.lab.test.ts.
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { earlyBoot, EARLY_BOOT_NOTICE } from '../../commands/early-boot.js';
import { UMBRA_FWMARK } from '../routing/constants.js';
import { FakeRunner } from '../testing/fake-runner.js';
import { BOOT_RULESET_FILE, bootRulesetPath, bootRulesetSaved, bootSpec, removeBootRuleset, writeBootRuleset } from './boot.js';
import { buildRuleset } from './ruleset.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-boot-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bootSpec', () => {
  it('blocks, with no tunnel, no endpoint, no DNS and no resolvers; allow LAN only when asked', () => {
    const none = { block: true, tunnelAddresses: [], tunnelsIpv6: true, endpoints: [], dnsServers: [], lookupResolvers: [] };
    expect(bootSpec({ fwmark: UMBRA_FWMARK })).toEqual({ ...none, fwmark: UMBRA_FWMARK, allowLan: false });
    expect(bootSpec({ fwmark: 7, allowLan: true })).toEqual({ ...none, fwmark: 7, allowLan: true });
  });
});

describe('writeBootRuleset / removeBootRuleset', () => {
  it('writes the ruleset 0600, replacing the old file atomically and leaving no temporary file', async () => {
    const stateDir = join(dir, 'state'); // created
    const spec = bootSpec({ fwmark: UMBRA_FWMARK });
    const path = await writeBootRuleset(stateDir, spec);
    expect(path).toBe(join(stateDir, BOOT_RULESET_FILE));
    expect(await readFile(path, 'utf8')).toBe(buildRuleset(spec));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);

    await chmod(path, 0o644);
    const lan = bootSpec({ fwmark: UMBRA_FWMARK, allowLan: true });
    const before = (await stat(path)).ino;
    await writeBootRuleset(stateDir, lan);
    expect(await readFile(path, 'utf8')).toBe(buildRuleset(lan));
    expect((await stat(path)).ino).not.toBe(before); // a new file renamed over the old one
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(stateDir)).toEqual([BOOT_RULESET_FILE]);
  });

  it('validates before touching the file', async () => {
    const path = await writeBootRuleset(dir, bootSpec({ fwmark: UMBRA_FWMARK }));
    await expect(writeBootRuleset(dir, bootSpec({ fwmark: 0 }))).rejects.toThrow(/fwmark/);
    expect(await readFile(path, 'utf8')).toBe(buildRuleset(bootSpec({ fwmark: UMBRA_FWMARK })));
  });

  it('removes the file; no error when it is not there', async () => {
    await writeBootRuleset(dir, bootSpec({ fwmark: UMBRA_FWMARK }));
    await removeBootRuleset(dir);
    expect(await readdir(dir)).toEqual([]);
    await removeBootRuleset(dir);
    await removeBootRuleset(join(dir, 'missing'));
  });

  it('bootRulesetSaved says whether the file is there (it decides settings that cannot be read)', async () => {
    expect(await bootRulesetSaved(dir)).toBe(false);
    expect(await bootRulesetSaved(join(dir, 'missing'))).toBe(false);
    await writeBootRuleset(dir, bootSpec({ fwmark: UMBRA_FWMARK }));
    expect(await bootRulesetSaved(dir)).toBe(true);
    await removeBootRuleset(dir);
    expect(await bootRulesetSaved(dir)).toBe(false);
  });
});

describe('earlyBoot', () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, o: (l: string) => out.push(l), e: (l: string) => err.push(l) };
  }

  it('does nothing, silently, without the file', async () => {
    const run = new FakeRunner();
    const c = capture();
    expect(await earlyBoot(dir, run, c.o, c.e)).toBe(0);
    expect([run.calls, c.out, c.err]).toEqual([[], [], []]);
  });

  it('loads the file with nft -f and says so in one line', async () => {
    const path = await writeBootRuleset(dir, bootSpec({ fwmark: UMBRA_FWMARK }));
    const run = new FakeRunner();
    const c = capture();
    expect(await earlyBoot(dir, run, c.o, c.e)).toBe(0);
    expect(run.lines).toEqual([`nft -f ${path}`]);
    expect(c.out).toEqual([EARLY_BOOT_NOTICE]);
    expect(EARLY_BOOT_NOTICE).toBe('umbra: kill switch on boot: traffic blocked until you connect or turn it off');
    expect(c.err).toEqual([]);
  });

  it('returns 1 with a message when nft fails', async () => {
    await writeBootRuleset(dir, bootSpec({ fwmark: UMBRA_FWMARK }));
    const run = new FakeRunner().failOn(/^nft -f/, { exitCode: 1, stderr: `${bootRulesetPath(dir)}:9:3-40: Error: Could not process rule: Operation not supported\n` });
    const c = capture();
    expect(await earlyBoot(dir, run, c.o, c.e)).toBe(1);
    expect(c.out).toEqual([]);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^umbra: could not turn on the kill switch on boot from .*boot-killswitch\.nft: the kernel refused the kill-switch ruleset: .*Operation not supported/);
  });

  it('refuses a file others can write (it is loaded as root)', async () => {
    const path = bootRulesetPath(dir);
    await writeFile(path, buildRuleset(bootSpec({ fwmark: UMBRA_FWMARK })));
    await chmod(path, 0o666);
    const run = new FakeRunner();
    const c = capture();
    expect(await earlyBoot(dir, run, c.o, c.e)).toBe(1);
    expect(run.calls).toEqual([]);
    expect(c.err[0]).toMatch(/not loading .* writable only by its owner/);
  });
});
