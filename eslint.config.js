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
  {
    // The protocol is pure: no Node APIs, no I/O, no timers, no clock.
    files: ['helper/wireguard/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: bareBuiltins.map((name) => ({ name, message: 'helper/wireguard is pure: no Node built-ins (DESIGN.md, convention 1).' })),
        patterns: [
          { group: ['node:*'], message: 'helper/wireguard is pure: no Node built-ins (DESIGN.md, convention 1).' },
          { group: ['**/platform/**', '**/tunnel/**', '**/ipc/**'], message: 'helper/wireguard may not import the layers above it.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Time is a parameter in helper/wireguard.' },
        { name: 'setInterval', message: 'Time is a parameter in helper/wireguard.' },
        { name: 'Date', message: 'Time is a parameter in helper/wireguard.' },
        { name: 'process', message: 'helper/wireguard is pure.' },
        { name: 'Buffer', message: 'Use Uint8Array in helper/wireguard.' },
      ],
    },
  },
  {
    files: ['helper/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/wireguard/**', '**/tunnel/**'], message: 'helper/platform may not import the protocol or the tunnel.' }] }],
    },
  },
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
