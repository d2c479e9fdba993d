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
  const waiting: (() => void)[] = [];
  // A finished task hands its slot straight to the next waiting one (no gap a newcomer could take).
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
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
