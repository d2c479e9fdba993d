import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hitCells, type ScreenPoint } from './hit-cells.js';

const R = 17;
const p = (key: string, sx: number, sy: number): ScreenPoint => ({ key, sx, sy });
/** Whether a point (relative to the polygon's origin) is inside a convex polygon. */
function inside(poly: readonly [number, number][], x: number, y: number): boolean {
  let sign = 0;
  for (let i = 0; i < poly.length; i++) {
    const [ax, ay] = poly[i]!;
    const [bx, by] = poly[(i + 1) % poly.length]!;
    const c = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (Math.abs(c) < 1e-9) continue;
    if (sign === 0) sign = Math.sign(c);
    else if (Math.sign(c) !== sign) return false;
  }
  return true;
}

describe('hit targets', () => {
  it('markers further apart than a target keep their whole 34 px circle', () => {
    expect(hitCells([p('a', 100, 100), p('b', 100 + 2 * R, 100), p('c', 300, 300)], R).size).toBe(0);
  });

  it('crowded markers split the space at the midpoint: each keeps its own dot, never its neighbour’s', () => {
    const cells = hitCells([p('a', 100, 100), p('b', 120, 100), p('far', 400, 100)], R);
    expect([...cells.keys()].sort()).toEqual(['a', 'b']);
    const a = cells.get('a')!;
    const b = cells.get('b')!;
    expect(inside(a, 0, 0)).toBe(true);
    expect(inside(a, 20, 0)).toBe(false); // b's centre
    expect(inside(b, 0, 0)).toBe(true);
    expect(inside(b, -20, 0)).toBe(false);
    // Away from the neighbour, the full reach remains; towards it, up to the midpoint.
    expect(Math.min(...a.map(([x]) => x))).toBeCloseTo(-R, 6);
    expect(Math.max(...a.map(([x]) => x))).toBeCloseTo(10, 6);
    expect(Math.max(...a.map(([, y]) => y)) - Math.min(...a.map(([, y]) => y))).toBeGreaterThanOrEqual(32);
  });

  it('any point within reach of a marker belongs to the nearest marker’s target only', () => {
    const pts = fc.array(fc.record({ sx: fc.integer({ min: 0, max: 120 }), sy: fc.integer({ min: 0, max: 120 }) }), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(pts, fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 120 }), (raw, x, y) => {
        const ms = raw.map((r, i) => p(`m${i}`, r.sx, r.sy));
        const cells = hitCells(ms, R);
        const dist = (m: ScreenPoint) => Math.hypot(m.sx - x, m.sy - y);
        const owners = ms.filter((m) => {
          const poly = cells.get(m.key);
          return poly ? inside(poly, x - m.sx, y - m.sy) : dist(m) < R * Math.cos(Math.PI / 24);
        });
        for (const o of owners) {
          // An owner is (within rounding) the nearest, unless two cities share the spot.
          const nearest = Math.min(...ms.map(dist));
          expect(dist(o)).toBeLessThanOrEqual(nearest + 1e-6);
        }
      }),
    );
  });
});
