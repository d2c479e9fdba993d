// Atomic file replacement for the state dir: a temporary file (0600) in the same directory is
// written and fsynced, renamed over the target, and the directory is fsynced. A crash leaves the
// old file or the new one, never a partial one; a failure removes the temporary file.
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Test seams around a write. */
export interface FsHooks {
  /** Runs after the temporary file is written and fsynced, before the rename; a throw aborts the write. */
  beforeRename?(tmpPath: string, finalPath: string): void | Promise<void>;
}

const TMP_MARK = '.tmp-';

export async function writeFileAtomic(path: string, data: string, hooks: FsHooks = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.chmod(0o600); // exact, whatever the umask
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await hooks.beforeRename?.(tmp, path);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Deletes temporary files that a crash in the middle of writeFileAtomic left in `dir`; returns their names. */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const stale = (await readdir(dir)).filter((n) => n.startsWith('.') && n.includes(TMP_MARK));
  for (const n of stale) await unlink(join(dir, n)).catch(() => undefined);
  return stale;
}
