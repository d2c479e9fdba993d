// At most N tasks at once, the rest waiting in order. One limiter is shared by every
// measureLatency call, so two clients asking at once still run no more than N pings together.

export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running now (for tests). */
  readonly active: number;
}

export function limiter(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`limiter: max must be a positive integer, not ${max}`);
  let active = 0;
  // A queue read from `head`, not shifted: a long queue costs nothing per release.
  let waiting: (() => void)[] = [];
  let head = 0;
  // A finished task hands its slot straight to the next waiting one (no gap a newcomer could take).
  const release = () => {
    const next = waiting[head];
    if (next) {
      waiting[head++] = undefined as never;
      if (head === waiting.length) {
        waiting = [];
        head = 0;
      }
      next();
    } else active--;
  };
  return {
    get active() {
      return active;
    },
    async run(task) {
      if (active >= max) await new Promise<void>((go) => waiting.push(go));
      else active++;
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
