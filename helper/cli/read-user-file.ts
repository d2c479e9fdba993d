// Reads a file the user names, as the user (the client's own permissions), for the helper: the
// helper never opens a path a caller names, so the CLI reads it and sends the contents. Errors are
// the CLI's own, in words a person can act on; a FIFO or device is refused, not waited on.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export class UserFileError extends Error {
  constructor(
    /** "no such file", "permission denied", "it is a directory" ... (or the size, when too large). */
    readonly why: string,
    /** Set when the file is larger than the limit: its size in bytes. */
    readonly size?: number,
  ) {
    super(why);
    this.name = 'UserFileError';
  }
}

function openProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return code ?? (e as Error).message;
  }
}

/** The UTF-8 text of a regular file of at most `maxBytes`; else a UserFileError saying why not. */
export async function readUserFile(path: string, maxBytes: number): Promise<string> {
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO returns at once (and is refused below) instead of waiting for a writer.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new UserFileError(openProblem(e));
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new UserFileError('it is a directory');
    if (!st.isFile()) throw new UserFileError('it is not a regular file (a pipe, socket or device)');
    if (st.size > maxBytes) throw new UserFileError(`it is ${st.size} bytes`, st.size);
    // Read one byte past the limit: a file that grew since fstat is still caught.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, n, buf.length - n, null));
      } catch (e) {
        throw new UserFileError(openProblem(e));
      }
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw new UserFileError(`it is more than ${maxBytes} bytes`, n);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(0, n));
    } catch {
      throw new UserFileError('it is not UTF-8 text');
    }
  } finally {
    await fh.close();
  }
}
