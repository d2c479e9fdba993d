// Test-side driver of net-child.mjs: starts it inside a network namespace, sends commands, waits
// for their results. Kill-switch lab only.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface NetEvent {
  event: string;
  id?: string;
  [key: string]: unknown;
}

const childScript = fileURLToPath(new URL('./net-child.mjs', import.meta.url));
const registerScript = fileURLToPath(new URL('../../tun/testdata/ts-register.mjs', import.meta.url));

let nextId = 0;

export class NetChild {
  readonly events: NetEvent[] = [];
  private stderr = '';
  private waiters = new Set<() => void>();
  private exited = false;

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
          this.events.push(JSON.parse(line) as NetEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
      this.wake();
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (c: string) => (this.stderr += c));
    proc.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  static async start(ns: string): Promise<NetChild> {
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', registerScript, childScript], { stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new NetChild(proc);
    await child.waitFor((e) => e.event === 'ready', 15_000);
    return child;
  }

  /** Sends a command and waits for its result (or error) event. */
  async call(cmd: Record<string, unknown>, timeoutMs = 10_000): Promise<NetEvent> {
    const id = (cmd.id as string | undefined) ?? `p${nextId++}`;
    this.proc.stdin.write(JSON.stringify({ ...cmd, id }) + '\n');
    const e = await this.waitFor((ev) => ev.id === id && (ev.event === 'result' || ev.event === 'error'), timeoutMs);
    if (e.event === 'error') throw new Error(`net child: ${String(cmd.cmd)} failed: ${String(e.message)} (${String(e.code)})`);
    return e;
  }

  /** Sends a command whose answer is a named event (e.g. serve -> serving). */
  async command(cmd: Record<string, unknown>, eventName: string, timeoutMs = 10_000): Promise<NetEvent> {
    const from = this.events.length;
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    const e = await this.waitFor((ev, i) => i >= from && (ev.event === eventName || ev.event === 'error'), timeoutMs);
    if (e.event === 'error') throw new Error(`net child: ${String(cmd.cmd)} failed: ${String(e.message)} (${String(e.code)})`);
    return e;
  }

  async waitFor(match: (e: NetEvent, index: number) => boolean, timeoutMs = 10_000): Promise<NetEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex(match);
      if (i >= 0) return this.events[i]!;
      if (this.exited) throw new Error(`net child exited; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for an event; last: ${JSON.stringify(this.events.slice(-3))}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const w = () => {
          clearTimeout(t);
          this.waiters.delete(w);
          resolve();
        };
        const t = setTimeout(w, left);
        this.waiters.add(w);
      });
    }
  }

  /** Kills the child (by its pid) if it still runs. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGKILL');
    await gone;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
