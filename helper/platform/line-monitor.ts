// A monitor that runs as a child process and reports one line of output at a time (busctl
// monitor, ip monitor): started with spawn, killed by its handle on stop(); an exit or a failure
// to start before stop() is logged once, with what the helper does without it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LineMonitor {
  /** Kills the monitor (if it runs). Idempotent. */
  stop(): void;
  /** The monitor's PID while it runs (for tests and logs). */
  readonly pid: number | undefined;
}

export interface LineMonitorOptions {
  onLine(line: string): void;
  log(line: string): void;
  /** Starts the log lines ("sleep signal"). */
  label: string;
  /** Ends them: what still works without the monitor. */
  without: string;
  env?: NodeJS.ProcessEnv;
}

export function runLineMonitor(argv: readonly string[], o: LineMonitorOptions): LineMonitor {
  const [cmd, ...args] = argv;
  const tool = cmd!.split('/').pop();
  let stopped = false;
  const child: ChildProcess = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env ? { env: o.env } : {}) });
  let lastErr = '';
  child.stderr!.on('data', (d: Buffer) => (lastErr = d.toString().trim().split('\n').pop() ?? ''));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!stopped) o.onLine(line);
  });
  child.on('error', (e) => {
    if (!stopped) o.log(`${o.label}: could not run ${tool}: ${e.message}; ${o.without}`);
  });
  child.on('exit', (code, signal) => {
    if (!stopped) o.log(`${o.label}: ${tool} exited (${signal ?? `code ${code}`}${lastErr ? `: ${lastErr}` : ''}); ${o.without}`);
  });
  return {
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
