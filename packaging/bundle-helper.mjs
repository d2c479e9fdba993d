// The packaged helper and CLI as bundles: dist/helper/main.js (umbrad) and dist/helper/cli.js
// (umbra) with everything they import, @noble/* and zod included, in a few files instead of ~150
// modules and three packages. Node's ES module loader pays per module (resolve, read, compile,
// link): from the checkout, loading `umbrad up` takes ~70 ms and 58 MB of RSS; bundled, ~20 ms and
// 49 MB. That is most of the cold start to the first packet and of the idle memory.
//
// The dynamic imports stay dynamic (one chunk each): `umbrad up` still never loads the daemon,
// and zod loads only when a state file is checked. Node's built-ins stay imports. Not minified:
// a stack trace in a user's log must name real functions. The addon and the version are found as
// from dist/helper/: by walking up to the helper's package.json (resources/helper/).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'rolldown';

/** The bundles' entries (under outDir): what bin/umbrad.js and bin/umbra.js import. */
export const BUNDLE_ENTRIES = { umbrad: 'umbrad.mjs', umbra: 'umbra.mjs' };

/** Bundles the compiled helper of `projectDir` into `outDir` (emptied first); returns the files written. */
export async function bundleHelper(projectDir, outDir) {
  await rm(outDir, { recursive: true, force: true });
  const compiled = join(projectDir, 'dist', 'helper');
  const out = await build({
    input: { umbrad: join(compiled, 'main.js'), umbra: join(compiled, 'cli.js') },
    cwd: projectDir,
    platform: 'node',
    external: [/^node:/],
    logLevel: 'warn',
    output: {
      dir: outDir,
      format: 'esm',
      entryFileNames: '[name].mjs',
      chunkFileNames: 'chunks/[name]-[hash].mjs',
      sourcemap: false,
    },
  });
  return out.output.map((o) => o.fileName);
}

/** Where the bundles' V8 code cache lives, beside dist/ (under resources/helper/). */
export const COMPILE_CACHE_DIR = 'compile-cache';

/**
 * bin/umbrad.js or bin/umbra.js for the package: turns on Node's compile cache in
 * ../compile-cache (portable: keyed by the path relative to it, so the cache warmed at build time
 * holds wherever the app is installed), then imports its bundle. Parsing the bundles is ~9 ms of
 * a cold `umbrad up`, ~2.5 ms from the cache. The folder is root's and read-only under the unit:
 * Node then writes nothing new, silently, and reads what is there.
 */
export function binScript(entry) {
  return `#!/usr/bin/env node
// Written by packaging/after-pack.mjs: the bundled ${entry === BUNDLE_ENTRIES.umbrad ? 'helper' : 'CLI'} (packaging/bundle-helper.mjs).
import module from 'node:module';
import { fileURLToPath } from 'node:url';
module.enableCompileCache?.({ directory: fileURLToPath(new URL('../${COMPILE_CACHE_DIR}', import.meta.url)), portable: true });
await import('../dist/${entry}');
`;
}

/**
 * Fills the compile cache by running commands that touch nothing on the machine (a version, a
 * usage text, a config that does not exist, a CLI with no helper to talk to) on the tree's own
 * Node; V8's cache is per architecture and version, so only when that Node runs here. Returns
 * whether it ran.
 */
export function warmCompileCache(helperDir, node, run) {
  const runs = [
    [BUNDLE_ENTRIES.umbrad, ['version']],
    [BUNDLE_ENTRIES.umbrad, ['up', '/nonexistent/umbra-warm-up.conf']],
    [BUNDLE_ENTRIES.umbra, ['--socket', '/nonexistent/umbrad.sock', 'status']],
  ];
  for (const [entry, args] of runs) {
    const bin = join(helperDir, 'bin', entry === BUNDLE_ENTRIES.umbrad ? 'umbrad.js' : 'umbra.js');
    if (!run(node, [bin, ...args])) return false;
  }
  return true;
}
