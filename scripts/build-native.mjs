// Builds the N-API addon in helper/native with node-gyp, against the headers of the Node that
// runs this script when they are installed locally (no header download on offline machines).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const prefix = dirname(dirname(process.execPath));
const args = [gyp, 'rebuild', '--directory', 'helper/native'];
if (existsSync(join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('Building the native addon failed: it needs python3, make and g++ (apt-get install python3 make g++).');
  process.exit(r.status ?? 1);
}
