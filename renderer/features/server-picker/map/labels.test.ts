import { describe, expect, it } from 'vitest';
import { FEW_MARKERS, LABEL_GAP_PX, LABEL_ZOOM, labelBox, overlaps, placeLabels, type LabelCandidate, type LabelContext } from './labels.js';

const W = 960;
const H = 460;
const at = (key: string, x: number, y: number, count = 1): LabelCandidate => ({ key, label: `${key} city, Country`, x, y, count });
const ctx = (over: Partial<LabelContext> = {}): LabelContext => ({ view: { k: 1, x: 0, y: 0 }, unitPx: 1, width: W, height: H, pinned: [], ...over });

/** A spread of markers: more than FEW_MARKERS, far enough apart that each label could fit. */
const grid = (n: number) => Array.from({ length: n }, (_, i) => at(`m${i}`, 60 + (i % 4) * 220, 40 + Math.floor(i / 4) * 40));
/** Many markers crowded together. */
const crowd = (n: number) => Array.from({ length: n }, (_, i) => at(`c${i}`, 300 + (i % 10) * 6, 200 + Math.floor(i / 10) * 5, (i % 3) + 1));

function boxes(ms: readonly LabelCandidate[], c: LabelContext) {
  const byKey = new Map(ms.map((m) => [m.key, m]));
  return placeLabels(ms, c).map((l) => ({ key: l.key, box: labelBox(byKey.get(l.key)!, l.side, l.gap, c.view, c.unitPx) }));
}

describe('city labels', () => {
  it('with few markers, every city is labelled at any zoom', () => {
    const ms = [at('a', 100, 100), at('b', 500, 300), at('c', 800, 60)];
    expect(ms.length).toBeLessThanOrEqual(FEW_MARKERS);
    expect(placeLabels(ms, ctx()).map((l) => l.key).sort()).toEqual(['a', 'b', 'c']);
  });

  it('with many markers, only the selected and connected cities are labelled until zoomed in', () => {
    const ms = grid(FEW_MARKERS + 4);
    expect(placeLabels(ms, ctx({ pinned: [null, null] }))).toEqual([]);
    expect(placeLabels(ms, ctx({ pinned: ['m5', 'm2'] })).map((l) => l.key)).toEqual(['m5', 'm2']);
    // Zoomed in, the others join wherever they are in view.
    const zoomed = ctx({ view: { k: LABEL_ZOOM, x: 0, y: 0 }, pinned: ['m0'] });
    const shown = placeLabels(ms, zoomed).map((l) => l.key);
    expect(shown[0]).toBe('m0');
    expect(shown.length).toBeGreaterThan(1);
  });

  it('never lets two labels overlap, nor a label cover another city’s dot', () => {
    const ms = crowd(120);
    const c = ctx({ view: { k: 8, x: -2200, y: -1500 }, pinned: [null, null] });
    const placed = boxes(ms, c);
    expect(placed.length).toBeGreaterThan(0);
    expect(placed.length).toBeLessThan(ms.length); // crowded: most are left out
    for (let i = 0; i < placed.length; i++) for (let j = i + 1; j < placed.length; j++) expect(overlaps(placed[i]!.box, placed[j]!.box)).toBe(false);
    for (const { box } of placed) {
      for (const m of ms) {
        const sx = m.x * 8 - 2200;
        const sy = m.y * 8 - 1500;
        const covered = sx > box.x0 && sx < box.x1 && sy > box.y0 && sy < box.y1;
        expect(covered).toBe(false);
      }
    }
  });

  it('keeps labels inside the map: off-screen cities get none, a label near the right edge goes left', () => {
    const ms = [at('edge', W - 20, 200), at('away', -50, 200)];
    const placed = placeLabels(ms, ctx());
    expect(placed.map((l) => [l.key, l.side])).toEqual([['edge', 'left']]);
    const b = labelBox(ms[0]!, 'left', LABEL_GAP_PX, { k: 1, x: 0, y: 0 }, 1);
    expect(b.x1).toBeLessThanOrEqual(W);
  });

  it('boxed in on both sides, a label goes above (or below) its marker', () => {
    const ms = [at('l', 300, 200, 2), at('m', 400, 200, 1), at('r', 500, 200, 2)];
    const placed = placeLabels(ms, ctx());
    expect(Object.fromEntries(placed.map((p) => [p.key, p.side]))).toEqual({ l: 'left', r: 'right', m: 'above' });
    const mid = labelBox(ms[1]!, 'above', LABEL_GAP_PX, { k: 1, x: 0, y: 0 }, 1);
    expect(mid.y1).toBeLessThan(200);
    expect((mid.x0 + mid.x1) / 2).toBeCloseTo(400, 6);
  });

  it('a pinned label is drawn even where it collides; the connected one sits clear of its halo', () => {
    const ms = [at('a', 400, 200), at('b', 402, 201)];
    const placed = placeLabels(ms, ctx({ pinned: ['a', 'b'], connectedKey: 'a' }));
    expect(placed.map((l) => l.key)).toEqual(['a', 'b']);
    expect(placed[0]!.gap).toBeGreaterThan(placed[1]!.gap);
    // With room on the other side, the second takes it rather than covering the first.
    expect(placed[1]!.side).not.toBe(placed[0]!.side);
  });

  it('a pinned label avoids covering another city’s dot when a side is clear', () => {
    const ms = [at('sel', 400, 200), at('east', 460, 200), at('many', 100, 100)];
    const placed = placeLabels([...ms, ...grid(FEW_MARKERS)], ctx({ pinned: [null, 'sel'] }));
    expect(placed).toEqual([{ key: 'sel', label: 'sel city, Country', side: 'left', gap: LABEL_GAP_PX }]);
  });

  it('measures in CSS pixels: a map drawn at half size has room for fewer labels', () => {
    const ms = grid(16);
    const full = placeLabels(ms, ctx({ view: { k: LABEL_ZOOM, x: 0, y: 0 } })).length;
    const half = placeLabels(ms, ctx({ view: { k: LABEL_ZOOM, x: 0, y: 0 }, unitPx: 0.35 })).length;
    expect(half).toBeLessThan(full);
  });
});
