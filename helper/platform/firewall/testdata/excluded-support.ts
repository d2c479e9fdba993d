// What the split-tunnelling tests need from this machine, detected rather than assumed: root, a
// writable cgroup2 mount (found in mountinfo, wherever it is), and an nft and kernel that take
// `socket cgroupv2` in a route chain on output (tried in a throwaway namespace, with a throwaway
// cgroup). nft runs under `nsenter --net` here, not `ip netns exec`: the latter mounts a fresh
// sysfs over /sys, which hides the cgroup mounts under /sys/fs/cgroup that nft resolves paths in.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseCgroup2Mounts, pickCgroup2Mount } from '../../cgroup/mountinfo.js';

/** `nft ARGS` in a namespace's network only (this process's mounts, so /sys/fs/cgroup as it is). */
export function nftInNet(ns: string, args: string[], input?: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, 'nft', ...args], { input, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr ?? r.error?.message ?? '', stdout: r.stdout ?? '' };
}

/** Why the split-tunnelling nft tests cannot run here, or undefined when they can. */
export function excludedSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const [cmd, arg] of [['nft', '--version'], ['ip', '-V'], ['nsenter', '--version']] as const) {
    if (spawnSync(cmd, [arg]).status !== 0) return `${cmd} is missing`;
  }
  const mount = pickCgroup2Mount(parseCgroup2Mounts(readFileSync('/proc/self/mountinfo', 'utf8')));
  if (!mount) return 'cgroup v2 is not mounted here';
  if (mount.readOnly) return `the cgroup2 mount ${mount.mountPoint} is read-only`;
  const name = `umbra-probe-${process.pid}`;
  const ns = `ukxp-${process.pid}`;
  const dir = join(mount.mountPoint, name);
  try {
    mkdirSync(dir);
  } catch (e) {
    return `cannot create a cgroup in ${mount.mountPoint}: ${(e as Error).message}`;
  }
  try {
    if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return 'cannot create a network namespace';
    const rel = posix.relative('/sys/fs/cgroup', dir);
    const text = `table inet probe {\n\tchain o {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tsocket cgroupv2 level 1 "${rel}" meta mark set 1\n\t}\n}\n`;
    const r = nftInNet(ns, ['-f', '-'], text);
    if (r.status !== 0) return `nft or the kernel does not take "socket cgroupv2" on output: ${r.stderr.trim().split('\n')[0] ?? ''}`;
    return undefined;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmdirSync(dir);
  }
}
