// Processes the lab starts: every one runs in its own process group (detached), is tracked until it
// exits, and can be killed as a group, asynchronously (destroy) or synchronously (process exit).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the command was killed for running past its timeout (code is then -1). */
  timedOut?: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
}

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

/** Sends a signal to the process group led by pid (falls back to the pid). Never throws. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Whether pid runs (a zombie, dead but not yet reaped, does not count). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries fn until it returns without throwing, or the deadline passes (then rethrows its error). */
export async function eventually<T>(fn: () => Promise<T>, ms: number, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(every);
    }
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM the child's group, wait up to graceMs, then SIGKILL it and wait for the exit. */
export async function terminate(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.pid === undefined) return;
  killGroup(child.pid, 'SIGTERM');
  if (await waitExit(child, graceMs)) return;
  killGroup(child.pid, 'SIGKILL');
  await waitExit(child, 2000);
}

export class ProcessTracker {
  private readonly live = new Set<ChildProcess>();

  /** Starts argv[0] with argv[1..] in a new process group; tracked until it exits. */
  spawn(argv: string[], opts: { env?: Record<string, string>; stdio?: StdioOptions } = {}): ChildProcess {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('spawn: empty argv');
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: opts.stdio ?? 'pipe',
      detached: true,
    });
    if (child.pid !== undefined) {
      this.live.add(child);
      child.once('exit', () => this.live.delete(child));
    }
    // A failed spawn (ENOENT) emits 'error'; keep it from crashing the process if nobody listens.
    child.on('error', () => this.live.delete(child));
    return child;
  }

  /** Runs argv to completion and collects its output; never rejects on a non-zero exit. */
  run(argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = this.spawn(argv, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let settled = false;
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.stderr?.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      }, opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
      const finish = (code: number, extraErr = ''): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const stderr = Buffer.concat(err).toString('utf8') + extraErr;
        resolve({
          code: timedOut ? -1 : code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: timedOut ? `${stderr}[timed out after ${opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS} ms]` : stderr,
          ...(timedOut ? { timedOut } : {}),
        });
      };
      child.on('error', (e) => finish(-1, `${e.message}\n`));
      // 'close' waits for the pipes; a leftover grandchild could hold them open, so 'exit' + grace.
      child.on('close', (code, signal) => finish(code ?? (signal ? 128 : -1)));
      child.on('exit', (code, signal) => {
        setTimeout(() => finish(code ?? (signal ? 128 : -1)), 500).unref();
      });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input ?? '');
    });
  }

  pids(): number[] {
    return [...this.live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /** SIGTERM every group, wait up to graceMs, then SIGKILL what is left and wait for it. */
  async killAll(graceMs = 2000): Promise<void> {
    const children = [...this.live];
    for (const c of children) if (c.pid !== undefined) killGroup(c.pid, 'SIGTERM');
    const done = await Promise.all(children.map((c) => waitExit(c, graceMs)));
    const stubborn = children.filter((_, i) => !done[i]);
    for (const c of stubborn) if (c.pid !== undefined) killGroup(c.pid, 'SIGKILL');
    await Promise.all(stubborn.map((c) => waitExit(c, 2000)));
  }

  /** For 'exit' handlers: SIGKILL every group, synchronously. */
  killAllSync(): void {
    for (const c of this.live) if (c.pid !== undefined) killGroup(c.pid, 'SIGKILL');
    this.live.clear();
  }
}

/** argv run inside a lab namespace. */
export function nsArgv(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Runs argv inside ns and returns stdout; throws (with stderr) on a non-zero exit. */
export async function nsCheck(tracker: ProcessTracker, ns: string, argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await tracker.run(nsArgv(ns, argv), opts);
  if (r.code !== 0) throw new Error(`[${ns}] ${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Keeps the last `limit` characters written to a child's stdout and stderr. */
export function captureOutput(child: ChildProcess, limit = 64 * 1024): () => string {
  let text = '';
  const add = (b: Buffer): void => {
    text += b.toString('utf8');
    if (text.length > limit) text = text.slice(text.length - limit);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}
