// ExcludedCgroup against an in-memory /proc and cgroupfs: where it goes, who may move what, pid
// reuse, the fallback mount and the undo. excluded.lab.test.ts (firewall/) uses the real one.
import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../testing/fake-runner.js';
import { DEFAULT_EXCLUDED_CGROUP, openExcludedCgroup, type CgroupIo } from './excluded-cgroup.js';

const HYBRID = '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';
const RO = '29 23 0:26 / /sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw\n';
const stat = (pid: number, start: number, parent = 1) => `${pid} (sleep) S ${parent} ${'0 '.repeat(17)}${start} 0 0\n`;
const err = (code: string) => Object.assign(new Error(`${code}: fake`), { code });

class FakeFs implements CgroupIo {
  files = new Map<string, string>();
  dirs = new Set<string>();
  readOnly = new Set<string>();
  /** Called after each write to a cgroup.procs (to plant a pid reuse). */
  afterWrite?: (path: string, pid: number) => void;

  constructor(mountinfo: string) {
    this.files.set('/proc/self/mountinfo', mountinfo);
  }

  process(pid: number, o: { uid?: number; euid?: number; start?: number; cgroup?: string } = {}): void {
    this.files.set(`/proc/${pid}/stat`, stat(pid, o.start ?? 100));
    this.files.set(`/proc/${pid}/status`, `Name:\tsleep\nUid:\t${o.uid ?? 1000}\t${o.euid ?? o.uid ?? 1000}\t${o.euid ?? o.uid ?? 1000}\t${o.euid ?? o.uid ?? 1000}\nCapEff:\t0000000000000000\n`);
    this.files.set(`/proc/${pid}/cgroup`, `0::${o.cgroup ?? '/user.slice'}\n`);
  }

  async readFile(p: string): Promise<string> {
    const f = this.files.get(p);
    if (f === undefined) throw err('ENOENT');
    return f;
  }

  async writeFile(p: string, data: string): Promise<void> {
    const m = /^(.*)\/cgroup\.procs$/.exec(p);
    const pid = Number(data.trim());
    if (!m || !this.files.has(`/proc/${pid}/cgroup`)) throw err('ESRCH');
    // Both mounts of these tests show the whole hierarchy: the path is the part below the mount.
    const mount = m[1]!.startsWith('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : '/run/umbra/cgroup2';
    this.files.set(`/proc/${pid}/cgroup`, `0::/${m[1]!.slice(mount.length + 1)}\n`);
    this.afterWrite?.(p, pid);
  }

  async mkdir(p: string): Promise<boolean> {
    if ([...this.readOnly].some((r) => p.startsWith(r))) throw err('EROFS');
    if (this.dirs.has(p)) return false;
    this.dirs.add(p);
    return true;
  }

  async rmdir(p: string): Promise<void> {
    if (!this.dirs.delete(p)) throw err('ENOENT');
  }

  members(dir: string, mount: string): number[] {
    const want = `0::/${dir.slice(mount.length + 1)}\n`;
    return [...this.files].filter(([k, v]) => k.endsWith('/cgroup') && v === want).map(([k]) => Number(k.split('/')[2]));
  }
}

/** A fake whose cgroup.procs reads come from the fake /proc. */
function withProcs(fs: FakeFs, mount: string): FakeFs {
  const read = fs.readFile.bind(fs);
  fs.readFile = async (p) => (p.endsWith('/cgroup.procs') ? fs.members(p.slice(0, -'/cgroup.procs'.length), mount).join('\n') + '\n' : read(p));
  return fs;
}

describe('openExcludedCgroup', () => {
  it('creates <mount>/<name> on the mount it finds, with the path and level nft needs', async () => {
    const fs = new FakeFs(HYBRID);
    const cg = await openExcludedCgroup({ io: fs });
    expect(cg.dir).toBe(`/sys/fs/cgroup/unified/${DEFAULT_EXCLUDED_CGROUP}`);
    expect(cg.path).toBe(`unified/${DEFAULT_EXCLUDED_CGROUP}`);
    expect(cg.level).toBe(1);
    expect(fs.dirs.has(cg.dir)).toBe(true);
    await cg.destroy();
    expect(fs.dirs.has(cg.dir)).toBe(false);
  });

  it('adopts a cgroup that exists already (a restart)', async () => {
    const fs = new FakeFs(HYBRID);
    fs.dirs.add('/sys/fs/cgroup/unified/t1');
    expect((await openExcludedCgroup({ name: 't1', io: fs })).dir).toBe('/sys/fs/cgroup/unified/t1');
  });

  it('refuses names that are not one path segment', async () => {
    for (const name of ['', '..', 'a/b', 'x y']) await expect(openExcludedCgroup({ name, io: new FakeFs(HYBRID) })).rejects.toThrow(/not a valid cgroup name/);
  });

  it('says why without a usable mount and without a fallback directory', async () => {
    await expect(openExcludedCgroup({ io: new FakeFs('') })).rejects.toThrow('cgroup v2 is not available: no cgroup2 file system is mounted');
    await expect(openExcludedCgroup({ io: new FakeFs(RO) })).rejects.toThrow('cgroup v2 is not available: /sys/fs/cgroup is read-only');
  });

  it('mounts cgroup2 at the fallback directory when the mount is read-only, and undoes it', async () => {
    const fs = new FakeFs(RO);
    const run = new FakeRunner();
    const cg = await openExcludedCgroup({ name: 't2', io: fs, run, mountFallbackDir: '/run/umbra/cgroup2' });
    expect(run.lines).toEqual(['mount -t cgroup2 cgroup2 /run/umbra/cgroup2']);
    expect(cg.dir).toBe('/run/umbra/cgroup2/t2');
    // nft resolves the path from /sys/fs/cgroup.
    expect(cg.path).toBe('../../../run/umbra/cgroup2/t2');
    expect(cg.level).toBe(1);
    run.clearCalls();
    await cg.destroy();
    expect(run.lines).toEqual(['umount /run/umbra/cgroup2']);
    expect(fs.dirs.size).toBe(0);
  });

  it('falls back too when the mount only turns out read-only at mkdir, and adopts its own mount after a restart', async () => {
    const fs = new FakeFs(HYBRID);
    fs.readOnly.add('/sys/fs/cgroup/unified');
    const run = new FakeRunner();
    const cg = await openExcludedCgroup({ name: 't4', io: fs, run, mountFallbackDir: '/run/umbra/cgroup2' });
    expect(cg.dir).toBe('/run/umbra/cgroup2/t4');
    // A restart: our mount is in mountinfo now; no second mount, and destroy still unmounts it.
    fs.files.set('/proc/self/mountinfo', `${HYBRID}90 25 0:38 / /run/umbra/cgroup2 rw,relatime - cgroup2 cgroup2 rw\n`);
    fs.readOnly.clear();
    run.clearCalls();
    const again = await openExcludedCgroup({ name: 't4', io: fs, run, mountFallbackDir: '/run/umbra/cgroup2' });
    expect(run.lines).toEqual([]);
    await again.destroy();
    expect(run.lines).toEqual(['umount /run/umbra/cgroup2']);
  });

  it('says so when the fallback mount fails, and leaves no directory behind', async () => {
    const fs = new FakeFs('');
    const run = new FakeRunner();
    run.failOn(/^mount /, { exitCode: 32, stderr: 'mount: permission denied\n' });
    await expect(openExcludedCgroup({ io: fs, run, mountFallbackDir: '/run/umbra/cgroup2' })).rejects.toThrow('cgroup v2 is not available: could not mount cgroup2 at /run/umbra/cgroup2');
    expect(fs.dirs.size).toBe(0);
    const ro = new FakeFs(RO);
    await expect(openExcludedCgroup({ io: ro, run, mountFallbackDir: '/run/umbra/cgroup2' })).rejects.toThrow(
      'cgroup v2 is not available: /sys/fs/cgroup is read-only and could not mount cgroup2 at /run/umbra/cgroup2',
    );
  });
});

describe('ExcludedCgroup: moving processes', () => {
  const open = async () => {
    const fs = withProcs(new FakeFs(HYBRID), '/sys/fs/cgroup/unified');
    const cg = await openExcludedCgroup({ name: 't3', io: fs });
    return { fs, cg };
  };

  it('adds a process of the caller, lists it, and moves it back where it was', async () => {
    const { fs, cg } = await open();
    fs.process(42, { uid: 1000, cgroup: '/user.slice/app.scope' });
    const from = await cg.add(42, 1000);
    expect(from).toBe('/user.slice/app.scope');
    expect(await cg.members()).toEqual([42]);
    await cg.remove(42, 1000, from);
    expect(fs.files.get('/proc/42/cgroup')).toBe('0::/user.slice/app.scope\n');
    expect(await cg.members()).toEqual([]);
  });

  it('moves a process out to the root by default, and refuses one that is not excluded', async () => {
    const { fs, cg } = await open();
    fs.process(42);
    await expect(cg.remove(42, 1000)).rejects.toThrow('process 42 is not excluded from the VPN');
    await cg.add(42, 1000);
    await cg.remove(42, 1000);
    expect(fs.files.get('/proc/42/cgroup')).toBe('0::/\n');
  });

  it("refuses another user's process, also one that only its effective uid makes look like theirs", async () => {
    const { fs, cg } = await open();
    fs.process(7, { uid: 0 });
    fs.process(8, { uid: 1000, euid: 0 });
    await expect(cg.add(7, 1000)).rejects.toThrow('no process 7 of yours');
    await expect(cg.add(8, 1000)).rejects.toThrow('no process 8 of yours');
    // A pid that does not exist reads the same to a user (nothing told of others' processes).
    await expect(cg.add(4242, 1000)).rejects.toThrow('no process 4242 of yours');
    expect(await cg.members()).toEqual([]);
    // Root may move any.
    await cg.add(7, 0);
    expect(await cg.members()).toEqual([7]);
  });

  it('says "no such process" for a pid that does not exist', async () => {
    const { cg } = await open();
    await expect(cg.add(4242, 0)).rejects.toThrow('no such process 4242');
    await expect(cg.add(-1, 0)).rejects.toThrow('is not a process id');
  });

  it('puts a process whose pid was reused while it was moved back in its parent\'s cgroup, not the caller\'s', async () => {
    const { fs, cg } = await open();
    fs.process(42, { start: 100, cgroup: '/user.slice/user-1000.slice/app.scope' });
    fs.process(7, { uid: 0, cgroup: '/system.slice/other.service' });
    // The process exits and another one (a child of pid 7) gets its pid just as the write happens.
    fs.afterWrite = (p, pid) => {
      if (p.includes('t3')) fs.files.set(`/proc/${pid}/stat`, stat(pid, 999, 7));
    };
    await expect(cg.add(42, 1000)).rejects.toThrow('no such process 42 (it exited while it was being moved)');
    expect(await cg.members()).toEqual([]);
    expect(fs.files.get('/proc/42/cgroup')).toBe('0::/system.slice/other.service\n');
  });

  it('destroy moves the members to the root first, and can run twice', async () => {
    const { fs, cg } = await open();
    fs.process(42);
    fs.process(43);
    await cg.add(42, 1000);
    await cg.add(43, 1000);
    await cg.destroy();
    expect(fs.files.get('/proc/42/cgroup')).toBe('0::/\n');
    expect(fs.files.get('/proc/43/cgroup')).toBe('0::/\n');
    expect(fs.dirs.has(cg.dir)).toBe(false);
    await cg.destroy();
  });
});
