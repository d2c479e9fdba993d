// Being told when the ruleset changes instead of asking every second: one long-lived
// `nft monitor` prints a line for every table, chain, rule or set change in this network
// namespace, so the kill-switch watchdog can check at the moment someone touches the firewall and
// otherwise sleep (no `nft list` spawned a second on a laptop that is connected all day).
// While the monitor is not running (nft too old, killed) the watchdog polls as before; the
// monitor is started again with a growing delay. Should the helper die without stopping it,
// the monitor's next line meets a closed pipe and SIGPIPE ends it (systemd ends it with the unit).
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';

export interface RulesetEvents {
  /** Whether changes are being reported now (the watchdog polls while not). */
  readonly alive: boolean;
  /** `change` on every reported change; `alive` when reporting starts or stops. */
  subscribe(on: { change: () => void; alive: (alive: boolean) => void }): void;
  stop(): void;
}

/** The part of a child process the monitor uses (a fake in tests). */
export interface MonitorChild {
  readonly pid?: number | undefined;
  stdout: NodeJS.ReadableStream | null;
  on(event: 'spawn', cb: () => void): unknown;
  on(event: 'error', cb: (e: Error) => void): unknown;
  on(event: 'exit', cb: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface RulesetMonitorOptions {
  spawn?: (argv: string[]) => MonitorChild;
  log?: (line: string) => void;
  /** First delay before starting a monitor that exited again; doubles up to `maxRestartMs`. */
  restartMs?: number;
  maxRestartMs?: number;
  /**
   * How long after its start nft monitor counts as listening (250 ms by default): the process
   * exists before it has joined the kernel's netlink group, and a change in between is not
   * reported. The watchdog polls until then, then checks once (and keeps a slow backstop).
   */
  listenGraceMs?: number;
}

/** A monitor that ran this long counts as working: its next restart is quick again. */
const STABLE_MS = 30_000;

const systemSpawn = (argv: string[]): MonitorChild =>
  nodeSpawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }) as ChildProcess;

export function startRulesetMonitor(opts: RulesetMonitorOptions = {}): RulesetEvents {
  const spawn = opts.spawn ?? systemSpawn;
  const log = opts.log ?? (() => undefined);
  const firstDelay = opts.restartMs ?? 1000;
  const maxDelay = opts.maxRestartMs ?? 60_000;
  const listenGrace = opts.listenGraceMs ?? 250;
  let delay = firstDelay;
  let alive = false;
  let stopped = false;
  let child: MonitorChild | undefined;
  let restart: NodeJS.Timeout | undefined;
  const listeners: { change: () => void; alive: (alive: boolean) => void }[] = [];

  const setAlive = (v: boolean): void => {
    if (v === alive) return;
    alive = v;
    for (const l of listeners) l.alive(v);
  };

  const start = (): void => {
    restart = undefined;
    if (stopped) return;
    let c: MonitorChild;
    try {
      c = spawn(['nft', 'monitor']);
    } catch (e) {
      log(`firewall: cannot run nft monitor (${(e as Error).message}); checking every second instead`);
      return later();
    }
    child = c;
    let partial = '';
    c.stdout?.on('data', (d: Buffer | string) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      if (lines.some((l) => l.trim() !== '')) for (const l of listeners) l.change();
    });
    const spawnedAt = Date.now();
    c.on('spawn', () => {
      const t = setTimeout(() => {
        if (child === c && !stopped) setAlive(true);
      }, listenGrace);
      t.unref();
    });
    c.on('error', (e) => log(`firewall: nft monitor failed (${e.message}); checking every second instead`));
    c.on('exit', (code, signal) => {
      if (child !== c) return;
      child = undefined;
      const wasAlive = alive;
      setAlive(false);
      if (stopped) return;
      if (wasAlive) log(`firewall: nft monitor ended (${signal ?? `exit ${code}`}); checking every second until it runs again`);
      // One that ran a good while starts again soon; one that keeps dying backs off.
      if (Date.now() - spawnedAt > STABLE_MS) delay = firstDelay;
      later();
    });
  };

  const later = (): void => {
    if (stopped || restart) return;
    restart = setTimeout(start, delay);
    restart.unref();
    delay = Math.min(delay * 2, maxDelay);
  };

  start();
  return {
    get alive() {
      return alive;
    },
    subscribe(on) {
      listeners.push(on);
    },
    stop() {
      stopped = true;
      if (restart) clearTimeout(restart);
      restart = undefined;
      const c = child;
      child = undefined;
      alive = false;
      c?.kill('SIGTERM');
    },
  };
}
