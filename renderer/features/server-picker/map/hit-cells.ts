// Marker hit targets that never cover each other's dots. Each marker's target is a circle of
// HIT_RADIUS_PX (34 px across); where two such circles would overlap, both are cut along the line
// halfway between the two cities (a Voronoi split), so a click always goes to the nearest city
// and a dot is never under a neighbour's target. Pure, in CSS pixels.

export interface ScreenPoint {
  key: string;
  /** On screen, in CSS pixels. */
  sx: number;
  sy: number;
}

type Pt = [number, number];

const SEGMENTS = 24;

/** The circle's outline as a polygon, around the origin. */
function circle(r: number): Pt[] {
  return Array.from({ length: SEGMENTS }, (_, i) => {
    const a = (i / SEGMENTS) * 2 * Math.PI;
    return [r * Math.cos(a), r * Math.sin(a)] as Pt;
  });
}

/** Keeps the part of a convex polygon nearer the origin than the point d (Sutherland–Hodgman on one half-plane). */
function clipTowards(poly: Pt[], d: Pt): Pt[] {
  const limit = (d[0] * d[0] + d[1] * d[1]) / 2;
  const inside = (p: Pt) => p[0] * d[0] + p[1] * d[1] <= limit;
  const out: Pt[] = [];
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i]!;
    const b = poly[(i + 1) % poly.length]!;
    const ina = inside(a);
    if (ina) out.push(a);
    if (ina !== inside(b)) {
      const fa = a[0] * d[0] + a[1] * d[1] - limit;
      const fb = b[0] * d[0] + b[1] * d[1] - limit;
      const t = fa / (fa - fb);
      out.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
    }
  }
  return out;
}

/**
 * The cut targets of the markers whose circles of radius r meet a neighbour's, as polygons around
 * each marker's centre (CSS pixels); a marker not in the map keeps its whole circle.
 */
export function hitCells(points: readonly ScreenPoint[], r: number): Map<string, Pt[]> {
  const size = 2 * r;
  const grid = new Map<string, ScreenPoint[]>();
  const cellOf = (p: ScreenPoint) => [Math.floor(p.sx / size), Math.floor(p.sy / size)] as const;
  for (const p of points) {
    const [cx, cy] = cellOf(p);
    const k = `${cx},${cy}`;
    const list = grid.get(k);
    if (list) list.push(p);
    else grid.set(k, [p]);
  }
  const out = new Map<string, Pt[]>();
  for (const p of points) {
    const [cx, cy] = cellOf(p);
    let poly: Pt[] | null = null;
    for (let gx = cx - 1; gx <= cx + 1; gx++) {
      for (let gy = cy - 1; gy <= cy + 1; gy++) {
        for (const q of grid.get(`${gx},${gy}`) ?? []) {
          if (q === p) continue;
          const d: Pt = [q.sx - p.sx, q.sy - p.sy];
          const dist = Math.hypot(d[0], d[1]);
          // Two cities at one spot cannot be split: the later one drawn takes the clicks.
          if (dist >= size || dist === 0) continue;
          poly = clipTowards(poly ?? circle(r), d);
        }
      }
    }
    if (poly) out.set(p.key, poly);
  }
  return out;
}

/** A polygon as an SVG points attribute. */
export function pointsAttr(poly: readonly Pt[]): string {
  return poly.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
}
