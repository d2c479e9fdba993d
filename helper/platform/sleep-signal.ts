// logind's word that the machine goes to sleep or has woken: the PrepareForSleep(bool) signal of
// org.freedesktop.login1.Manager on the system bus (true before the suspend, false after the
// resume). The tunnel also sees a resume by its clocks (tunnel/sleep-detector.ts); the signal
// comes from the one who did the suspend, also where the boot clock is missing.
//
// No D-Bus library: a monitor from the bus's own tools runs as a child (systemd's busctl, else
// dbus-monitor), its output is parsed line by line (pure functions below), and the child is
// killed, by its handle, on stop(). Without a system bus, logind or either tool: nothing runs, one
// log line says why.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runLineMonitor, type LineMonitor } from './line-monitor.js';

export type SleepEdge = 'sleeping' | 'resumed';

const INTERFACE = 'org.freedesktop.login1.Manager';
const MEMBER = 'PrepareForSleep';
const LOGIND = 'org.freedesktop.login1';
const LOGIND_PATH = '/org/freedesktop/login1';
const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
/** logind makes this at start; its absence means no logind (a container, another init). */
const LOGIND_RUNS = '/run/systemd/seats';

/** The D-Bus match rule for logind's signal; no sender (false) only on a test's bus, where no one owns logind's name. */
export function sleepMatchRule(sender: string | false = LOGIND): string {
  return [`type='signal'`, ...(sender ? [`sender='${sender}'`] : []), `path='${LOGIND_PATH}'`, `interface='${INTERFACE}'`, `member='${MEMBER}'`].join(',');
}

const edge = (asleep: boolean): SleepEdge => (asleep ? 'sleeping' : 'resumed');

/** One line of `busctl --json=short monitor`: a message as JSON. */
export function parseBusctlLine(line: string): SleepEdge | undefined {
  if (!line.startsWith('{')) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const msg = m as { type?: unknown; interface?: unknown; member?: unknown; payload?: { type?: unknown; data?: unknown } };
  if (msg.type !== 'signal' || msg.interface !== INTERFACE || msg.member !== MEMBER) return undefined;
  const data = msg.payload?.type === 'b' && Array.isArray(msg.payload.data) ? msg.payload.data[0] : undefined;
  return typeof data === 'boolean' ? edge(data) : undefined;
}

/**
 * `dbus-monitor` prints a header line per message ("signal time=… interface=…; member=…") and its
 * arguments on the lines after it ("   boolean false"): the parser remembers the header.
 */
export class DbusMonitorParser {
  private inSignal = false;

  line(line: string): SleepEdge | undefined {
    if (!/^\s/.test(line)) {
      this.inSignal = line.startsWith('signal ') && line.includes(`interface=${INTERFACE};`) && /member=PrepareForSleep\s*$/.test(line);
      return undefined;
    }
    if (!this.inSignal) return undefined;
    this.inSignal = false; // its one argument
    const b = /^\s+boolean (true|false)\s*$/.exec(line);
    return b ? edge(b[1] === 'true') : undefined;
  }
}

export interface Monitor {
  /** What runs, e.g. ['busctl', '--json=short', 'monitor', …]. */
  argv: string[];
  /** A parser for its output, one line at a time (may keep state between lines). */
  parser(): (line: string) => SleepEdge | undefined;
}

/** The monitor command for a tool, on the system bus or at `address` (tests run a bus of their own). */
export function monitorFor(tool: { name: 'busctl' | 'dbus-monitor'; path: string }, bus: { address?: string; sender?: string } = {}): Monitor {
  const match = sleepMatchRule(bus.address ? (bus.sender ?? false) : LOGIND);
  if (tool.name === 'busctl') {
    return { argv: [tool.path, '--json=short', 'monitor', bus.address ? `--address=${bus.address}` : '--system', '--match', match], parser: () => parseBusctlLine };
  }
  return {
    argv: [tool.path, ...(bus.address ? ['--address', bus.address] : ['--system']), match],
    parser: () => {
      const p = new DbusMonitorParser();
      return (l) => p.line(l);
    },
  };
}

/** The first executable `name` in PATH (or the usual places when PATH lacks them). */
export function findTool(name: string, path: string | undefined, isExecutable: (file: string) => boolean): string | undefined {
  const dirs = [...(path ?? '').split(delimiter).filter((d) => d.startsWith('/')), '/usr/bin', '/bin'];
  for (const d of dirs) {
    const file = join(d, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

export interface Probe {
  /** DBUS_SYSTEM_BUS_ADDRESS set, or the default socket present. */
  systemBus: boolean;
  logind: boolean;
  busctl: string | undefined;
  dbusMonitor: string | undefined;
}

/** Which monitor to run, or why none can. Pure. */
export function chooseMonitor(p: Probe): Monitor | { absent: string } {
  if (!p.systemBus) return { absent: `no system bus (${SYSTEM_BUS_SOCKET})` };
  if (!p.logind) return { absent: 'logind does not run here' };
  if (p.busctl) return monitorFor({ name: 'busctl', path: p.busctl });
  if (p.dbusMonitor) return monitorFor({ name: 'dbus-monitor', path: p.dbusMonitor });
  return { absent: 'neither busctl nor dbus-monitor is installed' };
}

function probeSystem(env: NodeJS.ProcessEnv): Probe {
  const isExecutable = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return {
    systemBus: !!env.DBUS_SYSTEM_BUS_ADDRESS || existsSync(SYSTEM_BUS_SOCKET),
    logind: existsSync(LOGIND_RUNS),
    busctl: findTool('busctl', env.PATH, isExecutable),
    dbusMonitor: findTool('dbus-monitor', env.PATH, isExecutable),
  };
}

export type SleepSignal = LineMonitor;

export interface SleepSignalOptions {
  onResume(): void;
  onSleep?(): void;
  log(line: string): void;
}

/** Runs `monitor` and calls back on each edge it reports. An exit before stop() is logged, once. */
export function runMonitor(monitor: Monitor, o: SleepSignalOptions): SleepSignal {
  const parse = monitor.parser();
  return runLineMonitor(monitor.argv, {
    label: 'sleep signal',
    without: 'a resume is still noticed by the clocks',
    log: o.log,
    onLine: (line) => {
      const e = parse(line);
      if (e === 'resumed') o.onResume();
      else if (e === 'sleeping') o.onSleep?.();
    },
  });
}

/** Listens for logind's PrepareForSleep where the system bus, logind and a monitor exist; else logs why not, once. */
export function watchSleepSignal(o: SleepSignalOptions, env: NodeJS.ProcessEnv = process.env): SleepSignal {
  const m = chooseMonitor(probeSystem(env));
  if ('absent' in m) {
    o.log(`sleep signal: not listening for logind's PrepareForSleep (${m.absent}); a resume is still noticed by the clocks`);
    return { pid: undefined, stop: () => undefined };
  }
  return runMonitor(m, o);
}
