// Runs a wireguard-go instance inside a lab namespace and configures it with `wg` and `ip`.
//
// wireguard-go's control socket is /var/run/wireguard/<ifname>.sock, a path in the filesystem and so
// shared by every network namespace: two instances named wg0 (two lab servers, or two labs running at
// once) would collide. Each instance therefore runs in a private mount namespace where
// /run/wireguard is a bind mount of its own scratch directory; `wg` is run the same way
// (handle.wg()), which is why a plain `ip netns exec <ns> wg show` does not see lab instances.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureOutput, nsArgv, nsCheck, ProcessTracker, sleep, terminate, type ExecResult } from './proc.js';

interface WireguardGoPeer {
  publicKey: string;
  /** host:port, [v6]:port */
  endpoint?: string;
  allowedIPs: string | string[];
  persistentKeepalive?: number;
  presharedKey?: string;
}

export interface WireguardGoOptions {
  ifname: string;
  privateKey: string;
  listenPort?: number;
  /** Interface addresses, CIDR. */
  address: string[];
  peers: WireguardGoPeer[];
  /**
   * Routes through the interface; defaults to the peers' allowed IPs (like wg-quick). A default route
   * (0.0.0.0/0, ::/0) uses the wg-quick scheme: fwmark on the tunnel's own packets,
   * `ip rule not fwmark T table T`, `ip rule table main suppress_prefixlength 0`, default dev in T.
   */
  routes?: string[];
  /** fwmark and routing table for a default route (default 51820, as wg-quick). */
  fwmark?: number;
  mtu?: number;
  /** wireguard-go's LOG_LEVEL: verbose | error | silent (default error). */
  logLevel?: 'verbose' | 'error' | 'silent';
}

export interface WireguardGoHandle {
  ns: string;
  ifname: string;
  pid: number;
  publicKey: string;
  /** False once the process has exited. */
  readonly running: boolean;
  /** Runs `wg ...args` against this instance (e.g. ['show', ifname, 'latest-handshakes']). */
  wg(args: string[], opts?: { input?: string }): Promise<ExecResult>;
  /** The last 64 KB of wireguard-go's output. */
  log(): string;
  /** Kills wireguard-go (the interface disappears), removes the rules it added. Idempotent. */
  stop(): Promise<void>;
}

const START_SCRIPT = 'mkdir -p /run/wireguard && mount --bind "$0" /run/wireguard && exec wireguard-go -f "$1"';
const WG_SCRIPT = 'mkdir -p /run/wireguard && mount --bind "$0" /run/wireguard && exec wg "$@"';
const READY_TIMEOUT_MS = 5000;

let defaultTracker: ProcessTracker | undefined;

function isDefaultRoute(cidr: string): boolean {
  return cidr === '0.0.0.0/0' || cidr === '::/0';
}

function family(cidr: string): '-4' | '-6' {
  return cidr.includes(':') ? '-6' : '-4';
}

function list(v: string | string[]): string[] {
  return (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** Runs `wg` (no interface needed, e.g. genkey/pubkey) inside ns. */
export async function wgTool(tracker: ProcessTracker, ns: string, args: string[], input?: string): Promise<string> {
  return (await nsCheck(tracker, ns, ['wg', ...args], { input })).trim();
}

/**
 * Starts wireguard-go in ns, configured from opts. Processes go to `tracker` (a lab's, so that
 * destroy() kills them; by default a module-wide one) and scratch files under `scratchDir`.
 */
export async function startWireguardGo(
  ns: string,
  opts: WireguardGoOptions,
  ctx: { tracker?: ProcessTracker; scratchDir?: string } = {},
): Promise<WireguardGoHandle> {
  defaultTracker ??= new ProcessTracker();
  const tracker = ctx.tracker ?? defaultTracker;
  if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(opts.ifname)) throw new Error(`bad interface name: ${opts.ifname}`);
  const dir = mkdtempSync(join(ctx.scratchDir ?? tmpdir(), `wg-${opts.ifname}-`));
  const sockDir = join(dir, 'uapi');
  const keyFile = join(dir, 'private.key');
  writeFileSync(keyFile, `${opts.privateKey}\n`, { mode: 0o600 });
  mkdirSync(sockDir, { mode: 0o700 }); // only root reaches the control socket

  const child: ChildProcess = tracker.spawn(
    nsArgv(ns, ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', START_SCRIPT, sockDir, opts.ifname]),
    { env: { WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: opts.logLevel ?? 'error' } },
  );
  const log = captureOutput(child);
  const pid = child.pid;
  const cleanupRules: string[][] = [];
  let stopped: Promise<void> | undefined;

  const wg = (args: string[], o: { input?: string } = {}): Promise<ExecResult> =>
    tracker.run(nsArgv(ns, ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', WG_SCRIPT, sockDir, ...args]), o);
  const wgCheck = async (args: string[]): Promise<string> => {
    const r = await wg(args);
    if (r.code !== 0) throw new Error(`[${ns}] wg ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  const ip = (args: string[]): Promise<string> => nsCheck(tracker, ns, ['ip', ...args]);

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await terminate(child);
      // The TUN goes away with the process; wait until the kernel has removed it.
      for (let i = 0; i < 40; i++) {
        const r = await tracker.run(nsArgv(ns, ['ip', 'link', 'show', opts.ifname]));
        if (r.code !== 0) break;
        await sleep(50);
      }
      for (const rule of cleanupRules.reverse()) await tracker.run(nsArgv(ns, ['ip', ...rule]));
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    if (pid === undefined) throw new Error('wireguard-go: spawn failed');
    // Ready when the UAPI socket exists in our private directory.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!existsSync(join(sockDir, `${opts.ifname}.sock`))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wireguard-go exited early: ${log()}`);
      if (Date.now() > deadline) throw new Error(`wireguard-go did not come up in ${READY_TIMEOUT_MS} ms: ${log()}`);
      await sleep(20);
    }

    const routes = opts.routes ?? opts.peers.flatMap((p) => list(p.allowedIPs));
    const fullTunnel = routes.filter(isDefaultRoute);
    const mark = opts.fwmark ?? 51820;

    const set = ['set', opts.ifname, 'private-key', keyFile];
    if (opts.listenPort !== undefined) set.push('listen-port', String(opts.listenPort));
    if (fullTunnel.length > 0) set.push('fwmark', String(mark));
    opts.peers.forEach((p, n) => {
      set.push('peer', p.publicKey, 'allowed-ips', list(p.allowedIPs).join(','));
      if (p.endpoint) set.push('endpoint', p.endpoint);
      if (p.persistentKeepalive !== undefined) set.push('persistent-keepalive', String(p.persistentKeepalive));
      if (p.presharedKey) {
        const pskFile = join(dir, `psk${n}`);
        writeFileSync(pskFile, `${p.presharedKey}\n`, { mode: 0o600 });
        set.push('preshared-key', pskFile);
      }
    });
    await wgCheck(set);

    for (const a of opts.address) await ip(['address', 'add', a, 'dev', opts.ifname]);
    await ip(['link', 'set', opts.ifname, 'mtu', String(opts.mtu ?? 1420), 'up']);

    for (const r of routes.filter((r) => !isDefaultRoute(r))) await ip([family(r), 'route', 'replace', r, 'dev', opts.ifname]);
    for (const r of fullTunnel) {
      const f = family(r);
      const table = String(mark);
      await ip([f, 'route', 'add', r, 'dev', opts.ifname, 'table', table]);
      await ip([f, 'rule', 'add', 'not', 'fwmark', table, 'table', table]);
      cleanupRules.push([f, 'rule', 'del', 'not', 'fwmark', table, 'table', table]);
      await ip([f, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0']);
      cleanupRules.push([f, 'rule', 'del', 'table', 'main', 'suppress_prefixlength', '0']);
      // Replies to the marked outer packets must pass reverse-path filtering (wg-quick does the same).
      if (f === '-4') await nsCheck(tracker, ns, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.src_valid_mark=1']);
    }
    const publicKey = await wgTool(tracker, ns, ['pubkey'], `${opts.privateKey}\n`);
    return {
      ns,
      ifname: opts.ifname,
      pid,
      publicKey,
      get running() {
        return child.exitCode === null && child.signalCode === null;
      },
      wg,
      log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
