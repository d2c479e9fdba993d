// Umbra's version, from the package.json of the tree this file runs from (the checkout, dist/,
// or the installed app): the first one up the folders whose name is "umbra" (the project's) or
// "umbra-helper" (the packaged helper's, resources/helper/package.json).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; ) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if ((pkg.name === 'umbra' || pkg.name === 'umbra-helper') && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // none here, or unreadable: keep looking
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
