// Lint rules that hold the layers of DESIGN.md apart (convention 8).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

import { builtinModules } from 'node:module';

// Bare names are matched exactly (a pattern like 'crypto' would also catch ./crypto/aead.js).
const bareBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

/** What the renderer may import: window.umbra, the schema's types and its pure words; `open` (a path part) opens more. */
function rendererImports(open = 'helper/ipc/tunnel-words') {
  return ['error', {
    paths: ['electron', ...bareBuiltins].map((name) => ({ name, message: 'The renderer sees only window.umbra.' })),
    patterns: [
      { group: ['node:*'], message: 'The renderer sees only window.umbra.' },
      // Types from the shared IPC schema are fine (convention 6); code from the other processes is not.
      {
        regex: `^(?!.*/(${open}|helper/ipc/tunnel-words)\\b).*/(helper|electron)/`,
        allowTypeImports: true,
        message: 'The renderer sees only window.umbra (and the schema types).',
      },
    ],
  }];
}

// The layer graph (DESIGN.md, "Layout"; README, "Layers"): what each part of the source may
// import besides itself and packages. Tests and their fixtures (testing/, testdata/) may reach
// across: an integration test is allowed to see both sides. A wrong import fails `npm run lint`;
// e2e/lint-layers.test.ts plants one for each rule.
export const LAYERS = {
  'helper/net': [],
  'helper/wireguard': ['helper/net'],
  'helper/config': ['helper/net'],
  'helper/platform': ['helper/net'],
  'helper/ipc': ['helper/net', 'helper/platform'],
  'helper/tunnel': ['helper/net', 'helper/wireguard', 'helper/config', 'helper/platform'],
  'helper/leakcheck': ['helper/net', 'helper/config', 'helper/platform', 'helper/ipc'],
  'helper/latency': ['helper/net', 'helper/platform', 'helper/ipc'],
  'helper/daemon': ['helper/net', 'helper/wireguard', 'helper/config', 'helper/platform', 'helper/ipc', 'helper/tunnel', 'helper/leakcheck', 'helper/latency'],
  'helper/commands': ['helper/net', 'helper/wireguard', 'helper/config', 'helper/platform', 'helper/ipc', 'helper/tunnel', 'helper/leakcheck', 'helper/latency', 'helper/daemon'],
  'helper/cli': ['helper/net', 'helper/config', 'helper/platform/fs', 'helper/ipc'],
  // Main is an unprivileged user process: the helper's client and words, and plain file writing.
  'electron/main': ['helper/ipc', 'helper/platform/fs', 'packaging/appimage'],
  'electron/browser-host': ['helper/ipc', 'electron/main'],
  'electron/preload': [],
};

/**
 * Everything a layer may not import: the other layers and top folders, minus what it is allowed (a
 * folder allows what is under it). A parent of an allowed sub-folder stays forbidden (electron/main
 * may use helper/platform/fs, not the rest of helper/platform): the sub-folder is an exception.
 */
export function forbiddenFor(layer) {
  const allowed = LAYERS[layer];
  const all = [...Object.keys(LAYERS), 'packaging', 'renderer', 'e2e', 'scripts'];
  return [...new Set(all)].filter((other) => other !== layer && !layer.startsWith(`${other}/`) && !allowed.some((a) => a === other || other.startsWith(`${a}/`)));
}

/**
 * A path pattern for a folder of the tree, as a relative import spells it from anywhere: from a
 * sibling the top folder is not in the path ('../wireguard/x.js'), so helper/ and electron/ go.
 */
const folderPattern = (folder) => `**/${folder.replace(/^(helper|electron)\//, '')}/**`;

function layerRules() {
  const pure = {
    paths: bareBuiltins.map((name) => ({ name, message: 'this layer is pure: no Node built-ins (DESIGN.md, convention 1).' })),
    patterns: [{ group: ['node:*'], message: 'this layer is pure: no Node built-ins (DESIGN.md, convention 1).' }],
  };
  const rules = Object.keys(LAYERS).map((layer) => {
    // A parent of an allowed sub-folder (helper/platform for helper/platform/fs) stays forbidden
    // but for that sub-folder: its entries are excluded one level down, the sub-folder re-included
    // (gitignore cannot re-include anything under an excluded folder).
    const seg = (f) => f.replace(/^(helper|electron)\//, '');
    const forbidden = forbiddenFor(layer).map((f) => {
      const open = LAYERS[layer].filter((a) => a.startsWith(`${f}/`));
      return { name: f, group: open.length === 0 ? [folderPattern(f)] : [`**/${seg(f)}/*`, ...open.map((a) => `!**/${seg(a)}`)] };
    });
    const isPure = layer === 'helper/wireguard' || layer === 'helper/net';
    return {
      files: [`${layer}/**/*.{ts,tsx,cts,mts,js,mjs,cjs}`],
      ignores: ['**/*.test.ts', '**/testing/**', '**/testdata/**'],
      rules: {
        // A relative path built at run time would step around the rule below: import statically.
        'no-restricted-syntax': ['error',
          { selector: 'ImportExpression[source.value=/^\\./]', message: 'a relative dynamic import escapes the layer graph: import it statically.' },
          { selector: 'CallExpression[callee.name="require"][arguments.0.value=/^\\./]', message: 'require escapes the layer graph: import it statically.' },
          { selector: 'CallExpression[callee.callee.name="createRequire"][arguments.0.value=/^\\./]', message: 'require escapes the layer graph: import it statically.' },
        ],
        '@typescript-eslint/no-restricted-imports': ['error', {
          paths: isPure ? pure.paths : [],
          patterns: [
            ...(isPure ? pure.patterns : []),
            { group: ['**/testing/**', '**/testdata/**'], message: 'production code does not import test fakes or test data.' },
            ...forbidden.map((f) => ({
              group: f.group,
              // A type from the IPC schema crosses every process boundary (convention 6).
              ...(layer.startsWith('electron/') && f.name === 'renderer' ? { allowTypeImports: true } : {}),
              message: `${layer} may not import ${f.name} (the layer graph in eslint.config.js; DESIGN.md, "Layout").`,
            })),
          ],
        }],
      },
    };
  });
  // The pure core: time and scheduling are parameters.
  const noClock = [
    { name: 'setTimeout', message: 'Time is a parameter in the pure core.' },
    { name: 'setInterval', message: 'Time is a parameter in the pure core.' },
    { name: 'queueMicrotask', message: 'Scheduling belongs to the driver, not the pure core.' },
    { name: 'setImmediate', message: 'Scheduling belongs to the driver, not the pure core.' },
    { name: 'performance', message: 'Time is a parameter in the pure core.' },
    { name: 'Date', message: 'Time is a parameter in the pure core.' },
    { name: 'process', message: 'The pure core is pure.' },
    { name: 'Buffer', message: 'Use Uint8Array in the pure core.' },
  ];
  rules.push({ files: ['helper/wireguard/**/*.ts', 'helper/net/**/*.ts'], ignores: ['**/*.test.ts', '**/testing/**'], rules: { 'no-restricted-globals': ['error', ...noClock] } });
  return rules;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'helper/native/build/**', 'e2e/artifacts/**', 'renderer/dist/**', 'release/**', 'bench-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layerRules(),
  {
    // Scripts that drive a browser (page.evaluate callbacks) see its globals too.
    files: ['renderer/dev/**/*.{js,mjs}', 'e2e/**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { '@typescript-eslint/no-restricted-imports': rendererImports() },
  },
  {
    // Its tests may share the helper's test data built from the schema (a status factory).
    files: ['renderer/test/**/*.{ts,tsx}'],
    rules: { '@typescript-eslint/no-restricted-imports': rendererImports('helper/ipc/testing/') },
  },
);
