// The location markers: one focusable button per city, drawn as light SVG circles inside the
// map's pan/zoom group. The markers keep their on-screen size (in CSS pixels) whatever the zoom
// and the window's size through a CSS variable (--ms, see markerScale) set on the <svg>, so
// zooming re-renders nothing here. One marker is in the tab order (a roving tabindex); the arrow
// keys move to the nearest marker in that direction.
import { memo, useCallback, useRef, type KeyboardEvent } from 'react';

/**
 * The invisible hit circle's radius in CSS pixels: a target of at least 32 px at every zoom, cut
 * where it would cover a neighbour's (see hit-cells.ts).
 */
export const HIT_RADIUS_PX = 17;

/**
 * The scale that turns CSS pixels into map units inside the zoomed group: the group is scaled by
 * the zoom k, and one map unit is `unitPx` CSS pixels at zoom 1.
 */
export function markerScale(k: number, unitPx: number): number {
  return 1 / (k * (unitPx > 0 ? unitPx : 1));
}

/** connecting also stands for a retry after an error; reconnecting: the tunnel is up, its server silent. */
export type MarkerState = 'connected' | 'connecting' | 'reconnecting';

export interface PlacedMarker {
  key: string;
  label: string;
  x: number;
  y: number;
  count: number;
}

interface MarkersProps {
  markers: readonly PlacedMarker[];
  selectedKey: string | null;
  connectedKey: string | null;
  /** The state of the connected marker: connecting and reconnecting show differently from connected. */
  activeState: MarkerState | null;
  focusKey: string | null;
  /** The cut hit targets (SVG points, CSS pixels around the marker) of markers crowded by a neighbour. */
  cells: ReadonlyMap<string, string>;
  onSelect(key: string): void;
  onActivate(key: string): void;
  onFocusKey(key: string): void;
  onHover(key: string | null): void;
}

/**
 * The nearest marker from `from` in a direction (dx, dy): among those within 60° of it if any,
 * else anywhere on that side; straight ahead counts for more than off to the side.
 */
export function nearestInDirection(markers: readonly PlacedMarker[], from: PlacedMarker, dx: number, dy: number): PlacedMarker | undefined {
  let best: PlacedMarker | undefined;
  let bestScore = Infinity;
  let bestInCone = false;
  for (const m of markers) {
    if (m.key === from.key) continue;
    const vx = m.x - from.x;
    const vy = m.y - from.y;
    const along = vx * dx + vy * dy;
    if (along <= 0) continue;
    const across = Math.abs(vx * dy - vy * dx);
    const inCone = across <= along * Math.sqrt(3);
    const score = along + 2.5 * across;
    if ((inCone && !bestInCone) || (inCone === bestInCone && score < bestScore)) {
      bestScore = score;
      best = m;
      bestInCone = inCone;
    }
  }
  return best;
}

const DIRECTIONS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export const Markers = memo(function Markers(p: MarkersProps) {
  const groupRef = useRef<SVGGElement>(null);
  const { onFocusKey } = p;

  const focusMarker = useCallback(
    (key: string) => {
      onFocusKey(key);
      const el = [...(groupRef.current?.querySelectorAll<SVGGElement>('[data-key]') ?? [])].find((x) => x.dataset.key === key);
      el?.focus();
    },
    [onFocusKey],
  );

  const onKeyDown = (e: KeyboardEvent<SVGGElement>, m: PlacedMarker) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      p.onSelect(m.key);
      return;
    }
    const d = DIRECTIONS[e.key];
    let next: PlacedMarker | undefined;
    if (d) next = nearestInDirection(p.markers, m, d[0], d[1]);
    else if (e.key === 'Home') next = p.markers[0];
    else if (e.key === 'End') next = p.markers[p.markers.length - 1];
    else return;
    e.preventDefault();
    if (next) focusMarker(next.key);
  };

  const tabKey = p.focusKey && p.markers.some((m) => m.key === p.focusKey) ? p.focusKey : p.markers[0]?.key;

  return (
    <g ref={groupRef} className="markers">
      {p.markers.map((m) => {
        const selected = m.key === p.selectedKey;
        const active = m.key === p.connectedKey ? p.activeState : null;
        return (
          <g
            key={m.key}
            data-key={m.key}
            role="button"
            aria-label={m.label}
            aria-pressed={selected}
            tabIndex={m.key === tabKey ? 0 : -1}
            className={`marker${selected ? ' selected' : ''}${active ? ` ${active}` : ''}`}
            transform={`translate(${m.x.toFixed(2)} ${m.y.toFixed(2)})`}
            onClick={() => p.onSelect(m.key)}
            onDoubleClick={() => p.onActivate(m.key)}
            onKeyDown={(e) => onKeyDown(e, m)}
            onFocus={() => {
              p.onFocusKey(m.key);
              p.onHover(m.key);
            }}
            onBlur={() => p.onHover(null)}
            onPointerEnter={() => p.onHover(m.key)}
            onPointerLeave={() => p.onHover(null)}
          >
            <g className="marker-body">
              {p.cells.has(m.key) ? <polygon className="marker-hit" points={p.cells.get(m.key)} /> : <circle className="marker-hit" r={HIT_RADIUS_PX} />}
              {active === 'connected' && <circle className="marker-halo" r={14} />}
              {active && <circle className="marker-pulse" r={10} />}
              <circle className="marker-ring" r={9} />
              <circle className="marker-dot" r={selected || active ? 6 : 4.5} />
            </g>
          </g>
        );
      })}
    </g>
  );
});
