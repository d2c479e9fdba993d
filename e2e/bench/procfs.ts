// What the benchmark reads about a process from /proc: its name, memory (VmRSS, VmHWM) and CPU
// time (utime + stime of all its threads). /proc is the host's: `ip netns exec` changes only the
// network namespace, so lab processes are visible under their own pids.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks: number | undefined;

/** Clock ticks per second (getconf CLK_TCK; 100 on every Linux we know of). */
export function clockTicks(): number {
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
export function cpuSeconds(pid: number): number | undefined {
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
