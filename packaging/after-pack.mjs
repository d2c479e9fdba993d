// electron-builder's afterPack hook (electron-builder.yml): completes resources/helper/, the
// privileged helper outside the asar, and checks it.
//
// The helper and the CLI ship as bundles (bundle-helper.mjs) in resources/helper/dist/, with
// bin/umbrad.js and bin/umbra.js importing them: Node loads a handful of files instead of ~150
// modules, which is most of the helper's cold start and of its idle memory. They hold their
// dependencies (@noble/*, zod), so the helper needs no node_modules/. The hook also writes the
// helper's package.json ("type": "module", and the app's version, which the helper reports, and
// which the addon's lookup walks up to), then fails the build when a part of the helper is
// missing (extraResources only warns about a missing source, e.g. the native addon).
// It also unpacks the Node.js runtime the helper and the CLI run on (node-runtime.mjs) into
// resources/helper/node/: the pinned Node LTS for the architecture being packed.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import builderUtil from 'builder-util';
import { spawnSync } from 'node:child_process';
import { binScript, BUNDLE_ENTRIES, bundleHelper, warmCompileCache } from './bundle-helper.mjs';
import { installNodeRuntime, runtimeCacheDir, RUNTIME_NODE } from './node-runtime.mjs';

/** Paths under resources/ that a package must have, or the helper cannot run or be installed. */
export const HELPER_PARTS = [
  'helper/package.json',
  'helper/bin/umbrad.js',
  'helper/bin/umbra.js',
  RUNTIME_NODE,
  'helper/node/LICENSE',
  `helper/dist/${BUNDLE_ENTRIES.umbrad}`,
  `helper/dist/${BUNDLE_ENTRIES.umbra}`,
  'helper/helper/native/build/Release/umbra_native.node',
  'helper/systemd/umbrad.service',
  'helper/systemd/umbra-early-boot.service',
  'packaging/linux/setup-helper.sh',
  'packaging/linux/install-helper.sh',
  'packaging/linux/umbrad.in',
  'packaging/linux/umbra.in',
];

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
  await bundleHelper(projectDir, join(helper, 'dist'));
  await mkdir(join(helper, 'bin'), { recursive: true });
  for (const [name, entry] of [['umbrad.js', BUNDLE_ENTRIES.umbrad], ['umbra.js', BUNDLE_ENTRIES.umbra]]) {
    await writeFile(join(helper, 'bin', name), binScript(entry), { mode: 0o755 });
  }
  await writeFile(join(helper, 'package.json'), helperPackageJson(packager.appInfo.version));
  installNodeRuntime(resources, builderUtil.Arch[context.arch], runtimeCacheDir(projectDir));
  // The code cache of the bundles, for the cold start; skipped for a package of another architecture.
  const warmed = warmCompileCache(helper, join(resources, RUNTIME_NODE), (node, args) => {
    const r = spawnSync(node, args, { cwd: helper, timeout: 30_000, stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    return r.error === undefined && r.signal === null;
  });
  if (!warmed) builderUtil.log.warn({ arch: builderUtil.Arch[context.arch] }, 'the helper\'s compile cache is not warmed: its Node does not run here');

  const missing = [];
  for (const part of HELPER_PARTS) {
    if (!(await exists(join(resources, part)))) missing.push(part);
  }
  if (missing.length > 0) {
    throw new Error(`the packaged helper is incomplete: no resources/${missing.join(', resources/')} (run npm run build first)`);
  }
}
