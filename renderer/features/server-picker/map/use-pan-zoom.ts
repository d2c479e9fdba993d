// Pan and zoom for the map: one transform on one group (translate, then scale), clamped so the
// map always fills the view. Wheel zooms around the pointer, dragging pans, the buttons zoom around
// a point the caller names (the selected city) or the centre, and flyTo animates to a city (a jump
// when the user prefers reduced motion). A drag that moved does not count as a click on a marker.
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';

export interface View {
  k: number;
  x: number;
  y: number;
}

const MIN_ZOOM = 1;
export const MAX_ZOOM = 16;
const IDENTITY: View = { k: 1, x: 0, y: 0 };
/** Pixels a pointer must move before a press becomes a drag. */
const DRAG_THRESHOLD = 4;

/** Enough precision for a transform, and 1.6 × 1.6 ÷ 1.6 stays 1.6. */
const round = (n: number) => Math.round(n * 1e4) / 1e4 + 0;

/** Keeps the scaled map covering the whole [0,w]×[0,h] view. */
export function clampView(v: View, width: number, height: number): View {
  const k = round(Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k)));
  const clampAxis = (t: number, size: number) => round(Math.min(0, Math.max(size - size * k, t)));
  return { k, x: clampAxis(v.x, width), y: clampAxis(v.y, height) };
}

/** Zooms by `factor` keeping the point (cx, cy) (in view units) where it is. */
export function zoomAround(v: View, factor: number, cx: number, cy: number, width: number, height: number): View {
  const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k * factor));
  const f = k / v.k;
  return clampView({ k, x: cx - (cx - v.x) * f, y: cy - (cy - v.y) * f }, width, height);
}

/**
 * Zooms by `factor` about a point given in map units: kept where it is when it is in view, else
 * brought to the centre (zooming about a point off-screen would leave it off-screen).
 */
export function zoomToward(v: View, factor: number, px: number, py: number, width: number, height: number): View {
  const sx = px * v.k + v.x;
  const sy = py * v.k + v.y;
  if (sx >= 0 && sx <= width && sy >= 0 && sy <= height) return zoomAround(v, factor, sx, sy, width, height);
  const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k * factor));
  return clampView({ k, x: width / 2 - px * k, y: height / 2 - py * k }, width, height);
}

/** The view that puts a point (map units) at the centre, at zoom k (clamped at the map's edges). */
export function centredView(px: number, py: number, k: number, width: number, height: number): View {
  return clampView({ k, x: width / 2 - px * k, y: height / 2 - py * k }, width, height);
}

/** The most a flight zooms in by itself to bring a city near the map's edge to the centre. */
export const FLIGHT_MAX_ZOOM = 6;

/**
 * The least zoom at which a point (map units) can sit at the centre without the view passing the
 * map's edge (a city near the top needs more zoom than one in the middle).
 */
export function centringZoom(px: number, py: number, width: number, height: number): number {
  const need = (d: number, size: number) => (d > 0 ? size / 2 / d : Infinity);
  return Math.max(MIN_ZOOM, need(px, width), need(width - px, width), need(py, height), need(height - py, height));
}

/**
 * The view a fraction t ∈ [0, 1] of the way from a to b: the zoom changes geometrically and the
 * point at the centre moves in a line, so a flight does not swing wide as it zooms.
 */
export function interpolateView(a: View, b: View, t: number, width: number, height: number): View {
  if (t <= 0) return a;
  if (t >= 1) return b;
  const k = a.k * Math.pow(b.k / a.k, t);
  const centre = (v: View): [number, number] => [(width / 2 - v.x) / v.k, (height / 2 - v.y) / v.k];
  const [ax, ay] = centre(a);
  const [bx, by] = centre(b);
  return centredView(ax + (bx - ax) * t, ay + (by - ay) * t, k, width, height);
}

/** How long a flight takes. */
const FLIGHT_MS = 600;
const ease = (t: number) => (t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2);

function prefersReducedMotion(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function' && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

export interface PanZoom {
  view: View;
  /** Zoom about a point in map units (kept in place, or centred when off-screen), else the centre. */
  zoomIn(about?: readonly [number, number]): void;
  zoomOut(about?: readonly [number, number]): void;
  reset(): void;
  /** Animates to a point (map units) at the centre, at least at zoom `minK` (more, up to FLIGHT_MAX_ZOOM, if that is what centres it). */
  flyTo(x: number, y: number, minK?: number): void;
  /** Puts a point (in map units) at the centre, at least at zoom `minK`. */
  centreOn(x: number, y: number, minK?: number): void;
  /** Whether the last press turned into a drag (so its click should not select). */
  wasDrag(): boolean;
}

export function usePanZoom(svgRef: RefObject<SVGSVGElement | null>, width: number, height: number): PanZoom {
  const [view, setView] = useState<View>(IDENTITY);
  const viewRef = useRef(view);
  viewRef.current = view;
  const dragged = useRef(false);
  /** The flight under way (its animation frame), cancelled by anything the user does. */
  const flight = useRef(0);
  const land = useCallback(() => {
    if (flight.current) cancelAnimationFrame(flight.current);
    flight.current = 0;
  }, []);
  /** Sets the view now (and ends any flight). */
  const jump = useCallback(
    (next: (v: View) => View) => {
      land();
      setView((v) => (viewRef.current = next(v)));
    },
    [land],
  );

  /** Client pixels → view units (the SVG keeps the map's aspect ratio, so one scale). */
  const toView = useCallback(
    (clientX: number, clientY: number): [number, number] | null => {
      const svg = svgRef.current;
      const r = svg?.getBoundingClientRect();
      if (!r || r.width === 0 || r.height === 0) return null;
      return [((clientX - r.left) / r.width) * width, ((clientY - r.top) / r.height) * height];
    },
    [svgRef, width, height],
  );

  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    let frame = 0;
    let pending: View | null = null;
    const schedule = (v: View) => {
      pending = v;
      viewRef.current = v;
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (pending) setView(pending);
      });
    };

    // Wheel must be a non-passive native listener to keep the page from scrolling.
    const onWheel = (e: WheelEvent) => {
      const p = toView(e.clientX, e.clientY);
      if (!p) return;
      e.preventDefault();
      land();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      schedule(zoomAround(viewRef.current, Math.exp(-dy * 0.0025), p[0], p[1], width, height));
    };

    let press: { id: number; x: number; y: number; view: View; scale: number } | null = null;
    const onDown = (e: PointerEvent) => {
      if (e.button !== 0 || !e.isPrimary) return;
      land();
      const r = svg.getBoundingClientRect();
      press = { id: e.pointerId, x: e.clientX, y: e.clientY, view: viewRef.current, scale: r.width > 0 ? width / r.width : 1 };
      dragged.current = false;
    };
    const onMove = (e: PointerEvent) => {
      if (!press || e.pointerId !== press.id) return;
      const dx = e.clientX - press.x;
      const dy = e.clientY - press.y;
      if (!dragged.current) {
        if (Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
        dragged.current = true;
        // Capture only once it is a drag, so a plain click still lands on its marker.
        svg.setPointerCapture?.(e.pointerId);
        svg.classList.add('dragging');
      }
      schedule(clampView({ k: press.view.k, x: press.view.x + dx * press.scale, y: press.view.y + dy * press.scale }, width, height));
    };
    const onUp = (e: PointerEvent) => {
      if (!press || e.pointerId !== press.id) return;
      press = null;
      svg.classList.remove('dragging');
      if (svg.hasPointerCapture?.(e.pointerId)) svg.releasePointerCapture(e.pointerId);
    };
    // A click right after a drag is the drag's end, not a click: stop it before the markers see it.
    const onClickCapture = (e: MouseEvent) => {
      if (dragged.current) {
        e.stopPropagation();
        e.preventDefault();
        dragged.current = false;
      }
    };

    svg.addEventListener('wheel', onWheel, { passive: false });
    svg.addEventListener('pointerdown', onDown);
    svg.addEventListener('pointermove', onMove);
    svg.addEventListener('pointerup', onUp);
    svg.addEventListener('pointercancel', onUp);
    svg.addEventListener('click', onClickCapture, true);
    return () => {
      if (frame) cancelAnimationFrame(frame);
      land();
      svg.removeEventListener('wheel', onWheel);
      svg.removeEventListener('pointerdown', onDown);
      svg.removeEventListener('pointermove', onMove);
      svg.removeEventListener('pointerup', onUp);
      svg.removeEventListener('pointercancel', onUp);
      svg.removeEventListener('click', onClickCapture, true);
    };
  }, [svgRef, toView, width, height, land]);

  const zoomBy = useCallback(
    (factor: number, about?: readonly [number, number]) =>
      jump((v) => (about ? zoomToward(v, factor, about[0], about[1], width, height) : zoomAround(v, factor, width / 2, height / 2, width, height))),
    [jump, width, height],
  );

  const flyTo = useCallback(
    (x: number, y: number, minK = 1) => {
      const from = viewRef.current;
      const k = Math.max(from.k, Math.min(FLIGHT_MAX_ZOOM, Math.max(minK, centringZoom(x, y, width, height))));
      const to = centredView(x, y, k, width, height);
      if (prefersReducedMotion()) return jump(() => to);
      land();
      const start = performance.now();
      const step = (now: number) => {
        const t = Math.min(1, (now - start) / FLIGHT_MS);
        const v = interpolateView(from, to, ease(t), width, height);
        viewRef.current = v;
        setView(v);
        flight.current = t < 1 ? requestAnimationFrame(step) : 0;
      };
      flight.current = requestAnimationFrame(step);
    },
    [jump, land, width, height],
  );

  return {
    view,
    zoomIn: useCallback((about?: readonly [number, number]) => zoomBy(1.6, about), [zoomBy]),
    zoomOut: useCallback((about?: readonly [number, number]) => zoomBy(1 / 1.6, about), [zoomBy]),
    reset: useCallback(() => jump(() => IDENTITY), [jump]),
    flyTo,
    centreOn: useCallback((x: number, y: number, minK = 1) => jump((v) => centredView(x, y, Math.max(v.k, minK), width, height)), [jump, width, height]),
    wasDrag: useCallback(() => dragged.current, []),
  };
}
