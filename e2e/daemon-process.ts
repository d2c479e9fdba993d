// Runs `umbrad serve` (the compiled helper) in a lab namespace, with its socket and state in a
// temp dir and DNS in the lab's private resolv.conf, and gives tests an IPC client to it.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab/lab.js';
import { IpcClient } from '../helper/ipc/client.js';
import type { TunnelStatus } from '../helper/ipc/schema.js';
import { UMBRAD } from './umbrad-process.js';
import { removeCgroupNow } from './excluded-program.js';

export interface DaemonRunOptions {
  /** Extra environment for the helper (e.g. a test seam's variable). */
  env?: Record<string, string>;
  /** Extra `umbrad serve` arguments (e.g. --group). */
  args?: string[];
  /** A directory (under the run's temp dir) for the socket, which the helper creates, as it does /run/umbra. */
  socketDir?: string;
  /** Another helper to run: a Node.js and its umbrad.js (the bench's --helper-from); default this checkout's on this Node. */
  umbrad?: { node: string; script: string };
}

/** Runs in this process so far: each gets its own split-tunnel cgroup. */
let runs = 0;

export class DaemonRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'umbra-daemon-'));
  /** This run's split-tunnel cgroup name: the cgroup tree is machine-wide, so runs must not share one (cleanup() removes it). */
  readonly cgroup = `umbra-lab-${process.pid}-${++runs}`;
  readonly socket: string;
  readonly stateDir = join(this.dir, 'state');
  child: ChildProcess | undefined;
  private err = '';
  private clients: IpcClient[] = [];

  constructor(private readonly lab: Lab, private readonly opts: DaemonRunOptions = {}) {
    chmodSync(this.dir, 0o755);
    this.socket = join(this.dir, ...(opts.socketDir === undefined ? [] : [opts.socketDir]), 'umbrad.sock');
  }

  get stderr(): string {
    return this.err;
  }

  /** Starts the helper and waits until it serves. `stderr` keeps every run's log. */
  async start(): Promise<void> {
    const from = this.err.length; // the log accumulates over restarts
    this.seedLabSettings();
    const child = this.lab.spawn(this.lab.client.ns, [
      this.opts.umbrad?.node ?? process.execPath, this.opts.umbrad?.script ?? UMBRAD, 'serve',
      '--socket', this.socket,
      '--state-dir', this.stateDir,
      '--resolv-conf', this.lab.client.resolvConfPath,
      '--dns', 'resolv-conf',
      ...(this.opts.args ?? []),
    // The lab's "internet" is documentation space over plain http: the helper's lab allowance.
    ], { env: { UMBRA_LAB_NETWORKS: '1', UMBRA_EXCLUDED_CGROUP: this.cgroup, ...this.opts.env } });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => (this.err += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!/serving on/.test(this.err.slice(from))) {
      if (child.exitCode !== null) throw new Error(`umbrad serve exited (${child.exitCode}):\n${this.err}`);
      if (Date.now() > deadline) throw new Error(`umbrad serve did not start:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * A first start points the leak checks at the lab's own services, so the helper never even
   * tries the public defaults (it probes the echo service when disconnected). Tests that want
   * other values write settings.json before the first start.
   */
  private seedLabSettings(): void {
    const file = join(this.stateDir, 'settings.json');
    if (existsSync(file)) return;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const i = this.lab.internet;
    writeFileSync(file, JSON.stringify({
      schemaVersion: 1,
      echoUrls: [i.echoUrl],
      echoUrl6: i.echoUrl6,
      dnsLeakTest: { zone: i.dnsZone, apiUrl: i.dnsAskersUrl },
      stunServers: [i.stunUrl],
    }), { mode: 0o600 });
  }

  async client(): Promise<IpcClient> {
    const c = await IpcClient.connect(this.socket, { timeoutMs: 5000 });
    this.clients.push(c);
    return c;
  }

  /** Polls until pred holds (e.g. on `stderr`); throws with the log when it does not within ms. */
  async waitLog(pred: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the helper said:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Polls status until pred holds; returns the matching status or throws with the last one. */
  async waitFor(pred: (s: TunnelStatus) => boolean, ms: number, what: string): Promise<TunnelStatus> {
    const c = await this.client();
    const deadline = Date.now() + ms;
    let last: TunnelStatus | undefined;
    for (;;) {
      last = await c.call('status');
      if (pred(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}\nhelper log:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    for (const c of this.clients.splice(0)) await c.close().catch(() => undefined);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (code === 'timeout') throw new Error(`umbrad serve did not exit after ${signal}:\n${this.err}`);
    return code;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
    removeCgroupNow(this.cgroup);
  }

  get bootFileExists(): boolean {
    return existsSync(join(this.stateDir, 'boot-killswitch.nft'));
  }
}
