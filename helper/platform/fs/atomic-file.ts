// Atomic replacement of a small file: a temporary file in the same directory is written and
// fsynced, renamed over the target, and the directory is fsynced, so a crash leaves either the old
// or the new file, never a partial one; a failure removes the temporary file. The one copy of
// this for the helper's state, its resolv.conf backup, the boot ruleset and the app's own files.
// Without `durable` the fsyncs are left out: still atomic for every other process (the helper
// started again after a crash of its own), only a power loss may keep the old file, or on some
// file systems leave an empty one.
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** The file's mode, exact whatever the umask; 0600 by default (state and secrets). */
  mode?: number;
  /** Whether the new file must survive a power loss (fsyncs, ~1 ms); true by default. */
  durable?: boolean;
  /** Test seam: runs after the temporary file is written and fsynced, before the rename; a throw aborts. */
  beforeRename?(tmpPath: string, finalPath: string): void | Promise<void>;
}

const TMP_MARK = '.tmp-';

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o600;
  const durable = opts.durable ?? true;
  const tmp = join(dirname(path), `.${basename(path)}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.chmod(mode);
      await fh.writeFile(data);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await opts.beforeRename?.(tmp, path);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (durable) await fsyncDir(dirname(path));
}

/** Makes a rename or unlink in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Deletes temporary files that a crash in the middle of writeFileAtomic left in `dir`; returns their names. */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const stale = (await readdir(dir)).filter((n) => n.startsWith('.') && n.includes(TMP_MARK));
  for (const n of stale) await unlink(join(dir, n)).catch(() => undefined);
  return stale;
}
