import { describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../ipc/schema.js';
import { CgroupError } from '../platform/cgroup/excluded-cgroup.js';
import { MAX_PER_UID, SplitTunnel, type ExcludedCgroup, type SplitTunnelDeps } from './split-tunnel.js';

const USER = { pid: 900, uid: 1000, gid: 1000 };
const OTHER = { pid: 901, uid: 1001, gid: 1001 };
const ROOT = { pid: 1, uid: 0, gid: 0 };

/** Processes: pid -> owner uid and name. */
const PROCS = new Map([
  [10, { uid: 1000, name: 'firefox' }],
  [11, { uid: 1001, name: 'bank' }],
]);

function fakeCgroup(log: string[]): ExcludedCgroup & { pids: Set<number>; gone: boolean } {
  const pids = new Set<number>();
  return {
    pids,
    gone: false,
    path: 'umbra-test',
    level: 1,
    async add(pid, uid) {
      const p = PROCS.get(pid);
      if (!p) throw new CgroupError('no-such-process', `no such process ${pid}`);
      if (uid !== 0 && p.uid !== uid) throw new CgroupError('not-yours', `process ${pid} is not yours`);
      log.push(`add ${pid}`);
      pids.add(pid);
      return `/user.slice/app-${pid}.scope`;
    },
    async remove(pid, _uid, to) {
      log.push(`remove ${pid} to ${to}`);
      pids.delete(pid);
    },
    async members() {
      return [...pids];
    },
    async destroy() {
      log.push('destroy');
      this.gone = true;
    },
  };
}

function setup(opts: { exists?: boolean; cgroupFails?: string; firewallFails?: string } = {}) {
  const log: string[] = [];
  const cg = fakeCgroup(log);
  const deps: SplitTunnelDeps = {
    async open(create) {
      if (opts.cgroupFails) throw new CgroupError('unavailable', opts.cgroupFails);
      if (!create && !opts.exists) return undefined;
      log.push(create ? 'create' : 'adopt');
      return cg;
    },
    async checkFirewall() {
      if (opts.firewallFails) throw new Error(opts.firewallFails);
    },
    async process(pid) {
      return PROCS.get(pid);
    },
    async policyChanged() {
      log.push('policy');
    },
    async inUse(used) {
      log.push(used ? 'in use' : 'not in use');
    },
    mark: 0x756e,
    log: () => undefined,
  };
  return { split: new SplitTunnel(deps), log, cg };
}

describe('SplitTunnel', () => {
  it('makes the cgroup and sets every state\'s firewall before the first process is moved', async () => {
    const { split, log } = setup();
    await split.start();
    expect(split.traffic()).toBeUndefined();
    const r = await split.handlers().excludeProcess({ pid: 10 }, USER);
    expect(log).toEqual(['create', 'in use', 'policy', 'add 10']);
    expect(r.excluded).toEqual([{ pid: 10, name: 'firefox', uid: 1000 }]);
    expect(split.traffic()).toEqual({ cgroupPath: 'umbra-test', cgroupLevel: 1, mark: 0x756e });
    await split.handlers().excludeProcess({ pid: 11 }, OTHER);
    expect(log.filter((l) => l === 'policy')).toHaveLength(1);
  });

  it('refuses another user\'s process, and shows each caller only its own', async () => {
    const { split } = setup();
    await expect(split.handlers().excludeProcess({ pid: 11 }, USER)).rejects.toMatchObject({ code: ErrorCode.PermissionDenied });
    await split.handlers().excludeProcess({ pid: 11 }, OTHER);
    expect((await split.handlers().listExcluded({}, USER)).excluded).toEqual([]);
    expect((await split.handlers().listExcluded({}, ROOT)).excluded.map((p) => p.pid)).toEqual([11]);
    await expect(split.handlers().includeProcess({ pid: 11 }, USER)).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await expect(split.handlers().excludeProcess({ pid: 99 }, ROOT)).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('refuses a user more than MAX_PER_UID excluded processes; root is not counted', async () => {
    const { split, cg } = setup();
    await split.handlers().excludeProcess({ pid: 10 }, USER);
    for (let pid = 1000; cg.pids.size < MAX_PER_UID; pid++) {
      PROCS.set(pid, { uid: 1000, name: 'many' });
      cg.pids.add(pid);
    }
    await expect(split.handlers().excludeProcess({ pid: 10 }, USER)).rejects.toMatchObject({ code: ErrorCode.Busy });
    await expect(split.handlers().excludeProcess({ pid: 11 }, OTHER)).resolves.toBeDefined();
    await expect(split.handlers().excludeProcess({ pid: 10 }, ROOT)).resolves.toBeDefined();
  });

  it('moves a process back', async () => {
    const { split, log } = setup();
    await split.handlers().excludeProcess({ pid: 10 }, USER);
    expect((await split.handlers().includeProcess({ pid: 10 }, USER)).excluded).toEqual([]);
    expect(log).toContain('remove 10 to /user.slice/app-10.scope');
  });

  it('says why when the kernel cannot do it, and leaves no cgroup behind', async () => {
    const { split, log, cg } = setup({ firewallFails: 'nft cannot match socket cgroupv2' });
    const e = await split.handlers().excludeProcess({ pid: 10 }, USER).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).code).toBe(ErrorCode.Unavailable);
    expect((e as RpcError).message).toContain('nft cannot match socket cgroupv2');
    expect(cg.gone).toBe(true);
    expect(log).not.toContain('policy');
    expect(split.traffic()).toBeUndefined();
    const list = await split.handlers().listExcluded({}, USER);
    expect(list).toMatchObject({ available: false, reason: expect.stringContaining('socket cgroupv2') });
  });

  it('reports no cgroup v2 as unavailable', async () => {
    const { split } = setup({ cgroupFails: 'cgroup v2 is not mounted' });
    await expect(split.handlers().excludeProcess({ pid: 10 }, USER)).rejects.toThrow('cgroup v2 is not mounted');
  });

  it('adopts the cgroup a previous run left, with its processes', async () => {
    const { split, cg, log } = setup({ exists: true });
    cg.pids.add(10);
    await split.start();
    expect(log).toEqual(['adopt']);
    expect(split.traffic()).toBeDefined();
    await split.stop();
    expect(cg.gone).toBe(false); // a process is still in it: it stays excluded for the next run
    cg.pids.clear();
    await split.stop();
    expect(cg.gone).toBe(true);
    expect(log.at(-1)).toBe('not in use');
  });
});
