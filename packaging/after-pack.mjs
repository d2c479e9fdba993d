// electron-builder's afterPack hook (electron-builder.yml): completes resources/helper/, the
// privileged helper outside the asar, and checks it.
//
// extraResources copies most of the helper, but electron-builder leaves every extraResources
// source out of the asar, and the app needs two of them inside it too: dist/helper/ (the main
// process imports the helper's IPC client and schema) and package.json. So this hook copies
// dist/helper/ (the .js files, no tests) and writes the helper's package.json ("type": "module",
// and the app's version, which the helper reports). Then it fails the build when a part of the
// helper is missing (extraResources only warns about a missing source, e.g. the native addon).
// It also unpacks the Node.js runtime the helper and the CLI run on (node-runtime.mjs) into
// resources/helper/node/: the pinned Node LTS for the architecture being packed.
import { cp, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import builderUtil from 'builder-util';
import { installNodeRuntime, runtimeCacheDir, RUNTIME_NODE } from './node-runtime.mjs';

/** Paths under resources/ that a package must have, or the helper cannot run or be installed. */
export const HELPER_PARTS = [
  'helper/package.json',
  'helper/bin/umbrad.js',
  'helper/bin/umbra.js',
  RUNTIME_NODE,
  'helper/node/LICENSE',
  'helper/dist/helper/main.js',
  'helper/dist/helper/cli.js',
  'helper/helper/native/build/Release/umbra_native.node',
  'helper/node_modules/@noble/ciphers/package.json',
  'helper/node_modules/@noble/curves/package.json',
  'helper/node_modules/@noble/hashes/package.json',
  'helper/node_modules/zod/package.json',
  'helper/systemd/umbrad.service',
  'helper/systemd/umbra-early-boot.service',
  'packaging/linux/setup-helper.sh',
  'packaging/linux/install-helper.sh',
  'packaging/linux/umbrad.in',
  'packaging/linux/umbra.in',
];

/** Which files of dist/helper/ the helper ships: compiled modules, no tests, no test fakes. */
export function isHelperFile(path, isDirectory) {
  const name = basename(path);
  if (isDirectory) return name !== 'testing' && name !== 'testdata';
  return name.endsWith('.js') && !name.endsWith('.test.js');
}

/** The helper's package.json: ESM, and the app's version. */
export function helperPackageJson(version) {
  return `${JSON.stringify({ name: 'umbra-helper', version, private: true, type: 'module' }, null, 2)}\n`;
}

async function exists(path) {
  return (await stat(path).catch(() => null)) != null;
}

export default async function afterPack(context) {
  const { packager, appOutDir } = context;
  const projectDir = packager.info.projectDir;
  const resources = packager.getResourcesDir(appOutDir);
  const helper = join(resources, 'helper');

  const compiled = join(projectDir, 'dist', 'helper');
  if (!(await exists(join(compiled, 'main.js')))) {
    throw new Error(`the helper is not compiled (no ${join(compiled, 'main.js')}): run npm run build first`);
  }
  await cp(compiled, join(helper, 'dist', 'helper'), {
    recursive: true,
    filter: async (src) => isHelperFile(src, (await stat(src)).isDirectory()),
  });
  await writeFile(join(helper, 'package.json'), helperPackageJson(packager.appInfo.version));
  installNodeRuntime(resources, builderUtil.Arch[context.arch], runtimeCacheDir(projectDir));

  const missing = [];
  for (const part of HELPER_PARTS) {
    if (!(await exists(join(resources, part)))) missing.push(part);
  }
  if (missing.length > 0) {
    throw new Error(`the packaged helper is incomplete: no resources/${missing.join(', resources/')} (run npm run build first)`);
  }
}
