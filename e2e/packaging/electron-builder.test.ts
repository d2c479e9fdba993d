// electron-builder.yml, checked by electron-builder itself:
// 1. its schema validation accepts the config (and rejects a broken copy);
// 2. a real `electron-builder --linux deb` run packs the app, with a stand-in for the Electron
//    binary (it cannot be downloaded here: a script carrying Electron's fuse wire, so the fuses
//    are flipped as in a real build) and a stand-in for fpm (CUSTOM_FPM_PATH: it records the
//    arguments and the files it is given). The test then checks the unpacked tree (helper,
//    addon, units and scripts outside the asar; the app inside), the fuses, what fpm would
//    have put in the .deb (maintainer scripts, dependencies, desktop entry, icons), and runs the
//    packaged helper with this machine's Node.
// It builds in a staging copy of the project's inputs (node_modules hard-linked), so it neither
// writes into the project nor sees a half-written file of someone else's. It needs the build
// (npm run build): without dist/helper/, renderer/dist/ or the native addon it is skipped and
// says why. The Electron main process (dist/electron/main/index.js) gets a stand-in while it is
// not built.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_PARTS, helperPackageJson, isHelperFile } from '../../packaging/after-pack.mjs';
import { PROJECT_ROOT } from './fake-root.js';

const require = createRequire(import.meta.url);
const P = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// Electron's fuse wire as it ships (V1, 9 fuses): RunAsNode on, cookie encryption off, NODE_OPTIONS
// on, --inspect on, asar integrity off, only-from-asar off, browser V8 snapshot off, file://
// privileges on, and one this @electron/fuses does not name yet.
const SHIPPED_WIRE = '101100011';

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
  it('ships compiled modules only, and an ESM package.json with the version', () => {
    expect(isHelperFile('/x/dist/helper/main.js', false)).toBe(true);
    expect(isHelperFile('/x/dist/helper/main.js.map', false)).toBe(false);
    expect(isHelperFile('/x/dist/helper/a.test.js', false)).toBe(false);
    expect(isHelperFile('/x/dist/helper/ipc/testing', true)).toBe(false);
    expect(JSON.parse(helperPackageJson('1.2.3'))).toEqual({ name: 'umbra-helper', version: '1.2.3', private: true, type: 'module' });
  });
});

const NEEDED = ['dist/helper/main.js', 'renderer/dist/index.html', 'helper/native/build/Release/umbra_native.node'];
const missing = NEEDED.filter((f) => !existsSync(P(f)));

interface Build {
  stage: string;
  unpacked: string;
  resources: string;
  fpmArgs: string[];
  record: string;
  log: string;
  standInMain: boolean;
}

describe('electron-builder --linux deb (stand-in Electron and fpm)', () => {
  let tmp: string;
  let b: Build;

  beforeAll(() => {
    if (missing.length > 0) return;
    tmp = mkdtempSync(join(tmpdir(), 'umbra-eb-'));
    b = build(tmp);
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
    // No tests, no test fakes, no source maps, no sources of the dependencies.
    const files = walk(join(b.resources, 'helper'));
    expect(files.filter((f) => /\.test\.js$|\/testing\/|\.map$|\.d\.ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.includes('/node_modules/') && !/\/node_modules\/(@noble\/(ciphers|curves|hashes)|zod)\//.test(f))).toEqual([]);
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

  it('flips the fuses: RunAsNode stays on (the helper needs it), NODE_OPTIONS and --inspect off, app only from the asar', async (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const { getCurrentFuseWire, FuseV1Options } = require('@electron/fuses') as typeof import('@electron/fuses');
    const wire = (await getCurrentFuseWire(join(b.unpacked, 'umbra-app'))) as unknown as Record<number, number>;
    const on = (o: number) => String.fromCharCode(wire[o]!);
    expect(on(FuseV1Options.RunAsNode)).toBe('1');
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
    expect(depends).toEqual(expect.arrayContaining(['nftables', 'iproute2', 'libnss3', 'libgtk-3-0 | libgtk-3-0t64']));
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

  it('the packaged helper runs from its own folder (with this machine\'s Node; the package uses Electron\'s)', (ctx) => {
    if (missing.length > 0) ctx.skip('not built');
    const helper = join(b.resources, 'helper');
    const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: tmp, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const usage = run([join(helper, 'bin', 'umbrad.js'), 'help']);
    expect(usage.stdout).toMatch(/^usage: umbrad <command>/);
    expect(usage.status).toBe(0);
    const cli = run([join(helper, 'bin', 'umbra.js'), '--socket', join(tmp, 'none.sock'), 'status']);
    expect(cli.stderr).toMatch(/not running/);
    // Every module resolves its imports inside resources/helper/, and the addon found is the packaged one.
    const check = `
      import { readdirSync } from 'node:fs';
      import { join } from 'node:path';
      const root = ${JSON.stringify(join(helper, 'dist', 'helper'))};
      const files = readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.js') && f !== 'main.js' && f !== 'cli.js');
      for (const f of files) await import(join(root, f));
      const native = await import(join(root, 'platform', 'native.js'));
      console.log(files.length, native.nativeAddonPath(), Object.keys(native.loadNative()).length);`;
    const r = run(['--input-type=module', '-e', check]);
    expect(r.stderr).toBe('');
    const [count, addon, exports] = r.stdout.trim().split(' ');
    expect(Number(count)).toBeGreaterThan(20);
    expect(addon).toBe(join(helper, 'helper', 'native', 'build', 'Release', 'umbra_native.node'));
    expect(Number(exports)).toBeGreaterThan(5);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The project's inputs to the build, copied (node_modules hard-linked) into `tmp`/stage, and the build. */
function build(tmp: string): Build {
  const stage = join(tmp, 'stage');
  mkdirSync(stage);
  for (const f of ['package.json', 'package-lock.json', 'electron-builder.yml']) cpSync(P(f), join(stage, f));
  for (const d of ['bin', 'packaging', 'helper/systemd', 'dist/helper', 'renderer/dist', 'assets', 'dist/electron', 'dist/packaging']) {
    if (existsSync(P(d))) cpSync(P(d), join(stage, d), { recursive: true });
  }
  cpSync(P('helper/native/build/Release/umbra_native.node'), join(stage, 'helper/native/build/Release/umbra_native.node'));
  const standInMain = !existsSync(P('dist/electron/main/index.js'));
  if (standInMain) {
    mkdirSync(join(stage, 'dist/electron/main'), { recursive: true });
    writeFileSync(join(stage, 'dist/electron/main/index.js'), '// stand-in: the main process is not built\n');
  }
  // Hard links: 16,000 files in a second, and electron-builder only reads them.
  if (spawnSync('cp', ['-al', P('node_modules'), join(stage, 'node_modules')]).status !== 0) {
    cpSync(P('node_modules'), join(stage, 'node_modules'), { recursive: true });
  }

  // Electron's binary, as far as electron-builder and @electron/fuses look at it.
  const electronDist = join(tmp, 'electron-dist');
  mkdirSync(electronDist);
  writeFileSync(join(electronDist, 'electron'), `#!/bin/sh\n# stand-in for Electron: ${SENTINEL}\u0001\u0009${SHIPPED_WIRE}\n`, { mode: 0o755 });
  writeFileSync(join(electronDist, 'chrome-sandbox'), '', { mode: 0o755 });
  writeFileSync(join(electronDist, 'LICENSE'), 'stand-in\n');

  const record = join(tmp, 'fpm');
  mkdirSync(record);
  const fpm = join(tmp, 'fake-fpm');
  writeFileSync(fpm, `#!/bin/sh
# Records its arguments (NUL-separated) and copies the files electron-builder hands it.
printf '%s\\0' "$@" >"$FPM_RECORD/argv"
prev=
for a in "$@"; do
  case $prev in
    --after-install|--after-remove|--before-remove|--before-install) cp "$a" "$FPM_RECORD/\${prev#--}" ;;
    --package) : >"$a" ;;
  esac
  case $a in *.desktop=*) cp "\${a%%=*}" "$FPM_RECORD/desktop" ;; esac
  prev=$a
done
`, { mode: 0o755 });

  const out = join(tmp, 'out');
  const cli = P('node_modules', 'electron-builder', 'cli.js');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tmp,
    CUSTOM_FPM_PATH: fpm,
    FPM_RECORD: record,
    ELECTRON_BUILDER_CACHE: join(tmp, 'cache'),
    CI: 'true',
  };
  const r = spawnSync(process.execPath, [cli, '--linux', 'deb', '--x64', `-c.electronDist=${electronDist}`, `-c.directories.output=${out}`, '--publish', 'never'], {
    cwd: stage, env, encoding: 'utf8', timeout: 170_000,
  });
  const log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`electron-builder failed (${r.status}):\n${log}`);
  const unpacked = join(out, 'linux-unpacked');
  const fpmArgs = readFileSync(join(record, 'argv'), 'utf8').split('\0').slice(0, -1);
  return { stage, unpacked, resources: join(unpacked, 'resources'), fpmArgs, record, log, standInMain };
}
