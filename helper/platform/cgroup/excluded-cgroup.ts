// The cgroup of "excluded" processes (split tunnelling): a cgroup v2 cgroup the helper owns. The
// firewall matches sockets in it (`socket cgroupv2 level L "path"`) and marks their traffic, which
// then leaves outside the tunnel. A socket belongs to the cgroup its process was in when it was
// created: a process moved in keeps its older sockets as they were, so the caller moves a program
// in before it starts (or lives with its older connections staying in the tunnel).
//
// The cgroup is a directory under the cgroup2 mount (mountinfo.ts). When there is none, or it is
// read-only (systemd's ProtectControlGroups= makes /sys/fs/cgroup read-only for the unit), the
// helper mounts cgroup2 itself at a directory of its own (mountFallbackDir): a second mount of the
// same single hierarchy, so the cgroup is the same one every process sees. destroy() undoes both.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { systemRunner, type CommandRunner } from '../exec.js';
import { MOUNTINFO, parseCgroup2Mounts, pickCgroup2Mount, type Cgroup2Mount } from './mountinfo.js';
import { parseProcStatus, type ProcessIds } from '../proc-status.js';
import { notYours, ownershipProblem, parseCgroupV2Path, parseStatParent, parseStatStartTime } from './proc-identity.js';

export const DEFAULT_EXCLUDED_CGROUP = 'umbra-excluded';
/** The directory nft resolves `socket cgroupv2` paths from (nftables' datatype.c, fixed). */
const NFT_CGROUP_BASE = '/sys/fs/cgroup';

/** The file system calls this module makes (a fake in tests). */
export interface CgroupIo {
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
  /** Creates one directory; false when it existed already. */
  mkdir(path: string): Promise<boolean>;
  rmdir(path: string): Promise<void>;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

const nodeIo: CgroupIo = {
  readFile: (p) => readFile(p, 'utf8'),
  writeFile: (p, d) => writeFile(p, d),
  async mkdir(p) {
    try {
      await mkdir(p, { mode: 0o755 });
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    }
  },
  rmdir: (p) => rmdir(p),
};

interface ExcludedCgroupOptions {
  /** One path segment; DEFAULT_EXCLUDED_CGROUP unless given (tests pass a unique one). */
  name?: string;
  /** Where to mount cgroup2 when no writable mount exists (e.g. under the helper's run dir). */
  mountFallbackDir?: string;
  io?: CgroupIo;
  /** Runs mount and umount. */
  run?: CommandRunner;
}

/** A refusal the caller can act on, by kind: the IPC answers each with its own error code. */
export class CgroupError extends Error {
  constructor(readonly code: 'not-yours' | 'no-such-process' | 'not-excluded' | 'unavailable', message: string) {
    super(message);
    this.name = 'CgroupError';
  }
}

/** To a user, a process that is not there reads like one that is not theirs (rethrows e otherwise). */
function asUser(e: unknown, pid: number, callerUid: number): never {
  if (e instanceof CgroupError && e.code === 'no-such-process' && callerUid !== 0) throw new CgroupError('not-yours', notYours(pid));
  throw e;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const depth = (cgroupPath: string) => cgroupPath.split('/').filter((s) => s !== '').length;

export class ExcludedCgroup {
  /** The cgroup's directory. */
  readonly dir: string;
  /** The cgroup as `socket cgroupv2` wants it: relative to /sys/fs/cgroup, where nft looks it up. */
  readonly path: string;
  /** Its level in the cgroup hierarchy (the root is 0), for `socket cgroupv2 level`. */
  readonly level: number;
  private destroyed = false;

  constructor(
    readonly mount: Cgroup2Mount,
    name: string,
    private readonly io: CgroupIo,
    private readonly unmount?: () => Promise<void>,
  ) {
    this.dir = join(mount.mountPoint, name);
    this.path = posix.relative(NFT_CGROUP_BASE, this.dir);
    // Levels count from the hierarchy's root, which is not the mount's top when it shows a subtree.
    // (In a cgroup namespace the kernel counts from the real root, which this cannot see.)
    this.level = depth(mount.root) + 1;
  }

  /** Moves a process in. Returns the cgroup it was in (as /proc/PID/cgroup says), for remove(). */
  async add(pid: number, callerUid: number): Promise<string> {
    const from = await this.cgroupOf(pid).catch((e: unknown) => asUser(e, pid, callerUid));
    await this.move(pid, callerUid, this.dir);
    return from;
  }

  /** Moves an excluded process out: to `to` (a cgroup path as add() returned it), else the root. */
  async remove(pid: number, callerUid: number, to = this.mount.root): Promise<void> {
    const current = await this.cgroupOf(pid).catch((e: unknown) => asUser(e, pid, callerUid));
    if (this.dirOf(current) !== this.dir) throw new CgroupError('not-excluded', `process ${pid} is not excluded from the VPN`);
    await this.move(pid, callerUid, this.dirOf(to));
  }

  /** The pids in the cgroup now. */
  async members(): Promise<number[]> {
    const text = await this.io.readFile(join(this.dir, 'cgroup.procs'));
    return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  }

  /** The undo: members go back to the root, the cgroup goes, and a mount of our own goes. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const gone = (e: unknown) => {
      if (errno(e) !== 'ENOENT') throw new Error(`could not remove the cgroup ${this.dir}: ${(e as Error).message}`);
    };
    // A process that exits meanwhile is no member to move; rmdir then says what is left.
    for (const pid of await this.members().catch((e: unknown) => (gone(e), []))) {
      await this.writeProcs(this.mount.mountPoint, pid).catch(() => undefined);
    }
    try {
      await this.io.rmdir(this.dir);
    } catch (e) {
      gone(e);
    }
    this.destroyed = true;
    await this.unmount?.();
  }

  /** A cgroup path (from /proc/PID/cgroup) as a directory of this mount; the mount's top if outside it. */
  private dirOf(cgroupPath: string): string {
    const rel = posix.relative(this.mount.root, cgroupPath);
    return rel.startsWith('..') ? this.mount.mountPoint : join(this.mount.mountPoint, rel);
  }

  private async cgroupOf(pid: number): Promise<string> {
    const path = parseCgroupV2Path(await this.proc(pid, 'cgroup'));
    if (path === undefined) throw new Error(`process ${pid} is in no cgroup v2 cgroup (cgroup v2 is not available for it)`);
    return path;
  }

  private async proc(pid: number, file: string): Promise<string> {
    if (!Number.isInteger(pid) || pid < 1) throw new RangeError(`${String(pid)} is not a process id`);
    try {
      return await this.io.readFile(`/proc/${pid}/${file}`);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ESRCH') throw new CgroupError('no-such-process', `no such process ${pid}`);
      throw e;
    }
  }

  private async startTime(pid: number): Promise<string> {
    const t = parseStatStartTime(await this.proc(pid, 'stat'));
    if (t === undefined) throw new Error(`could not read the start time of process ${pid}`);
    return t;
  }

  private async writeProcs(dir: string, pid: number): Promise<void> {
    try {
      await this.io.writeFile(join(dir, 'cgroup.procs'), `${pid}\n`);
    } catch (e) {
      if (errno(e) === 'ESRCH') throw new CgroupError('no-such-process', `no such process ${pid}`);
      throw new Error(`could not move process ${pid} into ${dir}: ${(e as Error).message}`);
    }
  }

  /** Moves the process the caller named, checked: theirs, and the same process after as before. */
  private async move(pid: number, callerUid: number, dir: string): Promise<void> {
    let before: string;
    let owner: ProcessIds | undefined;
    try {
      before = await this.startTime(pid);
      owner = parseProcStatus(await this.proc(pid, 'status'));
    } catch (e) {
      return asUser(e, pid, callerUid);
    }
    if (owner === undefined && callerUid === 0) throw new Error(`could not read the owner of process ${pid}`);
    const problem = ownershipProblem(pid, callerUid, owner);
    if (problem !== undefined) throw new CgroupError('not-yours', problem);
    await this.writeProcs(dir, pid);
    const after = await this.startTime(pid).catch(() => undefined);
    if (after === before) return;
    // The pid now names another process (the first one exited and its pid was reused), which the
    // write may have moved. It goes back to where a new process starts, its parent's cgroup;
    // never to `from`, the cgroup of the caller's process, which the caller may control.
    if (after !== undefined) await this.putBack(pid, dir).catch(() => undefined);
    throw new CgroupError('no-such-process', `no such process ${pid} (it exited while it was being moved)`);
  }

  /** A process the helper moved by mistake, into `dir`: back to its parent's cgroup (else the root). */
  private async putBack(pid: number, dir: string): Promise<void> {
    if (this.dirOf(await this.cgroupOf(pid)) !== dir) return;
    const parent = parseStatParent(await this.proc(pid, 'stat'));
    const to = parent === undefined ? this.mount.root : await this.cgroupOf(parent).catch(() => this.mount.root);
    await this.writeProcs(this.dirOf(to), pid);
  }
}

/**
 * Opens (creates, or adopts after a restart) the excluded cgroup. Throws "cgroup v2 is not
 * available: …" when there is no writable cgroup2 mount and none can be made.
 */
export async function openExcludedCgroup(opts: ExcludedCgroupOptions = {}): Promise<ExcludedCgroup> {
  const name = opts.name ?? DEFAULT_EXCLUDED_CGROUP;
  if (!NAME.test(name) || name === '.' || name === '..') throw new RangeError(`"${name}" is not a valid cgroup name (1 to 64 of A-Z a-z 0-9 _ . -)`);
  const io = opts.io ?? nodeIo;
  const run = opts.run ?? systemRunner;
  const fallback = opts.mountFallbackDir;
  const mounts = parseCgroup2Mounts(await io.readFile(MOUNTINFO));
  const found = pickCgroup2Mount(mounts);
  const unavailable = (why: string) => new CgroupError('unavailable', `cgroup v2 is not available: ${why}`);

  const tryMount = async (mount: Cgroup2Mount, unmount?: () => Promise<void>) => {
    await io.mkdir(join(mount.mountPoint, name));
    return new ExcludedCgroup(mount, name, io, unmount);
  };
  const ownUnmount = (dir: string, created: boolean) => async () => {
    await run.run(['umount', dir]);
    if (created) await io.rmdir(dir).catch(() => undefined);
  };

  // A mount of our own from before a restart is adopted (not mounted again), and still ours to undo.
  const own = fallback === undefined ? undefined : mounts.find((m) => m.mountPoint === fallback && !m.readOnly);
  if (own) return tryMount(own, ownUnmount(own.mountPoint, false));
  if (found && !found.readOnly) {
    try {
      return await tryMount(found);
    } catch (e) {
      const code = errno(e);
      if (fallback === undefined || (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM')) {
        throw unavailable(`could not create ${join(found.mountPoint, name)}: ${(e as Error).message}`);
      }
    }
  }
  if (fallback === undefined) {
    throw unavailable(found ? `${found.mountPoint} is read-only and no directory was given to mount cgroup2 at` : 'no cgroup2 file system is mounted (see /proc/self/mountinfo) and no directory was given to mount one at');
  }
  const created = await io.mkdir(fallback);
  try {
    await run.run(['mount', '-t', 'cgroup2', 'cgroup2', fallback]);
  } catch (e) {
    if (created) await io.rmdir(fallback).catch(() => undefined);
    // Under systemd, ProtectControlGroups= makes the mount read-only and the unit may lack the
    // right to mount (CAP_SYS_ADMIN, @mount): say both, the fix is in the unit.
    const ro = found?.readOnly ? `${found.mountPoint} is read-only and ` : '';
    throw unavailable(`${ro}could not mount cgroup2 at ${fallback}: ${(e as Error).message}`);
  }
  const unmount = ownUnmount(fallback, created);
  try {
    return await tryMount({ mountPoint: fallback, root: '/', readOnly: false }, unmount);
  } catch (e) {
    await unmount().catch(() => undefined);
    throw unavailable(`could not create ${join(fallback, name)}: ${(e as Error).message}`);
  }
}
