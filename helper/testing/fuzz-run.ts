// Runs fast-check properties as fuzzers with what a plain fc.assert does not check: a watchdog
// that stops a hang (catastrophic regex backtracking, an endless loop) instead of freezing the
// test worker, a bound on each input's time, heap after GC that stays flat, and no unhandled
// rejection. The seed is fixed unless FUZZ_SEED says otherwise, and every failure names the
// seed and run count that reproduce it.
//
//   FUZZ_SEED=123 npx vitest run --project unit helper/ipc/fuzz.test.ts   # another seed
//   FUZZ_RUNS=10 npx vitest run --project unit helper/ipc/fuzz.test.ts    # 10 times the inputs
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

function envNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${text}"`);
  return n;
}

/** The seed every fuzzer starts from (FUZZ_SEED, or a fixed one so that `npm test` is repeatable). */
const FUZZ_SEED = Math.trunc(envNumber('FUZZ_SEED') ?? 0x5eed_0d13);
/** FUZZ_RUNS multiplies every fuzzer's input count (0.1 for a quick look, 10 for a long soak). */
const FUZZ_SCALE = envNumber('FUZZ_RUNS') ?? 1;

const reproduce = (runs: number) => `reproduce with FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_SCALE} (this fuzzer: ${runs} inputs)`;

export interface FuzzOptions<T> {
  /** Inputs at FUZZ_RUNS=1. */
  runs: number;
  /** Longest one input may take; a slower one is reported as a failure (default 1 s: generous). */
  maxMsPerInput?: number;
  /** Most the heap may grow, after GC, from the end of the first tenth of the run to its end (default 16 MiB). */
  maxHeapGrowthBytes?: number;
  /** Longest the whole run may take before the watchdog stops it (default: 2 ms per input, at least 60 s). */
  watchdogMs?: number;
  /** A short description of an input for messages (default: JSON, cut to 300 characters). */
  show?: (input: T) => string;
  /** Shrink a failing input to a small one (default: for synchronous targets; a socket's take too long). */
  shrink?: boolean;
}

export interface FuzzReport {
  runs: number;
  slowestMs: number;
  heapGrowthBytes: number;
}

let gcFn: (() => void) | undefined;

/** global.gc, also when node was started without --expose-gc. */
function gc(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFn = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      const found: unknown = vm.runInNewContext('gc');
      if (typeof found !== 'function') throw new Error('cannot reach the garbage collector: run node with --expose-gc');
      gcFn = found as () => void;
    }
  }
  gcFn();
  gcFn();
}

function heapAfterGc(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

function defaultShow(input: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(input) ?? String(input);
  } catch {
    text = String(input);
  }
  return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text;
}

/** What one run measures while fast-check drives it. */
class Meter<T> {
  readonly runs: number;
  private readonly maxMs: number;
  private readonly show: (input: T) => string;
  private count = 0;
  private heapAtTenth: number | undefined;
  slowestMs = 0;
  current: T | undefined;
  private readonly rejections: unknown[] = [];
  private readonly onRejection = (reason: unknown) => this.rejections.push(reason);

  constructor(readonly opts: FuzzOptions<T>, private readonly shrinkByDefault: boolean) {
    this.runs = Math.max(10, Math.round(opts.runs * FUZZ_SCALE));
    this.maxMs = opts.maxMsPerInput ?? 1000;
    this.show = opts.show ?? defaultShow;
    process.on('unhandledRejection', this.onRejection);
  }

  get fcParams(): fc.Parameters<[T]> {
    return { seed: FUZZ_SEED, numRuns: this.runs, endOnFailure: !(this.opts.shrink ?? this.shrinkByDefault) };
  }

  started(input: T): number {
    this.current = input;
    return performance.now();
  }

  finished(input: T, startedAt: number): void {
    const ms = performance.now() - startedAt;
    if (ms > this.slowestMs) this.slowestMs = ms;
    if (ms > this.maxMs) throw new Error(`one input took ${ms.toFixed(0)} ms (the bound is ${this.maxMs} ms): ${this.show(input)}`);
    // Only the first pass counts: shrinking after a failure runs the property again.
    if (++this.count === Math.ceil(this.runs / 10)) this.heapAtTenth = heapAfterGc();
  }

  /** Turns fast-check's failure (or the watchdog's) into one that says how to reproduce it. */
  failed(e: unknown): never {
    process.off('unhandledRejection', this.onRejection);
    if ((e as NodeJS.ErrnoException)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      const during = this.current === undefined ? '(no input yet)' : this.show(this.current);
      throw new Error(`hang: the watchdog stopped the run during ${during}\n${reproduce(this.runs)}`);
    }
    if (e instanceof Error) {
      e.message += `\n${reproduce(this.runs)}`;
      throw e;
    }
    throw new Error(`${String(e)}\n${reproduce(this.runs)}`);
  }

  /** After the run: the heap stayed flat and nothing was rejected unhandled. */
  async finish(): Promise<FuzzReport> {
    // Let rejections of promises the run dropped surface.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', this.onRejection);
    if (this.rejections.length > 0) {
      throw new Error(`${this.rejections.length} unhandled rejection(s), the first: ${defaultShow(String((this.rejections[0] as Error)?.stack ?? this.rejections[0]))}\n${reproduce(this.runs)}`);
    }
    const growth = this.heapAtTenth === undefined ? 0 : heapAfterGc() - this.heapAtTenth;
    const maxGrowth = this.opts.maxHeapGrowthBytes ?? 16 * 1024 * 1024;
    if (growth > maxGrowth) {
      throw new Error(`the heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB after GC between the first tenth of the run and its end (the bound is ${(maxGrowth / 1024 / 1024).toFixed(1)} MiB): something keeps what each input leaves behind\n${reproduce(this.runs)}`);
    }
    return { runs: this.runs, slowestMs: this.slowestMs, heapGrowthBytes: growth };
  }
}

const watchdogScript = new vm.Script('run()');

/**
 * Checks `check` on inputs from `arb`: it must return (or throw only what the property lets
 * through: `check` catches the errors its target is allowed to throw). Synchronous targets run
 * under a watchdog, so a hang fails the test and names the input it hung on.
 */
export async function fuzz<T>(arb: fc.Arbitrary<T>, check: (input: T) => void, opts: FuzzOptions<T>): Promise<FuzzReport> {
  const meter = new Meter(opts, true);
  const property = fc.property(arb, (input) => {
    const t = meter.started(input);
    check(input);
    meter.finished(input, t);
  });
  const context = vm.createContext({ run: () => fc.assert(property, meter.fcParams) });
  try {
    watchdogScript.runInContext(context, { timeout: opts.watchdogMs ?? Math.max(60_000, meter.runs * 2) });
  } catch (e) {
    meter.failed(e);
  }
  return meter.finish();
}

/** The same for an asynchronous target (a socket, a download): the test's own timeout is the watchdog. */
export async function fuzzAsync<T>(arb: fc.Arbitrary<T>, check: (input: T) => Promise<void>, opts: FuzzOptions<T>): Promise<FuzzReport> {
  const meter = new Meter(opts, false);
  const property = fc.asyncProperty(arb, async (input) => {
    const t = meter.started(input);
    await check(input);
    meter.finished(input, t);
  });
  try {
    await fc.assert(property, meter.fcParams);
  } catch (e) {
    meter.failed(e);
  }
  return meter.finish();
}

/** Fails a property with a message (cheaper than expect() in a loop of 100,000). */
export function fail(message: string): never {
  throw new Error(message);
}
