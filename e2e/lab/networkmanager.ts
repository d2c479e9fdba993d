// A real NetworkManager for lab tests, touching nothing of the host's: it runs in a network
// namespace of its own (lo only: DNS needs no link), in a private mount namespace where /run and
// /var/lib/NetworkManager are tmpfs, /sys is read-only (no udev here) and /etc is an overlay whose
// upper layer is a scratch directory (whatever NetworkManager writes to /etc, resolv.conf with
// rc-manager=file included, lands there: rename() works, unlike over a bind-mounted file), on a
// private dbus-daemon with no service directory (nothing can be bus-activated). The way to start
// it is e2e/lab/record-networkmanager.sh's. The namespace and the scratch directory are named
// like createLab()'s (ulab<pid>n<k>-c, umbra-lab-<prefix>-*, owner.json), so cleanupStaleLabs()
// removes them if this process dies before stop().
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemRunner, type CommandRunner } from '../../helper/platform/exec.js';
import { listNamespaces, onProcessExit, processStart, removeNamespaceSync, TMP_PREFIX } from './cleanup.js';
import { onPath } from './probes.js';
import { captureOutput, eventually, isAlive, nsArgv, ProcessTracker, sleep } from './proc.js';

const NETWORK_MANAGER = '/usr/sbin/NetworkManager';
const NEEDED = ['ip', 'unshare', 'mount', 'dbus-daemon', 'busctl', 'env'];

export interface NetworkManagerOptions {
  /** NetworkManager.conf's [main] dns= (default: 'default', NetworkManager writes resolv.conf itself). */
  dnsMode?: 'default' | 'none';
  /** [main] rc-manager= (default: 'file'). */
  rcManager?: 'file' | 'unmanaged';
  /** Servers for a [global-dns] section in NetworkManager.conf, which makes the D-Bus property read-only. */
  configGlobalDns?: string[];
}

export interface LabNetworkManager {
  busAddress: string;
  ns: string;
  /** Runs argv on this machine with DBUS_SYSTEM_BUS_ADDRESS set to the private bus: busctl --system talks to this NetworkManager. */
  run: CommandRunner;
  /** The /etc/resolv.conf NetworkManager sees (and writes with rc-manager=file). */
  resolvConf(): Promise<string>;
  /** Stops NetworkManager and its bus, deletes the namespace and the scratch directory; idempotent, never throws. */
  stop(): Promise<void>;
}

/** '' when this machine can run a lab NetworkManager, or why not. */
export function networkManagerAvailable(): string {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network and mount namespaces)';
  if (!onPath('NetworkManager')) return `no ${NETWORK_MANAGER} (Debian package network-manager)`;
  const missing = NEEDED.filter((c) => !onPath(c));
  if (missing.length > 0) return `missing commands: ${missing.join(', ')} (dbus-daemon: Debian package dbus-daemon; busctl: systemd)`;
  return '';
}

/** The resolv.conf the namespace starts with, so a test can tell NetworkManager's apart. */
export const INITIAL_RESOLV_CONF = '# umbra lab: before NetworkManager\nnameserver 198.51.100.1\n';

/** The private bus's configuration, shared with record-networkmanager.sh. */
const busConfig = (socket: string): string => readFileSync(fileURLToPath(new URL('./private-system-bus.conf', import.meta.url)), 'utf8').replaceAll('@BUS_SOCKET@', socket);

function nmConfig(o: NetworkManagerOptions, connections: string): string {
  const global = o.configGlobalDns ? `\n[global-dns]\n\n[global-dns-domain-*]\nservers=${o.configGlobalDns.join(',')}\n` : '';
  return `[main]
plugins=keyfile
dns=${o.dnsMode ?? 'default'}
rc-manager=${o.rcManager ?? 'file'}
hostname-mode=none
systemd-resolved=false
no-auto-default=*
auth-polkit=false

[keyfile]
path=${connections}

[logging]
level=INFO
audit=false
${global}`;
}

// ip netns exec, unshare (no --fork) and sh's exec all exec: the spawned PID is NetworkManager's.
// --debug sends its log to stderr (not syslog), where a failed start shows it.
// Any mount failing stops the script before NetworkManager starts on the host's /etc.
const START_NM = `set -e
mount -t tmpfs tmpfs /run
mkdir /run/NetworkManager
mount -t tmpfs tmpfs /var/lib/NetworkManager
mount -o remount,bind,ro /sys
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$0/etc-upper,workdir=$0/etc-work" /etc
exec NetworkManager --no-daemon --debug --config="$0/nm.conf" --config-dir="$0/empty" --state-file="$0/state" --pid-file="$0/nm.pid"`;

// Far from createLab()'s counter (both skip a prefix in use, so this only avoids the retries).
let counter = 1000;

function pickPrefix(): string {
  for (;;) {
    const p = `ulab${process.pid}n${counter++}`;
    if (!listNamespaces().some((ns) => ns.startsWith(`${p}-`))) return p;
  }
}

export async function startNetworkManager(o: NetworkManagerOptions = {}): Promise<LabNetworkManager> {
  const why = networkManagerAvailable();
  if (why) throw new Error(`a lab NetworkManager cannot run here: ${why}`);
  const prefix = pickPrefix();
  const ns = `${prefix}-c`;
  const tracker = new ProcessTracker();
  const scratch = mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${prefix}-`));
  writeFileSync(join(scratch, 'owner.json'), JSON.stringify({ pid: process.pid, start: processStart(process.pid) }));
  let nsCreated = false;
  const stopSync = (): void => {
    tracker.killAllSync();
    if (nsCreated) removeNamespaceSync(ns);
    rmSync(scratch, { recursive: true, force: true });
  };
  const unregister = onProcessExit(stopSync);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      try {
        await tracker.killAll();
        // What is left in the namespace was started here (the bus, NetworkManager's helpers).
        const left = nsCreated ? (await tracker.run(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number) : [];
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        for (let n = 0; n < 50 && left.some(isAlive); n++) await sleep(20);
      } catch {
        /* never throws */
      } finally {
        stopSync();
        unregister();
      }
    })());

  const busAddress = `unix:path=${join(scratch, 'bus')}`;
  const run: CommandRunner = { run: (argv, opts) => systemRunner.run(['env', `DBUS_SYSTEM_BUS_ADDRESS=${busAddress}`, ...argv], opts) };
  const upper = join(scratch, 'etc-upper');
  let nmLog: () => string = () => '';
  try {
    for (const d of ['connections', 'empty', 'etc-upper', 'etc-work']) mkdirSync(join(scratch, d), { mode: 0o700 });
    writeFileSync(join(upper, 'resolv.conf'), INITIAL_RESOLV_CONF, { mode: 0o644 });
    writeFileSync(join(scratch, 'bus.conf'), busConfig(join(scratch, 'bus')));
    writeFileSync(join(scratch, 'nm.conf'), nmConfig(o, join(scratch, 'connections')));

    const added = await tracker.run(['ip', 'netns', 'add', ns]);
    if (added.code !== 0) throw new Error(`ip netns add ${ns}: ${added.stderr.trim()}`);
    nsCreated = true;
    await tracker.run(nsArgv(ns, ['ip', 'link', 'set', 'lo', 'up']));

    const bus = tracker.spawn(nsArgv(ns, ['dbus-daemon', `--config-file=${join(scratch, 'bus.conf')}`, '--nofork', '--nopidfile']));
    const busLog = captureOutput(bus);
    await eventually(() => run.run(['busctl', '--system', 'status']), 10_000, 100).catch((e: unknown) => {
      throw new Error(`the lab's dbus-daemon did not answer: ${String(e)}\n${busLog()}`);
    });

    const nm: ChildProcess = tracker.spawn(nsArgv(ns, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', START_NM, scratch]), { env: { DBUS_SYSTEM_BUS_ADDRESS: busAddress } });
    nmLog = captureOutput(nm);
    // Up once its DnsManager answers (it is exported after the main object); no waiting on a corpse.
    const exited = new Promise<never>((_, reject) => nm.once('exit', (code, signal) => reject(new Error(`NetworkManager exited (${signal ?? `code ${code}`})`))));
    exited.catch(() => undefined);
    const dnsManagerUp = eventually(
      () => run.run(['busctl', '--system', 'get-property', 'org.freedesktop.NetworkManager', '/org/freedesktop/NetworkManager/DnsManager', 'org.freedesktop.NetworkManager.DnsManager', 'Mode']),
      30_000,
      200,
    );
    await Promise.race([dnsManagerUp, exited]);
  } catch (e) {
    await stop();
    throw new Error(`the lab NetworkManager did not start: ${e instanceof Error ? e.message : String(e)}\n${nmLog()}`);
  }
  return {
    busAddress,
    ns,
    run,
    resolvConf: () => readFile(join(upper, 'resolv.conf'), 'utf8'),
    stop,
  };
}
