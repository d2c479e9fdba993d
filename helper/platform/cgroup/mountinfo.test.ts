import { describe, expect, it } from 'vitest';
import { findCgroup2Mount, parseCgroup2Mounts, pickCgroup2Mount } from './mountinfo.js';
import { parseProcStatus } from '../proc-status.js';
import { ownershipProblem, parseCgroupV2Path, parseStatParent, parseStatStartTime } from './proc-identity.js';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const UNIFIED_RO = '29 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
const ESCAPED = '50 23 0:40 /user.slice /run/my\\040cgroups rw shared:9 master:2 - cgroup2 none rw\n';

describe('parseCgroup2Mounts', () => {
  it('finds cgroup2 on a hybrid system and skips v1 and tmpfs', () => {
    expect(parseCgroup2Mounts(HYBRID)).toEqual([{ mountPoint: '/sys/fs/cgroup/unified', root: '/', readOnly: false }]);
  });

  it('reads read-only mounts, optional fields and escaped paths', () => {
    expect(parseCgroup2Mounts(UNIFIED_RO)).toEqual([{ mountPoint: '/sys/fs/cgroup', root: '/', readOnly: true }]);
    expect(parseCgroup2Mounts(ESCAPED)).toEqual([{ mountPoint: '/run/my cgroups', root: '/user.slice', readOnly: false }]);
  });

  it('is empty without cgroup2, and ignores lines it cannot read', () => {
    expect(parseCgroup2Mounts(HYBRID.replace('cgroup2 cgroup2', 'cgroup cgroup'))).toEqual([]);
    expect(parseCgroup2Mounts('garbage\n\n1 2 - cgroup2\n')).toEqual([]);
  });

  it('prefers a writable mount', () => {
    const both = parseCgroup2Mounts(UNIFIED_RO + ESCAPED);
    expect(pickCgroup2Mount(both)?.mountPoint).toBe('/run/my cgroups');
    expect(pickCgroup2Mount(parseCgroup2Mounts(UNIFIED_RO))?.readOnly).toBe(true);
    expect(pickCgroup2Mount([])).toBeUndefined();
  });

  it('reads /proc/self/mountinfo through the reader it is given', async () => {
    const asked: string[] = [];
    const m = await findCgroup2Mount(async (p) => (asked.push(p), HYBRID));
    expect(asked).toEqual(['/proc/self/mountinfo']);
    expect(m?.mountPoint).toBe('/sys/fs/cgroup/unified');
  });
});

describe('process identity', () => {
  it('reads the real and effective uid', () => {
    expect(parseProcStatus('Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t1\nCapEff:\t0000000000000000\n')).toEqual({ uids: [1000, 0, 0, 0], groups: [], privileged: false });
    expect(parseProcStatus('Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000003000\n')).toEqual({ uids: [1000, 1000, 1000, 1000], groups: [], privileged: true });
    expect(parseStatParent('42 (a b) c) S 17 42 42 0')).toBe(17);
    expect(parseProcStatus('Name:\tsh\n')).toBeUndefined();
  });

  it('reads the start time after the last ")" of the command name', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19 20';
    expect(parseStatStartTime(`42 (a) b) c) ${rest}`)).toBe('777');
    expect(parseStatStartTime(`42 (sh) ${rest}`)).toBe('777');
    expect(parseStatStartTime('42 (sh) S 1 2')).toBeUndefined();
    expect(parseStatStartTime('no parens')).toBeUndefined();
  });

  it('reads the cgroup v2 path', () => {
    expect(parseCgroupV2Path('12:cpu:/x\n0::/user.slice/app.scope\n')).toBe('/user.slice/app.scope');
    expect(parseCgroupV2Path('0::/gone (deleted)\n')).toBe('/gone');
    expect(parseCgroupV2Path('12:cpu:/x\n')).toBeUndefined();
  });

  it('lets root move anything and a user only processes whose real and effective uid are theirs', () => {
    const mine = { uids: [1000, 1000, 1000, 1000], groups: [], privileged: false };
    expect(ownershipProblem(5, 0, { uids: [1, 2, 3, 4], groups: [], privileged: true })).toBeUndefined();
    expect(ownershipProblem(5, 1000, mine)).toBeUndefined();
    expect(ownershipProblem(5, 1000, { ...mine, uids: [1000, 0, 1000, 1000] })).toBe('no process 5 of yours (a process you started, without special privileges)');
    expect(ownershipProblem(5, 1000, { ...mine, uids: [1000, 1000, 0, 1000] })).toMatch(/of yours/); // saved uid root: setuid
    expect(ownershipProblem(5, 1000, { ...mine, privileged: true })).toMatch(/of yours/);
    expect(ownershipProblem(5, 1000, undefined)).toMatch(/of yours/);
  });
});
