// The .deb's maintainer scripts (packaging/deb/) and the script they share with the AppImage
// (packaging/linux/setup-helper.sh), run the way dpkg runs them, in a throwaway root with faked
// systemctl, groupadd, usermod, nft, … (fake-root.ts): install, upgrade, remove, purge.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEB, LINUX, PROJECT_ROOT, UNITS, fakeRoot, unpackDeb, writeSettings, type FakeRoot } from './fake-root.js';

const postinst = join(DEB, 'postinst');
const prerm = join(DEB, 'prerm');
const postrm = join(DEB, 'postrm');
const setupHelper = join(LINUX, 'setup-helper.sh');
const ALL_UNITS = UNITS.join(' ');

let r: FakeRoot;
afterEach(() => r?.cleanup());

function ok(res: { code: number | null; out: string; err: string }) {
  if (res.code !== 0) throw new Error(`exit ${res.code}\n${res.out}\n${res.err}`);
  return res;
}

/** A first install, as dpkg does it: unpack, then postinst configure with no old version. */
function install(env: Record<string, string> = { SUDO_USER: 'alice' }) {
  unpackDeb(r);
  return ok(r.run(postinst, ['configure', ''], env));
}

/** `apt remove`: prerm remove, the files go, postrm remove. */
function remove() {
  ok(r.run(prerm, ['remove']));
  rmSync(r.path('/opt/Umbra'), { recursive: true, force: true });
  ok(r.run(postrm, ['remove']));
}

describe('the scripts themselves', () => {
  const scripts = [postinst, prerm, postrm, setupHelper, join(LINUX, 'install-helper.sh')];

  it('are POSIX sh with set -e, and executable', () => {
    const dash = spawnSync('sh', ['-c', 'command -v dash'], { encoding: 'utf8' }).stdout.trim() || 'sh';
    for (const s of scripts) {
      const text = readFileSync(s, 'utf8');
      expect(text.startsWith('#!/bin/sh\n'), s).toBe(true);
      expect(text).toMatch(/^set -e$/m);
      expect(statSync(s).mode & 0o111, s).not.toBe(0);
      const check = spawnSync(dash, ['-n', s], { encoding: 'utf8' });
      expect(check.stderr, s).toBe('');
      expect(check.status, s).toBe(0);
    }
  });

  it('postinst and postrm hold nothing electron-builder would take for a ${macro}', () => {
    // electron-builder runs its afterInstall/afterRemove files through a template pass that
    // replaces ${name} (letters only) and fails on unknown names.
    for (const s of [postinst, postrm]) expect(readFileSync(s, 'utf8')).not.toMatch(/\$\{[a-zA-Z]+\}|<%=/);
  });

  it('each refuses an argument dpkg does not give', () => {
    r = fakeRoot();
    unpackDeb(r);
    for (const s of [postinst, prerm, postrm]) {
      const res = r.run(s, ['frobnicate']);
      expect(res.code, s).toBe(1);
      expect(res.err).toMatch(/unknown argument 'frobnicate'/);
    }
    expect(r.calls()).toEqual([]);
  });
});

describe('install (postinst configure)', () => {
  beforeEach(() => {
    r = fakeRoot();
  });

  it('creates the group, adds the installing user, installs launchers and units, enables both, starts the helper', () => {
    install({ SUDO_USER: 'alice' });
    expect(r.calls('groupadd')).toEqual(['groupadd --system umbra']);
    expect(r.calls('usermod')).toEqual(['usermod -a -G umbra alice']);
    expect(r.calls('systemctl')).toEqual([
      'systemctl daemon-reload',
      `systemctl enable ${ALL_UNITS}`,
      'systemctl restart umbrad.service',
    ]);
    // The boot unit is never started by an install, and the firewall is not touched.
    expect(r.calls('systemctl').join('\n')).not.toMatch(/start umbra-early-boot/);
    expect(r.calls('nft')).toEqual([]);

    for (const unit of UNITS) {
      const installed = r.path(`/usr/lib/systemd/system/${unit}`);
      expect(readFileSync(installed, 'utf8')).toBe(readFileSync(r.path(`/opt/Umbra/resources/helper/systemd/${unit}`), 'utf8'));
      expect(statSync(installed).mode & 0o777).toBe(0o644);
    }
    const launcher = readFileSync(r.path('/usr/lib/umbra/umbrad'), 'utf8');
    expect(launcher).toMatch(/^exec '\/opt\/Umbra\/resources\/helper\/node\/bin\/node' '\/opt\/Umbra\/resources\/helper\/bin\/umbrad\.js' "\$@"$/m);
    expect(launcher).not.toMatch(/umbra-app|ELECTRON_RUN_AS_NODE/);
    expect(statSync(r.path('/usr/lib/umbra/umbrad')).mode & 0o777).toBe(0o755);
    expect(readFileSync(r.path('/usr/bin/umbra'), 'utf8')).toMatch(
      /^exec '\/opt\/Umbra\/resources\/helper\/node\/bin\/node' '\/opt\/Umbra\/resources\/helper\/bin\/umbra\.js' "\$@"$/m,
    );
    // The unit runs the launcher that was just written.
    expect(readFileSync(r.path('/usr/lib/systemd/system/umbrad.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/lib\/umbra\/umbrad serve$/m);
    expect(r.hasGroup('umbra')).toBe(true);
  });

  it('asks the helper (on the shipped Node.js, no NODE_OPTIONS) what DNS needs, before systemd reads the units', () => {
    install();
    const res = r.path('/opt/Umbra/resources/helper');
    const dnsAccess = `node[NODE_OPTIONS=] ${res}/bin/umbrad.js dns-access --unit-dir ${r.path('/usr/lib/systemd/system')} --resolv-conf ${r.path('/etc/resolv.conf')} --state-dir ${r.path('/var/lib/umbra')}`;
    const order = r.calls().filter((c) => c.startsWith('node') || c.startsWith('systemctl'));
    expect(order).toEqual([dnsAccess, 'systemctl daemon-reload', `systemctl enable ${ALL_UNITS}`, 'systemctl restart umbrad.service']);
    expect(readFileSync(r.path('/usr/lib/systemd/system/umbrad.service.d/dns-access.conf'), 'utf8')).toContain('ReadWritePaths=-/etc');
  });

  it('the launchers run the helper and the CLI on the shipped Node.js, without the caller\'s NODE_OPTIONS', () => {
    install();
    // The launchers name /opt/Umbra; here that is inside the throwaway root.
    for (const [file, entry] of [['/usr/lib/umbra/umbrad', 'umbrad.js'], ['/usr/bin/umbra', 'umbra.js']] as const) {
      const copy = r.path(`${file}.test`);
      writeFileSync(copy, readFileSync(r.path(file), 'utf8').replaceAll("'/opt/Umbra/", `'${r.path('/opt/Umbra')}/`));
      const res = spawnSync('/bin/sh', [copy, 'serve', '--two words'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', NODE_OPTIONS: '--require /tmp/evil.js' } });
      expect(res.stderr).toBe('');
      expect(res.stdout.trim()).toBe(`node[NODE_OPTIONS=] ${r.path('/opt/Umbra/resources/helper/bin')}/${entry} serve --two words`);
    }
  });

  it('does what electron-builder\'s own after-install did: /usr/bin/umbra-app and the sandbox helper', () => {
    install();
    expect(r.calls('update-alternatives')).toEqual(['update-alternatives --install /usr/bin/umbra-app umbra-app /opt/Umbra/umbra-app 100']);
    expect(r.calls('update-desktop-database')).toHaveLength(1);
    // User namespaces work here (the fake unshare succeeds): no setuid sandbox helper.
    expect(statSync(r.path('/opt/Umbra/chrome-sandbox')).mode & 0o7777).toBe(0o755);
  });

  it('takes the user from pkexec when there is no sudo', () => {
    install({ PKEXEC_UID: '1001' });
    expect(r.calls('usermod')).toEqual(['usermod -a -G umbra bob']);
  });

  it('adds no one when it does not know who installs, and says how to join', () => {
    const res = install({});
    expect(r.calls('usermod')).toEqual([]);
    expect(res.out).toMatch(/sudo usermod -aG umbra "\$USER"/);
    expect(install({ SUDO_USER: 'root' }).out).toMatch(/usermod -aG umbra/);
    expect(r.calls('usermod')).toEqual([]);
  });

  it('keeps an existing group', () => {
    r.addGroup('umbra');
    install();
    expect(r.calls('groupadd')).toEqual([]);
    expect(r.calls('usermod')).toEqual(['usermod -a -G umbra alice']);
  });

  it('without systemd running (a chroot, an image build): enables the units, starts nothing', () => {
    r.cleanup();
    r = fakeRoot({ systemdRunning: false });
    install();
    expect(r.calls('systemctl')).toEqual([`systemctl enable ${ALL_UNITS}`]);
  });
});

describe('upgrade', () => {
  beforeEach(() => {
    r = fakeRoot();
    install();
    writeSettings(r);
    r.addTable(); // the kill switch is on: the block is in the kernel
    r.clearCalls();
  });

  it('keeps the settings and the block, replaces the units, restarts the helper (which adopts the table)', () => {
    // dpkg: old prerm upgrade NEW, unpack NEW, old postrm upgrade NEW, new postinst configure OLD.
    ok(r.run(prerm, ['upgrade', '0.2.0']));
    unpackDeb(r, '0.2.0');
    ok(r.run(postrm, ['upgrade', '0.2.0']));
    ok(r.run(postinst, ['configure', '0.1.0'], { SUDO_USER: 'alice' }));

    expect(r.calls('nft')).toEqual([]);
    expect(r.hasTable()).toBe(true);
    expect(readFileSync(r.path('/var/lib/umbra/settings.json'), 'utf8')).toMatch(/killSwitch/);
    expect(existsSync(r.path('/var/lib/umbra/boot-killswitch.nft'))).toBe(true);
    expect(r.calls('systemctl')).toEqual(['systemctl daemon-reload', 'systemctl try-restart umbrad.service']);
    expect(r.calls().filter((c) => /^node\S* .* dns-access /.test(c))).toHaveLength(1); // dns-access again: the machine's DNS may have changed
    expect(readFileSync(r.path('/usr/lib/systemd/system/umbrad.service'), 'utf8')).toMatch(/# version 0\.2\.0\n$/);
    expect(r.calls('groupadd')).toEqual([]);
    expect(r.calls('groupdel')).toEqual([]);
    expect(r.calls('update-alternatives')).toEqual(['update-alternatives --install /usr/bin/umbra-app umbra-app /opt/Umbra/umbra-app 100']);
    expect(r.hasGroup('umbra')).toBe(true);
  });

  it('a failed upgrade (abort-upgrade) leaves the block and settings as well', () => {
    ok(r.run(prerm, ['upgrade', '0.2.0']));
    ok(r.run(postinst, ['abort-upgrade', '0.2.0']));
    expect(r.calls('nft')).toEqual([]);
    expect(r.hasTable()).toBe(true);
    expect(existsSync(r.path('/var/lib/umbra/boot-killswitch.nft'))).toBe(true);
    expect(r.calls('systemctl')).toEqual(['systemctl daemon-reload', 'systemctl try-restart umbrad.service']);
  });
});

describe('remove and purge', () => {
  beforeEach(() => {
    r = fakeRoot();
    install();
    writeSettings(r);
    r.addTable();
    r.clearCalls();
  });

  it('remove: stops and disables the units, then deletes the table and the boot ruleset; settings and group stay', () => {
    remove();
    const calls = r.calls().filter((c) => /^(systemctl|nft) /.test(c));
    expect(calls).toEqual([
      `systemctl stop ${ALL_UNITS}`,
      `systemctl disable ${ALL_UNITS}`,
      'nft list table inet umbra',
      'nft delete table inet umbra',
      'systemctl daemon-reload',
      `systemctl reset-failed ${ALL_UNITS}`,
    ]);
    expect(r.hasTable()).toBe(false);
    expect(existsSync(r.path('/var/lib/umbra/boot-killswitch.nft'))).toBe(false);
    expect(existsSync(r.path('/var/lib/umbra/settings.json'))).toBe(true);
    for (const f of ['/usr/lib/umbra/umbrad', '/usr/lib/umbra', '/usr/bin/umbra', ...UNITS.map((u) => `/usr/lib/systemd/system/${u}`), '/usr/lib/systemd/system/umbrad.service.d']) {
      expect(existsSync(r.path(f)), f).toBe(false);
    }
    expect(r.calls('update-alternatives')).toEqual(['update-alternatives --remove umbra-app /opt/Umbra/umbra-app']);
    expect(r.calls('groupdel')).toEqual([]);
    expect(r.hasGroup('umbra')).toBe(true);
  });

  it('remove puts back DNS a crashed helper left, after stopping it and while the app is still there', () => {
    ok(r.run(prerm, ['remove']));
    const res = r.path('/opt/Umbra/resources/helper');
    const order = r.calls().filter((c) => /^(systemctl stop|node\S* .* dns-restore|nft list)/.test(c));
    expect(order).toEqual([
      `systemctl stop ${ALL_UNITS}`,
      `node[NODE_OPTIONS=] ${res}/bin/umbrad.js dns-restore --resolv-conf ${r.path('/etc/resolv.conf')} --state-dir ${r.path('/var/lib/umbra')}`,
      'nft list table inet umbra',
    ]);
    // purge afterwards (the app gone, the launcher too): nothing left to run it with, nothing run.
    rmSync(r.path('/opt/Umbra'), { recursive: true, force: true });
    r.clearCalls();
    ok(r.run(postrm, ['purge']));
    expect(r.calls().filter((c) => c.includes('dns-restore'))).toEqual([]);
  });

  it('remove without a block in the kernel deletes nothing and succeeds', () => {
    r.cleanup();
    r = fakeRoot();
    install();
    r.clearCalls();
    ok(r.run(prerm, ['remove']));
    expect(r.calls('nft')).toEqual(['nft list table inet umbra']);
  });

  it('purge after remove: the settings and the group go too', () => {
    remove();
    ok(r.run(postrm, ['purge']));
    expect(existsSync(r.path('/var/lib/umbra'))).toBe(false);
    expect(r.calls('groupdel')).toEqual(['groupdel umbra']);
    expect(r.hasGroup('umbra')).toBe(false);
  });

  it('abort-remove (remove failed later on) puts the helper back', () => {
    ok(r.run(prerm, ['remove']));
    r.clearCalls();
    ok(r.run(postinst, ['abort-remove']));
    expect(r.calls('systemctl')).toEqual(['systemctl daemon-reload', `systemctl enable ${ALL_UNITS}`, 'systemctl restart umbrad.service']);
    expect(existsSync(r.path('/usr/lib/systemd/system/umbrad.service'))).toBe(true);
  });

  it('a reinstall after remove (dpkg passes the old version) installs afresh', () => {
    remove();
    r.clearCalls();
    unpackDeb(r);
    ok(r.run(postinst, ['configure', '0.1.0'], { SUDO_USER: 'alice' }));
    expect(r.calls('systemctl')).toEqual(['systemctl daemon-reload', `systemctl enable ${ALL_UNITS}`, 'systemctl restart umbrad.service']);
  });

  it('prerm without the shared script (a damaged install) still lifts the block', () => {
    rmSync(r.path('/opt/Umbra/resources/packaging'), { recursive: true });
    const res = ok(r.run(prerm, ['remove']));
    expect(res.err).toMatch(/missing/);
    expect(r.calls('nft')).toEqual(['nft list table inet umbra', 'nft delete table inet umbra']);
    expect(r.calls('systemctl')).toEqual([`systemctl stop ${ALL_UNITS}`, `systemctl disable ${ALL_UNITS}`]);
    expect(existsSync(r.path('/var/lib/umbra/boot-killswitch.nft'))).toBe(false);
  });
});

describe('setup-helper.sh', () => {
  beforeEach(() => {
    r = fakeRoot();
    unpackDeb(r);
  });

  it('refuses an app folder it cannot write into a launcher safely, or one without the app', () => {
    expect(r.run(setupHelper, ['install', '--app-dir', "/opt/it's"]).err).toMatch(/may only hold/);
    expect(r.run(setupHelper, ['install', '--app-dir', 'opt/Umbra']).err).toMatch(/absolute/);
    expect(r.run(setupHelper, ['install', '--app-dir', '/opt/Other']).err).toMatch(/no Node\.js runtime at \/opt\/Other\/resources\/helper\/node\/bin\/node/);
    expect(r.run(setupHelper, ['frob']).code).not.toBe(0);
    expect(r.calls().filter((c) => !c.startsWith('getent'))).toEqual([]);
  });

  it("install goes on when the helper cannot say what DNS needs, and says what to run", () => {
    writeFileSync(r.path('/opt/Umbra/resources/helper/node/bin/node'), '#!/bin/sh\necho "umbrad: boom" >&2\nexit 1\n', { mode: 0o755 });
    const res = ok(r.run(setupHelper, ['install', '--app-dir', '/opt/Umbra', '--user', 'alice']));
    expect(res.err).toMatch(/umbrad: boom\n.*warning: could not work out what DNS needs here.*sudo \/usr\/lib\/umbra\/umbrad dns-access/s);
    expect(r.calls('systemctl')).toContain('systemctl restart umbrad.service');
  });

  it('purge removes the helper, its table, settings and group', () => {
    ok(r.run(setupHelper, ['install', '--app-dir', '/opt/Umbra', '--user', 'alice']));
    writeSettings(r);
    r.addTable();
    ok(r.run(setupHelper, ['purge']));
    expect(r.hasTable()).toBe(false);
    expect(r.hasGroup('umbra')).toBe(false);
    expect(existsSync(r.path('/var/lib/umbra'))).toBe(false);
    expect(existsSync(r.path('/usr/lib/systemd/system/umbrad.service'))).toBe(false);
  });

  it('is the copy the package ships (electron-builder.yml puts packaging/linux/ into resources/)', () => {
    expect(readFileSync(join(PROJECT_ROOT, 'electron-builder.yml'), 'utf8')).toMatch(/from: packaging\/linux\n\s+to: packaging\/linux/);
  });
});
