import { describe, expect, it } from 'vitest';
import { fullDatagramSize, pathMtuShortfall } from './path-mtu.js';

describe('path MTU shortfall', () => {
  it('a tunnel of 1420 needs 1480 bytes over IPv4 and 1500 over IPv6', () => {
    expect(fullDatagramSize(1420, 4)).toBe(1480);
    expect(fullDatagramSize(1420, 6)).toBe(1500);
  });

  it('says nothing where the path carries the full-size datagrams, or nothing is known', () => {
    expect(pathMtuShortfall(1420, 4, 1500)).toBeUndefined();
    expect(pathMtuShortfall(1420, 4, 1480)).toBeUndefined();
    expect(pathMtuShortfall(1420, 6, 1500)).toBeUndefined();
    expect(pathMtuShortfall(1420, 4, 0)).toBeUndefined();
  });

  it('names the learnt path MTU and the tunnel MTU that fits it, and that one does fit', () => {
    expect(pathMtuShortfall(1420, 4, 1400)).toEqual({ learnt: 1400, mtuThatFits: 1340 });
    expect(pathMtuShortfall(1420, 6, 1280)).toEqual({ learnt: 1280, mtuThatFits: 1200 });
    expect(pathMtuShortfall(1420, 4, 1479)).toEqual({ learnt: 1479, mtuThatFits: 1419 });
    for (const [family, learnt] of [[4, 1400], [6, 1280], [4, 1279]] as const) {
      const fit = pathMtuShortfall(1420, family, learnt)!.mtuThatFits!;
      expect(fullDatagramSize(fit, family)).toBeLessThanOrEqual(learnt);
      expect(pathMtuShortfall(fit, family, learnt)).toBeUndefined();
    }
  });

  it('gives no fit below the lowest MTU a config may set', () => {
    expect(pathMtuShortfall(1420, 4, 600)).toEqual({ learnt: 600 });
  });
});
