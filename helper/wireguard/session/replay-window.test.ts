import { describe, expect, it } from 'vitest';
import { ReplayWindow } from './replay-window.js';
import { MAX_COUNTER } from '../constants.js';

describe('ReplayWindow', () => {
  it('accepts each counter once, in any order within the window', () => {
    const w = new ReplayWindow();
    for (const c of [0, 2, 1, 5, 3, 4]) expect(w.accept(c)).toBe(true);
    for (const c of [0, 1, 2, 3, 4, 5]) expect(w.accept(c)).toBe(false);
  });
  it('is at least 2000 packets wide (RFC 6479)', () => {
    expect(ReplayWindow.SIZE).toBeGreaterThanOrEqual(2000);
    const w = new ReplayWindow();
    expect(w.accept(5000)).toBe(true);
    expect(w.accept(5000 - ReplayWindow.SIZE + 1)).toBe(true);
    expect(w.accept(5000 - ReplayWindow.SIZE)).toBe(false);
  });
  it('clears old bits when it slides, so a counter that comes back around is judged by age', () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 10_000; c += 7) expect(w.accept(c)).toBe(true);
    expect(w.accept(9995)).toBe(true); // not seen, inside the window
    expect(w.accept(9995)).toBe(false);
    expect(w.accept(100)).toBe(false); // far too old
    expect(w.accept(1_000_000)).toBe(true); // a big jump clears everything
    expect(w.accept(1_000_000 - 1)).toBe(true);
    expect(w.accept(1_000_000 - 40)).toBe(true);
  });
  it('check() changes nothing; invalid counters are refused', () => {
    const w = new ReplayWindow();
    expect(w.check(3)).toBe(true);
    expect(w.check(3)).toBe(true);
    expect(w.accept(-1)).toBe(false);
    expect(w.accept(MAX_COUNTER)).toBe(false);
  });
  it('agrees with a set-based model on random traffic', () => {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let newest = 0;
    let x = 12345;
    for (let i = 0; i < 50_000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const c = Math.max(0, newest + (x % 300) - 200 + (x % 7 === 0 ? -3000 : 0) + (x % 997 === 0 ? 6000 : 0));
      const expected = !seen.has(c) && (c > newest || newest - c < ReplayWindow.SIZE);
      expect(w.accept(c)).toBe(expected);
      if (expected) { seen.add(c); newest = Math.max(newest, c); }
    }
  });
});
