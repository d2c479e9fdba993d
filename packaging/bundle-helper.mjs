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

/** bin/umbrad.js or bin/umbra.js for the package: imports its bundle (one module, no lookup). */
export function binScript(entry) {
  return `#!/usr/bin/env node\n// Written by packaging/after-pack.mjs: the bundled ${entry === BUNDLE_ENTRIES.umbrad ? 'helper' : 'CLI'} (packaging/bundle-helper.mjs).\nawait import('../dist/${entry}');\n`;
}
