import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootClock, EPOCH_SLACK_MS, EpochOffset, parseSkewMs, SkewSeam, TEST_CLOCK_SKEW_ENV } from './clock.js';

describe('parseSkewMs', () => {
  it('takes a non-negative number of milliseconds, with a newline or not', () => {
    expect(parseSkewMs('28800000\n')).toBe(28_800_000);
    expect(parseSkewMs(' 1.5 ')).toBe(1.5);
    expect(parseSkewMs('0')).toBe(0);
  });

  it('refuses anything else (a file half written, a sign, units)', () => {
    for (const t of ['', '\n', '-5', '8h', '1e6', 'NaN', '12 34']) expect(parseSkewMs(t), t).toBeUndefined();
  });
});

describe('SkewSeam', () => {
  it('only grows: a smaller value, junk or a missing file leave it as it was', () => {
    let text: string | undefined = '1000';
    const seam = new SkewSeam(() => {
      if (text === undefined) throw new Error('ENOENT');
      return text;
    });
    expect(seam.ms).toBe(0);
    seam.refresh();
    expect(seam.ms).toBe(1000);
    for (const t of ['500', '', 'junk', undefined]) {
      text = t;
      seam.refresh();
      expect(seam.ms).toBe(1000);
    }
    text = '3600000';
    seam.refresh();
    expect(seam.ms).toBe(3_600_000);
  });
});

describe('bootClock', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('without the variable: no seam, nothing logged', () => {
    const lines: string[] = [];
    const c = bootClock({}, (l) => lines.push(l));
    const a = c.now();
    c.refresh();
    expect(c.now() - a).toBeGreaterThanOrEqual(0);
    expect(c.now() - a).toBeLessThan(1_000);
    expect(lines).toEqual([]);
  });

  it('with it: adds the file\'s milliseconds, re-read at refresh(), and says so once', () => {
    dir = mkdtempSync(join(tmpdir(), 'umbra-clock-'));
    const file = join(dir, 'skew');
    writeFileSync(file, '0');
    const lines: string[] = [];
    const plain = bootClock({});
    const c = bootClock({ [TEST_CLOCK_SKEW_ENV]: file }, (l) => lines.push(l));
    expect(Math.abs(c.now() - plain.now())).toBeLessThan(1_000);
    writeFileSync(file, String(8 * 3_600_000));
    expect(Math.abs(c.now() - plain.now())).toBeLessThan(1_000); // not read until refresh()
    c.refresh();
    expect(c.now() - plain.now()).toBeGreaterThan(8 * 3_600_000 - 1_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
  });
});

describe('EpochOffset', () => {
  it('gives one time for one event however the two clocks round when it is read', () => {
    // The wall clock in whole ms, the protocol clock with sub-ms parts, read a little apart.
    const reads: [number, number][] = [[1_700_000_000_123, 5000.2], [1_700_000_000_124, 5000.9], [1_700_000_000_125, 5002.4], [1_700_000_000_126, 5002.6]];
    let i = 0;
    const e = new EpochOffset(() => reads[i]![0], () => reads[i]![1]);
    const seen = new Set<number>();
    for (i = 0; i < reads.length; i++) seen.add(e.toEpoch(4000.5));
    expect(seen.size).toBe(1);
    // Recomputed each time, as before, the same event had several epoch times.
    expect(new Set(reads.map(([w, p]) => 4000.5 - p + w)).size).toBeGreaterThan(1);
  });

  it('follows the wall clock when it is set (moves by more than the slack)', () => {
    let wall = 1_700_000_000_000;
    const e = new EpochOffset(() => wall, () => 1000);
    const before = e.toEpoch(500);
    wall += EPOCH_SLACK_MS / 2;
    expect(e.toEpoch(500)).toBe(before);
    wall += 3_600_000;
    expect(e.toEpoch(500)).toBe(before + 3_600_000 + EPOCH_SLACK_MS / 2);
  });
});
