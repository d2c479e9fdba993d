import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { releaseStartupMemory, SHRINKS_YOUNG_GENERATION } from './startup-memory.js';

const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

function growYoungGeneration(): void {
  let keep: object[] = [];
  for (let i = 0; i < 300_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 30_000) keep = [];
  }
}

describe('releaseStartupMemory', () => {
  it('runs only where it shrinks the young generation, and again on a second call', () => {
    expect(releaseStartupMemory()).toBe(SHRINKS_YOUNG_GENERATION);
    expect(releaseStartupMemory()).toBe(SHRINKS_YOUNG_GENERATION);
    // The main context's globals stay as they were.
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });

  it.runIf(SHRINKS_YOUNG_GENERATION)('shrinks a grown young generation', () => {
    growYoungGeneration();
    const before = newSpace();
    expect(releaseStartupMemory()).toBe(true);
    expect(newSpace()).toBeLessThan(before);
  });
});
