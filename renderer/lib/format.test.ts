import { describe, expect, it } from 'vitest';
import { fold, formatBytes, formatElapsed, placeLabel, sentence } from './format.js';

describe('format', () => {
  it('bytes in SI units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(2048)).toBe('2.0 kB');
    expect(formatBytes(12_345_678)).toBe('12 MB');
    expect(formatBytes(3.2e9)).toBe('3.2 GB');
    expect(formatBytes(-1)).toBe('—');
  });

  it('elapsed time as a clock', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(65_000)).toBe('1:05');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
    expect(formatElapsed(90_061_000)).toBe('1 d 01:01:01');
    expect(formatElapsed(-5)).toBe('0:00');
  });

  it('places, sentences, folding', () => {
    expect(placeLabel({ name: 'x', city: 'Stockholm', country: 'Sweden' })).toBe('Stockholm, Sweden');
    expect(placeLabel({ name: 'Home server' })).toBe('Home server');
    expect(sentence('no answer')).toBe('No answer');
    expect(fold('São Paulo')).toBe('sao paulo');
  });
});
