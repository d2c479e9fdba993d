// Test-side driver of lab-child.mjs: starts it inside a network namespace, sends it commands and
// waits for its events. Used by the TUN and UDP lab tests.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nativeAddonPath } from '../../native.js';
import { fileURLToPath } from 'node:url';

/** Why the namespace tests cannot run here, or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is missing';
  if (!existsSync(nativeAddonPath())) return 'the native addon is not built (npm run build:native)';
  return undefined;
}

/** `ip -n ns ...args`, returning its output. */
export function ipIn(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

export interface LabEvent {
  event: string;
  [key: string]: unknown;
}

const childScript = fileURLToPath(new URL('./lab-child.mjs', import.meta.url));
const registerScript = fileURLToPath(new URL('./ts-register.mjs', import.meta.url));

export class LabChild {
  readonly events: LabEvent[] = [];
  private stderr = '';
  private waiters: (() => void)[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    let buffered = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as LabEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
      this.wake();
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
    });
  }

  /** Starts the child in `ns` (as root, or as uid/gid `asUser` without capabilities) and waits until it is ready. */
  static async start(ns: string, asUser?: number): Promise<LabChild> {
    const drop = asUser === undefined ? [] : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', '--inh-caps=-all'];
    const proc = spawn('ip', ['netns', 'exec', ns, ...drop, process.execPath, '--import', registerScript, childScript], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child = new LabChild(proc);
    await child.waitFor((e) => e.event === 'ready', 0, 15_000);
    return child;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  get stderrText(): string {
    return this.stderr;
  }

  /** Sends a command; returns the index of the first event that can answer it. */
  send(cmd: Record<string, unknown>): number {
    const from = this.events.length;
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    return from;
  }

  /** Sends a command and waits for the first event (after it) that matches. */
  request(cmd: Record<string, unknown>, match: (e: LabEvent) => boolean, timeoutMs = 5000): Promise<LabEvent> {
    return this.waitFor(match, this.send(cmd), timeoutMs);
  }

  /** Sends a command and waits for an event of `eventName` or an 'error' event. */
  async call(cmd: Record<string, unknown>, eventName: string, timeoutMs = 5000): Promise<LabEvent> {
    const e = await this.request(cmd, (ev) => ev.event === eventName || ev.event === 'error', timeoutMs);
    if (e.event === 'error') throw new Error(`child: ${cmd.cmd as string} failed: ${e.message as string} (${e.code as string})`);
    return e;
  }

  /** The first event from index `from` on that matches, waiting up to timeoutMs for it. */
  async waitFor(match: (e: LabEvent) => boolean, from = 0, timeoutMs = 5000): Promise<LabEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.exitInfo) throw new Error(`lab child exited (${JSON.stringify(this.exitInfo)}) before the awaited event; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for an event; last events: ${JSON.stringify(this.events.slice(-5))}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the child exits within timeoutMs, false otherwise. */
  async exitsWithin(timeoutMs: number): Promise<boolean> {
    if (this.exitInfo) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Kills this child (by its pid) if it still runs, and waits for it to go. */
  async kill(): Promise<void> {
    if (this.exitInfo || this.proc.pid === undefined) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
