// `npm run build`, skipped when nothing it reads has changed since the last build it finished:
// the demo starts in a second instead of rebuilding the addon, the TypeScript and the renderer
// on every start. The record is a hash of every source file's path and bytes, the lock file and
// the Node that built the addon (its ABI), kept in dist/.build-inputs.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['helper', 'electron', 'renderer', 'e2e', 'packaging', 'scripts', 'assets'];
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const SKIP = new Set(['node_modules', 'build', 'dist', 'artifacts']);
const record = join(root, 'dist', '.build-inputs');
const addon = join(root, 'helper', 'native', 'build', 'Release', 'umbra_native.node');

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

function inputsHash() {
  const h = createHash('sha256').update(`${process.version} ${process.arch}\n`);
  const files = [...SOURCES.filter((d) => existsSync(join(root, d))).flatMap((d) => [...walk(join(root, d))]), ...FILES.map((f) => join(root, f)).filter(existsSync)];
  for (const f of files) h.update(`${relative(root, f)}\n`).update(readFileSync(f));
  return h.digest('hex');
}

const before = inputsHash();
if (existsSync(addon) && existsSync(record) && readFileSync(record, 'utf8').trim() === before) {
  console.log('umbra: the build is up to date (no source changed since the last one)');
  process.exit(0);
}
const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// Only a build that finished counts, and only for the sources it saw.
writeFileSync(record, `${before}\n`);
