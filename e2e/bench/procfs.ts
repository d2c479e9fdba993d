// What the benchmark reads about a process from /proc: its name, memory (VmRSS, VmHWM) and CPU
// time (utime + stime of all its threads). /proc is the host's: `ip netns exec` changes only the
// network namespace, so lab processes are visible under their own pids.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;

/** Clock ticks per second (getconf CLK_TCK; 100 on every Linux we know of). */
function clockTicks(): number {
  if (ticks !== undefined) return ticks;
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    ticks = Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    ticks = 100;
  }
  return ticks;
}

export function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...), undefined if the process is gone. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM' | 'VmSize'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of the whole process (every thread), in seconds. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]); // field 14
    const stime = Number(rest[12]); // field 15
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return (utime + stime) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Samples VmRSS of some processes every `everyMs` until stopped; keeps the peaks. */
export class RssSampler {
  private readonly peaks = new Map<number, number>();
  private readonly counts = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: number[], private readonly everyMs = 200) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  private sample(): void {
    for (const pid of this.pids) {
      const kb = statusKb(pid, 'VmRSS');
      if (kb === undefined) continue;
      this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, kb));
      this.counts.set(pid, (this.counts.get(pid) ?? 0) + 1);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  peakKb(pid: number): number | undefined {
    return this.peaks.get(pid);
  }

  samples(pid: number): number {
    return this.counts.get(pid) ?? 0;
  }
}

/** CPU seconds a process used between two moments, and that as a share of one core. */
export class CpuWindow {
  private readonly cpu0: number | undefined;
  private readonly t0 = process.hrtime.bigint();

  constructor(private readonly pid: number) {
    this.cpu0 = cpuSeconds(pid);
  }

  end(): { cpuSeconds: number; wallSeconds: number; percentOfCore: number } | undefined {
    const cpu1 = cpuSeconds(this.pid);
    const wall = Number(process.hrtime.bigint() - this.t0) / 1e9;
    if (this.cpu0 === undefined || cpu1 === undefined || wall <= 0) return undefined;
    const used = cpu1 - this.cpu0;
    return { cpuSeconds: used, wallSeconds: wall, percentOfCore: (100 * used) / wall };
  }
}

/** Voluntary and involuntary context switches of each thread (by tid), from /proc/<pid>/task/<tid>/status. */
export function threadSwitches(pid: number): Map<number, { voluntary: number; involuntary: number }> {
  const out = new Map<number, { voluntary: number; involuntary: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const v = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(s);
      const n = /^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s);
      if (v && n) out.set(Number(tid), { voluntary: Number(v[1]), involuntary: Number(n[1]) });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

function threadName(pid: number, tid: number): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '(ended)';
  }
}

/** Parent pid and name of a process from /proc/<pid>/stat, undefined if it is gone. */
function parentAndComm(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    return { ppid: Number(rest[1]), comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

export interface IdleFigures {
  seconds: number;
  /** Voluntary context switches of all the process's threads, per second: its wakeups. */
  wakeupsPerSecond: number;
  /** Involuntary ones (preempted), per second, for reference. */
  preemptionsPerSecond: number;
  threads: number;
  /** Wakeups a second by thread name (node's main thread, V8's workers, libuv's pool), busiest first. */
  byThread: Record<string, number>;
  /** Processes that appeared below the process (children, grandchildren) during the window. */
  spawned: number;
  spawnedPerMinute: number;
  /** Names of those, with counts (e.g. "nft ×2"). */
  spawnedNames: string[];
  /** Descendants that were already running when the window began (e.g. a long-lived `nft monitor`). */
  longLivedChildren: string[];
  /** How often /proc was scanned for new processes (a process shorter than this may be missed). */
  scanEveryMs: number;
}

/**
 * Watches an idle process for `ms`: the wakeups of all its threads (every thread's voluntary
 * context switches; a thread that ends in the window counts with what it had at the last sample),
 * and every process that appears below it. New processes are found by listing /proc every
 * `scanEveryMs` and reading the stat of pids not seen before (their parent chain), which works on
 * any Linux (no CONFIG_PROC_CHILDREN, no ptrace, which would itself wake the process up).
 */
export async function measureIdle(pid: number, ms: number, scanEveryMs = 10): Promise<IdleFigures> {
  const parent = new Map<number, { ppid: number; comm: string }>();
  const known = new Set<number>();
  const below = (p: number): boolean => {
    for (let q = p, n = 0; q > 1 && n < 64; n++) {
      const e = parent.get(q);
      if (!e) return false;
      if (e.ppid === pid) return true;
      q = e.ppid;
    }
    return false;
  };
  const scan = (): number[] => {
    const fresh: number[] = [];
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return fresh;
    }
    for (const name of names) {
      const p = Number(name);
      if (!Number.isInteger(p) || known.has(p)) continue;
      known.add(p);
      const e = parentAndComm(p);
      if (!e) continue;
      parent.set(p, e);
      fresh.push(p);
    }
    return fresh;
  };
  scan();
  const longLived = [...parent.keys()].filter(below).map((p) => `${p} (${parent.get(p)!.comm})`);
  const first = threadSwitches(pid);
  const last = new Map(first);
  const spawned = new Map<number, string>();
  const t0 = process.hrtime.bigint();
  let nextSample = Date.now() + 1000;
  while (Number(process.hrtime.bigint() - t0) / 1e6 < ms) {
    await new Promise((r) => setTimeout(r, scanEveryMs));
    // A child is seen between fork and exec under its parent's name: keep the latest name.
    for (const p of spawned.keys()) spawned.set(p, parentAndComm(p)?.comm ?? spawned.get(p)!);
    for (const p of scan()) if (below(p)) spawned.set(p, parent.get(p)!.comm);
    if (Date.now() >= nextSample) {
      nextSample += 1000;
      for (const [tid, s] of threadSwitches(pid)) last.set(tid, s);
    }
  }
  for (const [tid, s] of threadSwitches(pid)) last.set(tid, s);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let voluntary = 0;
  let involuntary = 0;
  const perName = new Map<string, number>();
  for (const [tid, s] of last) {
    const a = first.get(tid) ?? { voluntary: 0, involuntary: 0 };
    voluntary += s.voluntary - a.voluntary;
    involuntary += s.involuntary - a.involuntary;
    const name = threadName(pid, tid);
    perName.set(name, (perName.get(name) ?? 0) + s.voluntary - a.voluntary);
  }
  const counts = new Map<string, number>();
  for (const c of spawned.values()) counts.set(c, (counts.get(c) ?? 0) + 1);
  return {
    seconds,
    wakeupsPerSecond: voluntary / seconds,
    preemptionsPerSecond: involuntary / seconds,
    threads: last.size,
    byThread: Object.fromEntries([...perName].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Math.round((100 * n) / seconds) / 100])),
    spawned: spawned.size,
    spawnedPerMinute: (60 * spawned.size) / seconds,
    spawnedNames: [...counts].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)),
    longLivedChildren: longLived,
    scanEveryMs,
  };
}
