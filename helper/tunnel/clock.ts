// The tunnel's protocol clock: CLOCK_BOOTTIME through the addon, so key ages stay true across a
// suspend (CLOCK_MONOTONIC, performance.now, stops while the machine sleeps).
//
// Test seam: when UMBRA_TEST_CLOCK_SKEW_FILE names a file, the milliseconds written in it are
// added to the boot clock, so a lab can tell a running helper "hours passed" without suspending
// the machine. The file is re-read by refresh(), which the tunnel calls once per tick (never per
// packet). Without the variable nothing changes and refresh() does nothing.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadNative } from '../platform/native.js';

export const TEST_CLOCK_SKEW_ENV = 'UMBRA_TEST_CLOCK_SKEW_FILE';

export interface ProtocolClock {
  /** Milliseconds, monotonic, counting time suspended. */
  now(): number;
  /** Re-reads the test skew, when the seam is on. */
  refresh(): void;
}

/**
 * The skew a seam file holds: a non-negative number of milliseconds. Undefined for anything else
 * (an empty file is one being written: the last value stands).
 */
export function parseSkewMs(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined;
  const ms = Number(t);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * A skew that only grows, as time asleep does: the clock must never run backwards, so a smaller
 * value, an unreadable or a missing file leave the skew as it was.
 */
export class SkewSeam {
  private skew = 0;

  constructor(private readonly read: () => string) {}

  get ms(): number {
    return this.skew;
  }

  refresh(): void {
    let text: string;
    try {
      text = this.read();
    } catch {
      return;
    }
    const ms = parseSkewMs(text);
    if (ms !== undefined && ms > this.skew) this.skew = ms;
  }
}

/** CLOCK_BOOTTIME through the addon; performance.now() where the addon is missing (then a sleep is not seen). */
function bootTime(): () => number {
  try {
    const native = loadNative();
    native.bootClockMs();
    return () => native.bootClockMs();
  } catch {
    return () => performance.now();
  }
}

export function bootClock(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = (l) => console.error(`umbrad: ${l}`)): ProtocolClock {
  const boot = bootTime();
  const file = env[TEST_CLOCK_SKEW_ENV];
  if (!file) return { now: boot, refresh: () => undefined };
  log(`test seam: the protocol clock adds the milliseconds in ${file} (${TEST_CLOCK_SKEW_ENV})`);
  const seam = new SkewSeam(() => readFileSync(file, 'utf8'));
  seam.refresh();
  return { now: () => boot() + seam.ms, refresh: () => seam.refresh() };
}

/** How far the wall clock may drift from the protocol clock before times are re-based on it. */
export const EPOCH_SLACK_MS = 1000;

/**
 * Protocol-clock times as epoch milliseconds, through one offset that stays put: recomputed on
 * each call, `Date.now()` (whole ms) minus a sub-ms clock jitters by a millisecond, and a status
 * holding such a time would differ from the last one every time it is read, so it would be pushed
 * to subscribers when nothing happened. The offset follows the wall clock when it moves by more
 * than EPOCH_SLACK_MS (someone set the clock, NTP stepped it).
 */
export class EpochOffset {
  private offset: number | undefined;

  constructor(private readonly wall: () => number, private readonly protocol: () => number) {}

  toEpoch(t: number): number {
    const fresh = this.wall() - this.protocol();
    if (this.offset === undefined || Math.abs(fresh - this.offset) > EPOCH_SLACK_MS) this.offset = Math.round(fresh);
    return t + this.offset;
  }
}
