// Lab test: the resolv.conf backend on a bind-mounted file, as /etc/resolv.conf is inside
// `ip netns exec` (which bind-mounts /etc/netns/<ns>/resolv.conf over it). A child process runs in
// a private mount namespace (`unshare -m --propagation private`) where file A is bind-mounted over
// file B, and runs the backend against B: rename() over B fails there (EBUSY), the in-place write
// works and lands in A. Both files are in a temporary directory; the machine's own
// /etc/resolv.conf is never touched, and the mount disappears with the child. Needs root.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESOLV_CONF_BACKUP, RESOLV_CONF_HEADER } from './resolv-conf.js';

const childScript = fileURLToPath(new URL('./testdata/bind-mount-child.mjs', import.meta.url));
const registerScript = fileURLToPath(new URL('../tun/testdata/ts-register.mjs', import.meta.url));

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'unshare (util-linux) is missing';
  if (spawnSync('mount', ['--version']).status !== 0) return 'mount is missing';
  return undefined;
}
const reason = skipReason();

const ORIGINAL = '# the namespace\'s own resolv.conf\nnameserver 198.51.100.53\n';
const HOST_B = '# stands in for the host file under the mount; must never change\nnameserver 203.0.113.53\n';

interface ChildOut {
  renameError: string | null;
  during?: string;
  after: string;
  recovered?: boolean;
  error?: string;
  cause?: string;
  log?: string[];
}

let dir: string;
let fileA: string;
let fileB: string;
let stateDir: string;

/** Runs the child with A bind-mounted over B in a mount namespace of its own. */
type Mode = 'apply' | 'apply-undo' | 'recover' | 'start-recover';
function runChild(mode: Mode): ChildOut {
  return inNamespace('mount --bind "$1" "$2"', [fileA, fileB], fileB, stateDir, mode);
}

/** Runs the child in a mount namespace of its own, after `setup` (sh, with $1, $2 from `args`). */
function inNamespace(setup: string, args: [string, string], path: string, state: string, mode: Mode): ChildOut {
  const script = `${setup} && exec "$3" --import "$4" "$5" "$6" "$7" "$8"`;
  const stdout = execFileSync(
    'unshare',
    ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...args, process.execPath, registerScript, childScript, path, state, mode],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildOut;
}

describe.skipIf(reason !== undefined)(`resolv.conf backend on a bind mount${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umbra-dns-lab-'));
    fileA = join(dir, 'netns-resolv.conf');
    fileB = join(dir, 'resolv.conf');
    stateDir = join(dir, 'state');
    await writeFile(fileA, ORIGINAL);
    await writeFile(fileB, HOST_B);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes in place where rename fails, and undo restores the original', async () => {
    const out = runChild('apply-undo');
    expect(out.renameError).toBe('EBUSY');
    expect(out.during).toBe(`${RESOLV_CONF_HEADER}\nnameserver 100.64.0.1\nsearch lab.example\n`);
    expect(out.after).toBe(ORIGINAL);
    expect(await readFile(fileA, 'utf8')).toBe(ORIGINAL);
    expect(await readFile(fileB, 'utf8')).toBe(HOST_B);
    await expect(stat(join(stateDir, RESOLV_CONF_BACKUP))).rejects.toThrow();
  });

  it('the content lands in the mounted file (A); after a crash, recovery in a new namespace restores it', async () => {
    const crashed = runChild('apply'); // exits without running the undo
    expect(crashed.during).toContain('nameserver 100.64.0.1');
    expect(await readFile(fileA, 'utf8')).toBe(crashed.during); // seen from outside: A holds it
    expect(await readFile(fileB, 'utf8')).toBe(HOST_B); // the file under the mount is untouched
    await stat(join(stateDir, RESOLV_CONF_BACKUP));

    const recovered = runChild('recover');
    expect(recovered.recovered).toBe(true);
    expect(recovered.after).toBe(ORIGINAL);
    expect(await readFile(fileA, 'utf8')).toBe(ORIGINAL);
    expect(await readFile(fileB, 'utf8')).toBe(HOST_B);
  });

  it('a crash left a backup and the directory is now read-only: the helper still starts, says what to run, and keeps the backup', async () => {
    const state = await mkdtemp(join(tmpdir(), 'umbra-dns-lab-state-'));
    const readOnly = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1"';
    try {
      expect(inNamespace('true', [dir, dir], fileB, state, 'apply').during).toContain('100.64.0.1'); // then "crashed"
      const out = inNamespace(readOnly, [dir, dir], fileB, state, 'start-recover');
      expect(out.error).toBeUndefined();
      expect(out.recovered).toBe(false);
      expect(out.log?.join('\n')).toMatch(/is read-only to the helper.*umbrad dns-access/s);
      await stat(join(state, RESOLV_CONF_BACKUP)); // kept for a start that can write
      expect(inNamespace('true', [dir, dir], fileB, state, 'start-recover').recovered).toBe(true);
      // (The child's rename probe replaced the file before the apply: that is the original now.)
      expect(await readFile(fileB, 'utf8')).toBe('probe\n');
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });

  it("in a directory mounted read-only (umbrad.service's ProtectSystem=strict without dns-access), says how to fix it and changes nothing", async () => {
    const state = await mkdtemp(join(tmpdir(), 'umbra-dns-lab-state-'));
    try {
      // The directory read-only, as systemd mounts what ReadWritePaths= does not name.
      const out = inNamespace('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1"', [dir, dir], fileB, state, 'apply');
      expect(out.renameError).toBe('EROFS');
      expect(out.cause).toBe('EROFS');
      expect(out.error).toMatch(/is read-only to the helper.*does not connect with DNS left to the network.*sudo \/usr\/lib\/umbra\/umbrad dns-access && sudo systemctl daemon-reload && sudo systemctl restart umbrad/s);
      expect(out.after).toBe(HOST_B);
      expect(await readFile(fileB, 'utf8')).toBe(HOST_B);
      await expect(stat(join(state, RESOLV_CONF_BACKUP))).rejects.toThrow(); // no backup left to restore
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});
