// Which DNS backend to use.
//
// auto: systemd-resolved when the resolv.conf path is a symlink into /run/systemd/resolve/ (the
// system hands glibc to resolved, stub or not) AND resolved answers (`resolvectl status` exits 0);
// /etc/resolv.conf otherwise. Inside a lab namespace (`ip netns exec`, or `unshare -m` with a bind
// mount) the path is a bind-mounted regular file, not a symlink, so auto picks resolv-conf there
// and the host's resolved is never touched: the safe choice.
// A symlink elsewhere (NetworkManager, resolvconf) gets resolv-conf, written through the link.
// networkmanager (NetworkManager's global DNS over D-Bus) is taken only when asked for with
// --dns networkmanager: it is not yet tried against a real NetworkManager in the lab.
import { lstat, readlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CommandRunner } from '../exec.js';
import { networkManagerBackend } from './networkmanager.js';
import { resolvConfBackend } from './resolv-conf.js';
import { resolvedBackend } from './resolved.js';
import type { DnsBackend, DnsMode } from './types.js';

const RESOLVED_RUN_DIR = '/run/systemd/resolve/';

export interface ChooseDnsOptions {
  mode: DnsMode;
  /** /etc/resolv.conf in production. */
  resolvConfPath: string;
  stateDir: string;
  run: CommandRunner;
  /** Whether resolved is running; by default `resolvectl status` through `run` exits 0. */
  resolvedRunning?: () => Promise<boolean>;
  log?: (line: string) => void;
}

/** True when `path` is a symlink whose target (resolved against the link's directory) lies in /run/systemd/resolve/. */
export async function pointsIntoResolved(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isSymbolicLink()) return false;
  const target = resolve(dirname(path), await readlink(path));
  return target.startsWith(RESOLVED_RUN_DIR);
}

/**
 * A backend, with recover() for the helper's start: it restores a resolv.conf backup left by a
 * crash, whichever backend is chosen now (an earlier run may have used the other one; resolved
 * itself forgets a link's DNS when the link goes away, so it needs no recovery of its own).
 */
export type RecoverableDnsBackend = DnsBackend & { recover(): Promise<boolean> };

export async function chooseDnsBackend(opts: ChooseDnsOptions): Promise<RecoverableDnsBackend> {
  const file = resolvConfBackend({ path: opts.resolvConfPath, stateDir: opts.stateDir, ...(opts.log ? { log: opts.log } : {}) });
  const nm = networkManagerBackend(opts.run, opts.stateDir);
  // Whatever backend runs now, a crash of an earlier run may have left either backup.
  const recover = async (): Promise<boolean> => {
    const [a, b] = await Promise.all([file.recover(), nm.recover().catch(() => false)]);
    return a || b;
  };
  const withRecover = (backend: DnsBackend): RecoverableDnsBackend => ({ name: backend.name, apply: (cfg) => backend.apply(cfg), recover });
  const resolvConf = withRecover(file);
  const viaResolved = (): RecoverableDnsBackend => withRecover(resolvedBackend(opts.run));
  const viaNetworkManager = (): RecoverableDnsBackend => withRecover(nm);
  if (opts.mode === 'resolv-conf') return resolvConf;
  if (opts.mode === 'resolved') return viaResolved();
  if (opts.mode === 'networkmanager') return viaNetworkManager();
  const running =
    opts.resolvedRunning ??
    (() =>
      opts.run.run(['resolvectl', 'status']).then(
        () => true,
        () => false,
      ));
  if ((await pointsIntoResolved(opts.resolvConfPath)) && (await running())) return viaResolved();
  return resolvConf;
}
