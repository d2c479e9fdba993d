#!/usr/bin/env node
// Runs the compiled command-line client; `npm ci` (or `npm run build`) compiles it into dist/.
import { existsSync } from 'node:fs';
const entry = new URL('../dist/helper/cli.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('umbra: not built yet: run `npm ci` or `npm run build` in the project folder');
  process.exit(1);
}
await import(entry.href);
