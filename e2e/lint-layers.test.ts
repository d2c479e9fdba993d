// The layer graph in eslint.config.js holds: for every layer, a planted import of a layer it may
// not use fails lint, and an import it may use passes (so a rule that rejects everything, or
// nothing, is caught). Runs ESLint's API on text placed at a path inside each layer.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './umbrad-process.js';

const eslint = new ESLint({ cwd: PROJECT_ROOT });
const { LAYERS, forbiddenFor } = (await import(join(PROJECT_ROOT, 'eslint.config.js'))) as { LAYERS: Record<string, string[]>; forbiddenFor(layer: string): string[] };

/** Rule ids ESLint reports for `code` as if it were the file at `path` (relative to the project). */
async function ruleIds(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(PROJECT_ROOT, path) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

/** An import of `target` (a folder of the tree) as the file at `from` would spell it. */
function importOf(from: string, target: string): string {
  let rel = relative(join(PROJECT_ROOT, from, '..'), join(PROJECT_ROOT, target, 'x.js'));
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return `import { x } from '${rel}';\nexport const y = x;\n`;
}

const LAYER_RULE = '@typescript-eslint/no-restricted-imports';
const ALL = [...new Set([...Object.keys(LAYERS), 'renderer', 'e2e', 'scripts'])];

describe('the layer graph is enforced by lint', () => {
  for (const [layer, allowed] of Object.entries(LAYERS)) {
    const file = `${layer}/planted.ts`;
    // Written out here, not taken from the config: every other layer and top folder that is not
    // allowed (or under an allowed one); a parent of an allowed sub-folder stays forbidden.
    const forbidden = ALL.filter((o) => o !== layer && !layer.startsWith(`${o}/`) && !allowed.some((a) => o === a || o.startsWith(`${a}/`)));

    it(`${layer}: a wrong import fails, a permitted one passes`, async () => {
      expect(forbidden.length).toBeGreaterThan(0);
      expect(forbiddenFor(layer).sort()).toEqual([...forbidden, 'packaging'].filter((f) => !allowed.includes(f)).sort());
      for (const target of forbidden) {
        expect(await ruleIds(file, importOf(file, target)), `${layer} importing ${target}`).toContain(LAYER_RULE);
        expect(await ruleIds(file, importOf(file, `${target}/deeper`)), `${layer} importing ${target}/deeper`).toContain(LAYER_RULE);
      }
      for (const target of allowed) expect(await ruleIds(file, importOf(file, target)), `${layer} importing ${target}`).not.toContain(LAYER_RULE);
      // An allowed sub-folder opens only itself: its parent's other parts stay closed.
      for (const target of allowed.filter((a) => a.split('/').length > 2)) {
        const parent = target.split('/').slice(0, -1).join('/');
        if (!allowed.includes(parent)) expect(await ruleIds(file, importOf(file, `${parent}/firewall`)), `${layer} importing ${parent}/firewall`).toContain(LAYER_RULE);
      }
      // Inside itself is always fine; test fakes are not for production code.
      expect(await ruleIds(file, importOf(file, `${layer}/sub`))).not.toContain(LAYER_RULE);
      expect(await ruleIds(file, importOf(file, `${layer}/testing`))).toContain(LAYER_RULE);
    });
  }

  it('a relative dynamic import or require cannot step around the graph', async () => {
    const file = 'helper/platform/planted.ts';
    expect(await ruleIds(file, "export const t = () => import('../tunnel/tunnel.js');\n")).toContain('no-restricted-syntax');
    expect(await ruleIds(file, "import { createRequire } from 'node:module';\nexport const t = createRequire(import.meta.url)('../tunnel/tunnel.js');\n")).toContain('no-restricted-syntax');
    expect(await ruleIds('helper/platform/planted.mjs', "import { x } from '../tunnel/tunnel.js';\nexport const y = x;\n")).toContain(LAYER_RULE);
  });

  it('every folder of helper/ and electron/ with code is a layer of the graph (a new one cannot slip past it)', () => {
    const NOT_CODE = new Set(['helper/native', 'helper/systemd', 'helper/testing']);
    const folders = ['helper', 'electron'].flatMap((top) =>
      readdirSync(join(PROJECT_ROOT, top), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${top}/${d.name}`),
    );
    expect(folders.filter((f) => !NOT_CODE.has(f) && !(f in LAYERS))).toEqual([]);
  });

  it('tests may reach across layers (integration tests see both sides)', async () => {
    const file = 'helper/wireguard/planted.test.ts';
    expect(await ruleIds(file, importOf(file, 'helper/platform'))).not.toContain(LAYER_RULE);
  });

  it('the pure core takes no Node built-in and no clock', async () => {
    for (const layer of ['helper/wireguard', 'helper/net']) {
      const file = `${layer}/planted.ts`;
      expect(await ruleIds(file, "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n")).toContain(LAYER_RULE);
      for (const global of ['performance.now()', 'queueMicrotask(() => {})', 'Date.now()', 'setTimeout(() => {}, 1)']) {
        expect(await ruleIds(file, `export const t = () => ${global};\n`), `${layer}: ${global}`).toContain('no-restricted-globals');
      }
    }
  });

  it('the renderer sees only window.umbra and the schema types', async () => {
    const file = 'renderer/features/planted.ts';
    expect(await ruleIds(file, importOf(file, 'helper/platform'))).toContain(LAYER_RULE);
    expect(await ruleIds(file, "import { ipcRenderer } from 'electron';\nexport const i = ipcRenderer;\n")).toContain(LAYER_RULE);
    expect(await ruleIds(file, "import type { TunnelStatus } from '../../helper/ipc/schema.js';\nexport type T = TunnelStatus;\n")).not.toContain(LAYER_RULE);
  });
});
