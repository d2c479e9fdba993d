// The socket file: where it may live, and how it is born with its permissions.
//
// The helper is root and acts on a path, so the path must be one nobody else can change:
// - its directory is owned by root (the helper's own uid) and writable by no one else, and so is
//   every directory above it (a sticky one, like /tmp, is fine above: others cannot rename our
//   entries there). Otherwise the helper refuses to start, saying what to fix.
// - a directory that is the helper's own (it created it, or systemd did from RuntimeDirectory=,
//   which it says in $RUNTIME_DIRECTORY) gets group umbra and mode 0750 through a file descriptor
//   opened with O_NOFOLLOW; any other directory is only checked, never changed (the helper must
//   not chmod /run because someone passed --socket /run/umbrad.sock).
// - the socket is created under a umask that gives it its final mode (0660) at bind(), so it is
//   never connectable by more than it should be; its group is then set with lchown, which is safe
//   because the directory was checked (no one else can swap the entry) and until then the socket
//   belongs to root's group only. Finally lstat checks that the path is a socket owned by us with
//   that mode and group.
// - a stale socket (nobody answers) is replaced; a live helper or a non-socket is left alone.
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lchownSync, lstatSync, mkdirSync, openSync, realpathSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import { dirname, resolve, sep } from 'node:path';

/** What the checks look at of a file's status. */
export interface FileMode {
  uid: number;
  mode: number;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

const FIX = 'use a directory that only root can write, such as the default /run/umbra (systemd makes it from RuntimeDirectory=umbra in umbrad.service)';

function ownerName(euid: number): string {
  return euid === 0 ? 'root' : `the helper's user (uid ${euid})`;
}

/** Why `dir`, the socket's own directory, is unsafe; undefined when it is safe. Pure. */
export function socketDirectoryProblem(dir: string, st: FileMode, euid: number): string | undefined {
  if (st.isSymbolicLink) return `the socket's directory ${dir} is a symbolic link: ${FIX}`;
  if (!st.isDirectory) return `the socket's directory ${dir} is not a directory: ${FIX}`;
  if (st.uid !== euid && st.uid !== 0) return `the socket's directory ${dir} belongs to uid ${st.uid}, not ${ownerName(euid)}, so its owner could replace the socket: ${FIX} (or sudo chown root ${dir})`;
  if ((st.mode & 0o022) !== 0) return `the socket's directory ${dir} is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${octal(st.mode)}), so they could replace the socket: ${FIX} (or sudo chmod go-w ${dir})`;
  return undefined;
}

/** Why `dir`, a directory above the socket's, is unsafe; undefined when it is safe. Pure. */
export function ancestorProblem(dir: string, st: FileMode, euid: number): string | undefined {
  if (st.isSymbolicLink) return undefined; // what it points to is checked on the real path
  if (st.uid !== euid && st.uid !== 0) return `${dir}, above the socket's directory, belongs to uid ${st.uid}, so its owner could swap the socket's directory: ${FIX}`;
  const sticky = (st.mode & 0o1000) !== 0; // S_ISVTX
  if ((st.mode & 0o022) !== 0 && !sticky) return `${dir}, above the socket's directory, is writable by others (mode ${octal(st.mode)}), so they could swap the socket's directory: ${FIX}`;
  return undefined;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function fileMode(st: Stats): FileMode {
  return { uid: st.uid, mode: st.mode, isDirectory: st.isDirectory(), isSymbolicLink: st.isSymbolicLink() };
}

/** "/a/b/c" -> ["/", "/a", "/a/b"]: the directories above `dir`. */
function ancestors(dir: string): string[] {
  const parts = dir.split(sep).filter(Boolean);
  return parts.map((_, i) => (i === 0 ? sep : sep + parts.slice(0, i).join(sep)));
}

export interface SocketFileOptions {
  path: string;
  /** The socket's mode, given at bind() through the umask. */
  socketMode: number;
  /** The mode of a directory that is the helper's own. */
  directoryMode: number;
  /** The group for the socket (and the helper's own directory); undefined: the helper's gid. */
  gid: number | undefined;
  /** The directory systemd made for the helper ($RUNTIME_DIRECTORY); it may be given group and mode. */
  runtimeDirectory: string | undefined;
  log: (line: string) => void;
}

/**
 * Checks (and, when it is the helper's own, sets up) the socket's directory, and clears a stale
 * socket. Throws with what to do when the path cannot be used.
 */
export async function prepareSocketFile(o: SocketFileOptions): Promise<void> {
  const path = resolve(o.path);
  const dir = dirname(path);
  const euid = process.geteuid?.() ?? 0;
  const created = makeDirectory(dir);
  const own = created || (o.runtimeDirectory ?? '').split(':').filter(Boolean).map((d) => resolve(d)).includes(dir);

  for (const a of new Set([...ancestors(dir), ...ancestors(realpathSync(dir))])) {
    const problem = ancestorProblem(a, fileMode(lstatSync(a)), euid);
    if (problem) throw new Error(`cannot serve on ${path}: ${problem}`);
  }
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      const st = lstatSync(dir);
      throw new Error(`cannot serve on ${path}: ${socketDirectoryProblem(dir, fileMode(st), euid) ?? (e as Error).message}`, { cause: e });
    }
    throw new Error(`cannot open the socket's directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    const problem = socketDirectoryProblem(dir, fileMode(st), euid);
    if (problem) throw new Error(`cannot serve on ${path}: ${problem}`);
    if (own) {
      const gid = o.gid ?? process.getegid?.() ?? 0;
      try {
        if (st.gid !== gid || st.uid !== euid) fchownSync(fd, euid, gid);
      } catch (e) {
        o.log(`ipc: cannot give ${dir} to gid ${gid}: ${(e as Error).message}`);
      }
      fchmodSync(fd, o.directoryMode);
    } else if (o.gid !== undefined && (st.mode & 0o001) === 0 && (st.gid !== o.gid || (st.mode & 0o010) === 0)) {
      o.log(`ipc: note: ${dir} (mode ${octal(st.mode)}, gid ${st.gid}) is not the helper's own directory and is left as it is; members of the group may not be able to reach the socket through it`);
    }
  } finally {
    closeSync(fd);
  }
  await clearStaleSocket(path, o.log);
}

/** Creates `dir` (0700 until it is set up) when missing; whether this call created it. */
function makeDirectory(dir: string): boolean {
  try {
    lstatSync(dir);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot check the socket's directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false; // someone else's: checked as such
    throw new Error(`cannot create the socket's directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/** Removes a stale socket (one nobody answers on); refuses when a live helper answers or the path is not a socket. */
async function clearStaleSocket(path: string, log: (line: string) => void): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`cannot check ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket: move it away, or give the helper another socket path`);
  if (await somebodyAnswers(path)) throw new Error(`another Umbra helper is already running on ${path}: stop it first (sudo systemctl stop umbrad)`);
  unlinkSync(path);
  log(`ipc: removed the stale socket ${path}`);
}

/** Whether a process accepts connections on the socket at `path`. */
function somebodyAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(path);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // it exists and does not refuse: treat it as alive rather than steal it
    }, timeoutMs);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve(false);
      else reject(new Error(`cannot tell whether a helper is running on ${path} (${e.code ?? e.message}): remove the socket if none is`, { cause: e }));
    });
  });
}

/**
 * Listens on `path` with the socket born in mode `socketMode` (the umask is set around the
 * bind(), which net.Server does synchronously inside listen()), then gives it group `gid` and
 * checks what is there. Returns the socket file's status, for removing exactly it later.
 */
export async function listenOnSocketFile(server: net.Server, o: Pick<SocketFileOptions, 'path' | 'socketMode' | 'gid' | 'log'>): Promise<Stats> {
  const { path } = o;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === 'EADDRINUSE' ? `another Umbra helper is already listening on ${path}: stop it first (sudo systemctl stop umbrad)` : `cannot listen on ${path}: ${e.message}`, { cause: e }));
    };
    server.once('error', onError);
    const before = process.umask(0o777 & ~o.socketMode);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(before);
    }
  });
  const euid = process.geteuid?.() ?? 0;
  let st = lstatSync(path);
  if (o.gid !== undefined && st.gid !== o.gid) {
    try {
      lchownSync(path, euid, o.gid);
      st = lstatSync(path);
    } catch (e) {
      o.log(`ipc: cannot give ${path} to gid ${o.gid}: ${(e as Error).message}`);
    }
  }
  const problem = socketFileProblem(st, euid, o.socketMode);
  if (problem) throw new Error(`cannot serve on ${path}: ${problem}`);
  return st;
}

/** Why what is at the socket path is not the socket the helper just made. Pure. */
export function socketFileProblem(st: Pick<Stats, 'uid' | 'mode'> & { isSocket(): boolean }, euid: number, socketMode: number): string | undefined {
  if (!st.isSocket()) return 'what is at the path after listening is not a socket (something replaced it): check who else writes to its directory';
  if (st.uid !== euid) return `the socket belongs to uid ${st.uid}, not the helper (${euid}): check who else writes to its directory`;
  if ((st.mode & 0o7777) !== socketMode) return `the socket was created with mode ${octal(st.mode)} instead of ${octal(socketMode)}`;
  return undefined;
}
