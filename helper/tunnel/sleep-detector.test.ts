import { describe, expect, it } from 'vitest';
import { SLEPT_AFTER_MS, SleepDetector } from './sleep-detector.js';

describe('SleepDetector', () => {
  it('says the machine slept when the boot clock ran ahead of the awake clock', () => {
    const d = new SleepDetector();
    expect(d.observe(1_000_000, 500)).toBe(false); // first look: nothing to compare
    expect(d.observe(1_000_050, 550)).toBe(false); // both ran: awake
    // Eight hours asleep: the boot clock counts them, the awake clock does not.
    expect(d.observe(1_000_100 + 8 * 3_600_000, 600)).toBe(true);
    expect(d.observe(1_000_150 + 8 * 3_600_000, 650)).toBe(false); // once per sleep
  });

  it('ignores drift below SLEPT_AFTER_MS', () => {
    const d = new SleepDetector();
    d.observe(10_000, 0);
    expect(d.observe(10_050 + SLEPT_AFTER_MS - 1, 50)).toBe(false);
  });
});
