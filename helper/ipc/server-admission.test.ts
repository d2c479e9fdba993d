// Who gets a slot, and the socket-path checks: the pure cores, exhaustively on small cases.
import { describe, expect, it } from 'vitest';
import { admit, defaultMaxPerUid, type Slot } from './server-admission.js';
import { ancestorProblem, socketDirectoryProblem, socketFileProblem, type FileMode } from './server-socket-file.js';

const slot = (id: number, uid: number, idle: boolean, lastActive = id): Slot => ({ id, uid, idle, lastActive });
const limits = { maxClients: 4, maxPerUid: 2 };

describe('admit', () => {
  it('admits while there is room and the uid is below its share', () => {
    expect(admit([], 1000, limits)).toEqual({ admit: true });
    expect(admit([slot(1, 1000, false)], 1000, limits)).toEqual({ admit: true });
  });

  it('a uid at its share makes room by evicting its own least recently active idle connection', () => {
    expect(admit([slot(1, 1000, true, 50), slot(2, 1000, true, 10), slot(3, 2000, true, 1)], 1000, limits)).toEqual({ admit: true, evict: 2 });
  });

  it('a uid at its share with nothing idle is refused, even when slots are free', () => {
    expect(admit([slot(1, 1000, false), slot(2, 1000, false)], 1000, limits)).toEqual({ admit: false, reason: 'uid-share' });
  });

  it('root has no share: it is refused only when full and nothing is idle', () => {
    expect(admit([slot(1, 0, false), slot(2, 0, false), slot(3, 0, false)], 0, limits)).toEqual({ admit: true });
    expect(admit([slot(1, 0, false), slot(2, 0, false), slot(3, 0, false), slot(4, 0, false)], 0, limits)).toEqual({ admit: false, reason: 'full' });
  });

  it('when full, the least recently active idle connection of anyone makes room; busy or subscribed ones never do', () => {
    const full = [slot(1, 1000, false, 0), slot(2, 2000, true, 30), slot(3, 3000, true, 20), slot(4, 0, false, 1)];
    expect(admit(full, 4000, limits)).toEqual({ admit: true, evict: 3 });
    expect(admit(full.map((s) => ({ ...s, idle: false })), 4000, limits)).toEqual({ admit: false, reason: 'full' });
  });

  it('the default share is a quarter of the slots, at least one', () => {
    expect(defaultMaxPerUid(256)).toBe(64);
    expect(defaultMaxPerUid(2)).toBe(1);
  });
});

const dirMode = (mode: number, uid = 0, more: Partial<FileMode> = {}): FileMode => ({ uid, mode: 0o40000 | mode, isDirectory: true, isSymbolicLink: false, ...more });

describe('socketDirectoryProblem', () => {
  it('accepts a directory of root (or of the helper) that only it can write', () => {
    for (const mode of [0o700, 0o750, 0o755, 0o2750]) expect(socketDirectoryProblem('/run/umbra', dirMode(mode), 0)).toBeUndefined();
    expect(socketDirectoryProblem('/d', dirMode(0o700, 1000), 1000)).toBeUndefined();
  });

  it('refuses one that someone else owns or can write, or a symlink, saying what to do', () => {
    expect(socketDirectoryProblem('/d', dirMode(0o755, 1000), 0)).toMatch(/belongs to uid 1000, not root.*sudo chown root \/d/);
    expect(socketDirectoryProblem('/d', dirMode(0o775), 0)).toMatch(/writable by its group \(mode 0775\).*sudo chmod go-w \/d/);
    expect(socketDirectoryProblem('/d', dirMode(0o1777), 0)).toMatch(/writable by everyone \(mode 1777\)/);
    expect(socketDirectoryProblem('/d', dirMode(0o777, 0, { isSymbolicLink: true, isDirectory: false }), 0)).toMatch(/is a symbolic link/);
    expect(socketDirectoryProblem('/d', dirMode(0o644, 0, { isDirectory: false }), 0)).toMatch(/is not a directory/);
  });
});

describe('ancestorProblem', () => {
  it('accepts root-owned directories others cannot write, and sticky ones like /tmp', () => {
    expect(ancestorProblem('/', dirMode(0o755), 0)).toBeUndefined();
    expect(ancestorProblem('/tmp', dirMode(0o1777), 0)).toBeUndefined();
  });

  it('refuses one others can write (not sticky) or that another user owns', () => {
    expect(ancestorProblem('/x', dirMode(0o777), 0)).toMatch(/writable by others \(mode 0777\)/);
    expect(ancestorProblem('/home/u', dirMode(0o755, 1000), 0)).toMatch(/belongs to uid 1000/);
  });
});

describe('socketFileProblem', () => {
  const sock = (mode: number, uid = 0, isSocket = true) => ({ uid, mode: 0o140000 | mode, isSocket: () => isSocket });
  it('accepts the socket the helper made, and names what is wrong otherwise', () => {
    expect(socketFileProblem(sock(0o660), 0, 0o660)).toBeUndefined();
    expect(socketFileProblem(sock(0o660, 0, false), 0, 0o660)).toMatch(/not a socket/);
    expect(socketFileProblem(sock(0o660, 1000), 0, 0o660)).toMatch(/belongs to uid 1000/);
    expect(socketFileProblem(sock(0o777), 0, 0o660)).toMatch(/mode 0777 instead of 0660/);
  });
});
