// Builds the app with the real electron-builder and stand-ins for what cannot be downloaded here:
// the Electron binary (a script carrying Electron's fuse wire, so the fuses are really flipped)
// and fpm (CUSTOM_FPM_PATH: it records the arguments and the files it is given). The pinned
// Node.js runtime is the real one (npm pack, cached). Used by electron-builder.test.ts and
// packaged-helper.lab.test.ts.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeCacheDir } from '../../packaging/node-runtime.mjs';
import { PROJECT_ROOT } from './fake-root.js';

const P = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// Electron's fuse wire as it ships (V1, 9 fuses): RunAsNode on, cookie encryption off, NODE_OPTIONS
// on, --inspect on, asar integrity off, only-from-asar off, browser V8 snapshot off, file://
// privileges on, and one this @electron/fuses does not name yet.
const SHIPPED_WIRE = '101100011';

/** What the build needs from `npm run build`; without them the tests that build are skipped. */
const NEEDED = ['dist/helper/main.js', 'renderer/dist/index.html', 'helper/native/build/Release/umbra_native.node'];
export const missingInputs = (): string[] => NEEDED.filter((f) => !existsSync(P(f)));

export interface Build {
  stage: string;
  /** The `--linux dir` tree (what the .deb packs as /opt/Umbra). */
  unpacked: string;
  resources: string;
  /** fpm's arguments (empty without the .deb). */
  fpmArgs: string[];
  record: string;
  log: string;
  standInMain: boolean;
}

/**
 * The project's inputs to the build, copied (node_modules hard-linked) into `tmp`/stage, and the
 * build: `--linux dir` always, plus the .deb (through the stand-in fpm) with `deb`.
 */
export function buildPackage(tmp: string, opts: { deb: boolean }): Build {
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
    // The pinned Node.js runtime's tarball (packaging/node-runtime.mjs): fetched once, into the
    // project's cache, not the staging copy's.
    UMBRA_NODE_CACHE: runtimeCacheDir(PROJECT_ROOT, process.env),
  };
  const targets = opts.deb ? ['dir', 'deb'] : ['dir'];
  const r = spawnSync(process.execPath, [cli, '--linux', ...targets, '--x64', `-c.electronDist=${electronDist}`, `-c.directories.output=${out}`, '--publish', 'never'], {
    cwd: stage, env, encoding: 'utf8', timeout: 170_000,
  });
  const log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`electron-builder failed (${r.status}):\n${log}`);
  const unpacked = join(out, 'linux-unpacked');
  const fpmArgs = opts.deb ? readFileSync(join(record, 'argv'), 'utf8').split('\0').slice(0, -1) : [];
  return { stage, unpacked, resources: join(unpacked, 'resources'), fpmArgs, record, log, standInMain };
}
