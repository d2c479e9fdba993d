// The AppImage's way to the helper: packaging/appimage/helper-install.ts (what the main process
// shows and runs) and packaging/linux/install-helper.sh (what pkexec runs), the latter in a
// throwaway root with faked system commands (fake-root.ts).
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APPIMAGE_HELPER_DIR,
  HELPER_LAUNCHER,
  HELPER_SOCKET,
  HelperInstallError,
  helperInstalled,
  helperInstallPlan,
  runHelperInstall,
} from '../../packaging/appimage/helper-install.js';
import { LINUX, UNITS, fakeRoot, writeApp, writeSettings, type FakeRoot } from './fake-root.js';

const installHelper = join(LINUX, 'install-helper.sh');
const ALL_UNITS = UNITS.join(' ');

let r: FakeRoot;
let work: string;
beforeEach(() => {
  r = fakeRoot();
  work = mkdtempSync(join(tmpdir(), 'umbra-appimage-'));
});
afterEach(() => {
  r.cleanup();
  rmSync(work, { recursive: true, force: true });
});

function ok(res: { code: number | null; out: string; err: string }) {
  if (res.code !== 0) throw new Error(`exit ${res.code}\n${res.out}\n${res.err}`);
  return res;
}

/**
 * A stand-in AppImage: an unpacked app (writeApp) and a runtime whose --appimage-extract puts it
 * in ./squashfs-root, as the real AppImage runtime does.
 */
function fakeAppImage(version = '0.1.0'): string {
  const appDir = join(work, `AppDir-${version}`);
  writeApp(appDir, version);
  writeFileSync(join(appDir, 'marker'), version);
  const file = join(work, `Umbra-${version}.AppImage`);
  writeFileSync(file, `#!/bin/sh\n[ "$1" = --appimage-extract ] || exit 1\ncp -R '${appDir}' squashfs-root\n`, { mode: 0o755 });
  return file;
}

describe('install-helper.sh', () => {
  it('unpacks the AppImage into /opt/umbra-helper and installs the helper from there', () => {
    const appImage = fakeAppImage();
    ok(r.run(installHelper, ['install', '--appimage', appImage, '--user', 'alice']));
    expect(existsSync(r.path(`${APPIMAGE_HELPER_DIR}/umbra-app`))).toBe(true);
    expect(readFileSync(r.path(`${APPIMAGE_HELPER_DIR}/marker`), 'utf8')).toBe('0.1.0');
    expect(readFileSync(r.path(HELPER_LAUNCHER), 'utf8')).toMatch(
      /^exec '\/opt\/umbra-helper\/resources\/helper\/node\/bin\/node' '\/opt\/umbra-helper\/resources\/helper\/bin\/umbrad\.js' "\$@"$/m,
    );
    expect(readFileSync(r.path('/usr/bin/umbra'), 'utf8')).toMatch(/'\/opt\/umbra-helper\/resources\/helper\/bin\/umbra\.js'/);
    for (const unit of UNITS) expect(existsSync(r.path(`/usr/lib/systemd/system/${unit}`))).toBe(true);
    expect(r.calls('groupadd')).toEqual(['groupadd --system umbra']);
    expect(r.calls('usermod')).toEqual(['usermod -a -G umbra alice']);
    expect(r.calls('systemctl')).toEqual(['systemctl daemon-reload', `systemctl enable ${ALL_UNITS}`, 'systemctl restart umbrad.service']);
    expect(r.calls('nft')).toEqual([]);
    // No staging folder left behind, and nothing in the copy writable by others.
    expect(readdirSync(r.path('/opt')).sort()).toEqual(['umbra-helper']);
    expect(statSync(r.path(`${APPIMAGE_HELPER_DIR}/resources/helper/bin/umbrad.js`)).mode & 0o022).toBe(0);
  });

  it('run again with a newer AppImage, replaces the copy and restarts the helper; the block stays', () => {
    ok(r.run(installHelper, ['install', '--appimage', fakeAppImage('0.1.0'), '--user', 'alice']));
    writeSettings(r);
    r.addTable();
    r.clearCalls();
    ok(r.run(installHelper, ['install', '--appimage', fakeAppImage('0.2.0'), '--user', 'alice']));
    expect(readFileSync(r.path(`${APPIMAGE_HELPER_DIR}/marker`), 'utf8')).toBe('0.2.0');
    expect(readFileSync(r.path('/usr/lib/systemd/system/umbrad.service'), 'utf8')).toMatch(/# version 0\.2\.0\n$/);
    expect(r.calls('systemctl')).toContain('systemctl restart umbrad.service');
    expect(r.calls('nft')).toEqual([]);
    expect(r.hasTable()).toBe(true);
    expect(existsSync(r.path('/var/lib/umbra/settings.json'))).toBe(true);
    expect(readdirSync(r.path('/opt')).sort()).toEqual(['umbra-helper']);
  });

  it('installs from an unpacked app folder (--from) too', () => {
    const dir = join(work, 'linux-unpacked');
    writeApp(dir);
    ok(r.run(installHelper, ['install', '--from', dir, '--user', 'bob']));
    expect(existsSync(r.path(`${APPIMAGE_HELPER_DIR}/resources/helper/bin/umbrad.js`))).toBe(true);
    expect(r.calls('usermod')).toEqual(['usermod -a -G umbra bob']);
  });

  it('refuses what it cannot use, and leaves nothing behind', () => {
    expect(r.run(installHelper, ['install', '--appimage', 'relative.AppImage']).err).toMatch(/absolute/);
    expect(r.run(installHelper, ['install', '--appimage', join(work, 'missing.AppImage')]).err).toMatch(/no AppImage/);
    const notAnApp = join(work, 'empty');
    mkdirSync(notAnApp);
    expect(r.run(installHelper, ['install', '--from', notAnApp]).err).toMatch(/no Node\.js runtime/);
    expect(r.run(installHelper, ['install']).code).not.toBe(0);
    expect(r.run(installHelper, ['uninstall']).err).toMatch(/no helper installed/);
    expect(existsSync(r.path(APPIMAGE_HELPER_DIR))).toBe(false);
    expect(readdirSync(r.path('/opt'))).toEqual([]);
    expect(r.calls().filter((c) => !c.startsWith('getent'))).toEqual([]);
  });

  it('uninstall: helper stopped and disabled, block lifted, copy removed; settings stay (gone with --purge)', () => {
    ok(r.run(installHelper, ['install', '--appimage', fakeAppImage(), '--user', 'alice']));
    writeSettings(r);
    r.addTable();
    r.clearCalls();
    ok(r.run(installHelper, ['uninstall']));
    expect(r.calls().filter((c) => /^(systemctl stop|systemctl disable|nft)/.test(c))).toEqual([
      `systemctl stop ${ALL_UNITS}`,
      `systemctl disable ${ALL_UNITS}`,
      'nft list table inet umbra',
      'nft delete table inet umbra',
    ]);
    expect(existsSync(r.path(APPIMAGE_HELPER_DIR))).toBe(false);
    expect(existsSync(r.path(HELPER_LAUNCHER))).toBe(false);
    expect(existsSync(r.path('/var/lib/umbra/boot-killswitch.nft'))).toBe(false);
    expect(existsSync(r.path('/var/lib/umbra/settings.json'))).toBe(true);
    expect(r.hasGroup('umbra')).toBe(true);

    ok(r.run(installHelper, ['install', '--appimage', fakeAppImage(), '--user', 'alice']));
    ok(r.run(installHelper, ['uninstall', '--purge']));
    expect(existsSync(r.path('/var/lib/umbra'))).toBe(false);
    expect(r.hasGroup('umbra')).toBe(false);
  });
});

describe('helperInstallPlan', () => {
  const input = () => ({ appImage: '/home/alice/Apps/Umbra-0.1.0.AppImage', resourcesPath: '/tmp/.mount_UmbraX/resources', user: 'alice', stagingDir: '/tmp/umbra-install-1' });

  it('stages the script out of the AppImage mount and runs it with pkexec', () => {
    const plan = helperInstallPlan(input());
    expect(plan.stage).toEqual({ from: '/tmp/.mount_UmbraX/resources/packaging/linux/install-helper.sh', to: '/tmp/umbra-install-1/install-helper.sh', mode: 0o700 });
    expect(plan.argv).toEqual(['pkexec', '/tmp/umbra-install-1/install-helper.sh', 'install', '--appimage', '/home/alice/Apps/Umbra-0.1.0.AppImage', '--user', 'alice']);
  });

  it('says every step, in words, before anything happens', () => {
    const text = helperInstallPlan(input()).steps.join('\n');
    for (const words of ['pkexec', '/home/alice/Apps/Umbra-0.1.0.AppImage', APPIMAGE_HELPER_DIR, HELPER_LAUNCHER, '/usr/bin/umbra', 'umbrad.service',
      'umbra-early-boot.service', '/usr/lib/systemd/system', 'group "umbra"', 'add alice', 'install-helper.sh uninstall']) {
      expect(text).toContain(words);
    }
  });

  it('its command does what its steps say (run here without pkexec, in the throwaway root)', () => {
    const appImage = fakeAppImage();
    const resources = join(work, 'AppDir-0.1.0', 'resources');
    const staging = join(work, 'staging');
    mkdirSync(staging);
    const plan = helperInstallPlan({ appImage, resourcesPath: resources, user: 'alice', stagingDir: staging });
    writeFileSync(plan.stage.to, readFileSync(plan.stage.from), { mode: plan.stage.mode });
    expect(plan.argv[0]).toBe('pkexec');
    ok(r.run(plan.argv[1]!, plan.argv.slice(2)));
    expect(existsSync(r.path(`${APPIMAGE_HELPER_DIR}/umbra-app`))).toBe(true);
    expect(r.calls('usermod')).toEqual(['usermod -a -G umbra alice']);
    expect(r.calls('systemctl')).toEqual(['systemctl daemon-reload', `systemctl enable ${ALL_UNITS}`, 'systemctl restart umbrad.service']);
  });

  it('refuses to plan outside an AppImage or with odd input', () => {
    expect(() => helperInstallPlan({ ...input(), appImage: undefined })).toThrow(HelperInstallError);
    expect(() => helperInstallPlan({ ...input(), appImage: 'Umbra.AppImage' })).toThrow(/absolute/);
    expect(() => helperInstallPlan({ ...input(), stagingDir: 'tmp' })).toThrow(/absolute/);
    expect(() => helperInstallPlan({ ...input(), user: 'root' })).toThrow(/not a user/);
    expect(() => helperInstallPlan({ ...input(), user: '-rf' })).toThrow(/not a user/);
  });
});

describe('helperInstalled', () => {
  it('is true when the socket or the launcher is there', () => {
    expect(helperInstalled((p) => p === HELPER_SOCKET)).toBe(true);
    expect(helperInstalled((p) => p === HELPER_LAUNCHER)).toBe(true);
    expect(helperInstalled(() => false)).toBe(false);
  });
});

describe('runHelperInstall', () => {
  /** A spawn that records what it was given and ends with `code` (or fails to start with `error`). */
  function fakeSpawn(result: { code?: number; error?: NodeJS.ErrnoException; stderr?: string }) {
    const seen: { command: string; args: string[]; stagedMode?: number }[] = [];
    const spawn = ((command: string, args: string[]) => {
      const child = Object.assign(new EventEmitter(), { stdout: new PassThrough(), stderr: new PassThrough() });
      seen.push({ command, args, stagedMode: statSync(args[0]!).mode & 0o777 });
      setImmediate(() => {
        if (result.error) return child.emit('error', result.error);
        if (result.stderr) child.stderr.write(result.stderr);
        setImmediate(() => child.emit('close', result.code ?? 0));
      });
      return child;
    }) as unknown as typeof import('node:child_process').spawn;
    return { spawn, seen };
  }

  function plan() {
    const staging = join(work, 'staging');
    mkdirSync(staging, { recursive: true });
    return helperInstallPlan({ appImage: '/x/Umbra.AppImage', resourcesPath: join(LINUX, '..', '..'), user: 'alice', stagingDir: staging });
  }

  it('stages the script (0700), runs pkexec, removes the copy, and says how it went', async () => {
    const p = { ...plan(), stage: { ...plan().stage, from: installHelper } };
    const { spawn, seen } = fakeSpawn({ code: 0 });
    expect(await runHelperInstall(p, { spawn })).toEqual({ kind: 'installed', output: '' });
    expect(seen).toEqual([{ command: 'pkexec', args: p.argv.slice(1), stagedMode: 0o700 }]);
    expect(existsSync(p.stage.to)).toBe(false);

    expect((await runHelperInstall(p, { spawn: fakeSpawn({ code: 126 }).spawn })).kind).toBe('cancelled');
    expect((await runHelperInstall(p, { spawn: fakeSpawn({ code: 127 }).spawn })).kind).toBe('not-authorized');
    expect(await runHelperInstall(p, { spawn: fakeSpawn({ code: 1, stderr: 'umbra: no helper in the unpacked app\n' }).spawn })).toEqual({
      kind: 'failed', code: 1, output: 'umbra: no helper in the unpacked app\n',
    });
    const enoent = Object.assign(new Error('spawn pkexec ENOENT'), { code: 'ENOENT' });
    expect(await runHelperInstall(p, { spawn: fakeSpawn({ error: enoent }).spawn })).toEqual({
      kind: 'failed', code: null, output: 'pkexec is not installed (it comes with polkit)',
    });
  });

  it('reports a script it cannot copy out of the AppImage', async () => {
    const p = { ...plan(), stage: { ...plan().stage, from: join(work, 'nope.sh') } };
    const out = await runHelperInstall(p, { spawn: fakeSpawn({ code: 0 }).spawn });
    expect(out.kind).toBe('failed');
    expect(out.output).toMatch(/could not copy the installer/);
  });
});
