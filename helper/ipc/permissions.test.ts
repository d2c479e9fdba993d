// The permission decision with injected /etc/group and /proc contents (the real refused
// connection, by a child running as another user, is in server-permissions.test.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProcStatus } from '../platform/proc-status.js';
import { checkCaller, decide, groupGid, permissionDeniedMessage, readGroupGid } from './permissions.js';

const GROUP_FILE = `root:x:0:
# a comment line
adm:x:4:syslog,alice
umbra:x:998:alice,bob
broken:x:notanumber:
nogroup:x:65534:
`;

const status = (uid: number, groups: number[]) => `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
Pid:\t1234
Uid:\t${uid}\t${uid}\t${uid}\t${uid}
Gid:\t1000\t1000\t1000\t1000
FDSize:\t64
Groups:\t${groups.join(' ')} 
NStgid:\t1234
`;

describe('parsing', () => {
  it('finds a group by exact name', () => {
    expect(groupGid(GROUP_FILE, 'umbra')).toBe(998);
    expect(groupGid(GROUP_FILE, 'adm')).toBe(4);
    expect(groupGid(GROUP_FILE, 'umbr')).toBeUndefined();
    expect(groupGid(GROUP_FILE, 'broken')).toBeUndefined();
    expect(groupGid('', 'umbra')).toBeUndefined();
  });

  it('reads Uid and Groups from /proc/<pid>/status', () => {
    expect(parseProcStatus(status(1000, [4, 24, 998]))).toEqual({ uids: [1000, 1000, 1000, 1000], groups: [4, 24, 998] });
    expect(parseProcStatus(status(1000, []))).toEqual({ uids: [1000, 1000, 1000, 1000], groups: [] });
    expect(parseProcStatus('Name:\tx\n')).toBeUndefined();
  });
});

describe('decide', () => {
  const member = { uids: [1000, 1000, 1000, 1000], groups: [4, 998] };
  const outsider = { uids: [1000, 1000, 1000, 1000], groups: [4] };

  it('allows root always, even without the group', () => {
    expect(decide({ pid: 1, uid: 0, gid: 0 }, 'umbra', undefined, undefined).allowed).toBe(true);
  });

  it('allows members by supplementary group or primary gid', () => {
    expect(decide({ pid: 9, uid: 1000, gid: 1000 }, 'umbra', 998, member)).toEqual({ allowed: true, why: 'member of umbra' });
    expect(decide({ pid: 9, uid: 1000, gid: 998 }, 'umbra', 998, undefined)).toEqual({ allowed: true, why: 'primary group umbra' });
  });

  it('refuses others with a message that says how to get in', () => {
    const d = decide({ pid: 9, uid: 1000, gid: 1000 }, 'umbra', 998, outsider);
    expect(d.allowed).toBe(false);
    if (!d.allowed) {
      expect(d.message).toBe('permission denied: only root and members of the umbra group may control Umbra. Add yourself: sudo usermod -aG umbra $USER, then log out and in');
      expect(d.why).toMatch(/uid 1000 \(pid 9\) is not in the "umbra" group/);
    }
  });

  it('when the group does not exist, only root', () => {
    const d = decide({ pid: 9, uid: 1000, gid: 998 }, 'umbra', undefined, member);
    expect(d.allowed).toBe(false);
    if (!d.allowed) expect(d.message).toMatch(/only root may control Umbra on this machine \(there is no "umbra" group\).*groupadd/);
  });

  it('ignores /proc groups of a process whose uid is not the peer uid (a reused pid)', () => {
    expect(decide({ pid: 9, uid: 1001, gid: 1001 }, 'umbra', 998, member).allowed).toBe(false);
  });

  it('refuses when /proc could not be read and the primary gid does not match', () => {
    expect(decide({ pid: 9, uid: 1000, gid: 1000 }, 'umbra', 998, undefined).allowed).toBe(false);
  });

  it('words both messages', () => {
    expect(permissionDeniedMessage('wheel', true)).toContain('sudo usermod -aG wheel $USER');
    expect(permissionDeniedMessage('wheel', false)).toContain('sudo groupadd --system wheel');
  });
});

describe('checkCaller with files', () => {
  let dir: string;
  let files: { groupFile: string; procRoot: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'umbra-perm-'));
    files = { groupFile: join(dir, 'group'), procRoot: join(dir, 'proc') };
    writeFileSync(files.groupFile, GROUP_FILE);
    for (const [pid, text] of [[100, status(1000, [4, 998])], [200, status(1000, [4])]] as const) {
      mkdirSync(join(files.procRoot, String(pid)), { recursive: true });
      writeFileSync(join(files.procRoot, String(pid), 'status'), text);
    }
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the group and the caller groups from the injected paths', () => {
    expect(checkCaller({ pid: 100, uid: 1000, gid: 1000 }, 'umbra', files).allowed).toBe(true);
    expect(checkCaller({ pid: 200, uid: 1000, gid: 1000 }, 'umbra', files).allowed).toBe(false);
    // A caller that is gone: only its primary gid counts.
    expect(checkCaller({ pid: 300, uid: 1000, gid: 1000 }, 'umbra', files).allowed).toBe(false);
    expect(checkCaller({ pid: 300, uid: 1000, gid: 998 }, 'umbra', files).allowed).toBe(true);
    expect(checkCaller({ pid: 100, uid: 1000, gid: 1000 }, 'missing', files).allowed).toBe(false);
    expect(checkCaller({ pid: 100, uid: 0, gid: 0 }, 'missing', files).allowed).toBe(true);
  });

  it('treats an unreadable group file as no group', () => {
    expect(readGroupGid('umbra', join(dir, 'nope'))).toBeUndefined();
    expect(checkCaller({ pid: 100, uid: 1000, gid: 998 }, 'umbra', { groupFile: join(dir, 'nope'), procRoot: files.procRoot }).allowed).toBe(false);
  });
});
