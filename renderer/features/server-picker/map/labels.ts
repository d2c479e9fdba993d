// Which markers get a city label, and on which side: pure, in on-screen pixels. The selected and
// connected cities are always labelled; the others once the map is zoomed in enough (or when there
// are few markers), and only where a label fits without covering another label or marker.
import type { View } from './use-pan-zoom.js';

/** Markers up to this many are all labelled, at any zoom (when the labels fit). */
export const FEW_MARKERS = 8;
/** From this zoom on, every marker in view may be labelled. */
export const LABEL_ZOOM = 3;
/** The label's font size in CSS pixels; a character is about 0.6 of it wide. */
const LABEL_FONT_PX = 12;
const CHAR_PX = LABEL_FONT_PX * 0.6;
const LABEL_HEIGHT_PX = LABEL_FONT_PX + 4;
/** From the marker's centre to the label's near edge (the connected marker's halo is wider). */
export const LABEL_GAP_PX = 11;
const CONNECTED_LABEL_GAP_PX = 18;
/** Half the size of the box a marker's dot keeps free of other cities' labels. */
const DOT_PX = 6;

export interface LabelCandidate {
  key: string;
  label: string;
  /** In map units. */
  x: number;
  y: number;
  /** Servers at this location: busier cities are labelled first. */
  count: number;
}

export interface PlacedLabel {
  key: string;
  label: string;
  side: Side;
  /** CSS pixels from the marker's centre to the label. */
  gap: number;
}

export interface LabelContext {
  view: View;
  /** CSS pixels per map unit at zoom 1 (the rendered map's width ÷ its width in map units). */
  unitPx: number;
  /** The map's size in map units. */
  width: number;
  height: number;
  /** Labelled whatever the zoom, in this order (the connected city, the selected one). */
  pinned: readonly (string | null)[];
  /** The connected city (its label sits clear of its halo). */
  connectedKey?: string | null;
}

export type Side = 'right' | 'left' | 'above' | 'below';
/** The sides a label tries, in order: beside its marker reads best, then above or below it. */
const SIDES: readonly Side[] = ['right', 'left', 'above', 'below'];

/** Where a label's text goes relative to its marker (CSS pixels) and how it is anchored. */
export function labelAnchor(side: Side, gap: number): { x: number; y: number; anchor: 'start' | 'end' | 'middle' } {
  const v = gap - 2 + LABEL_HEIGHT_PX / 2;
  switch (side) {
    case 'right':
      return { x: gap, y: 0, anchor: 'start' };
    case 'left':
      return { x: -gap, y: 0, anchor: 'end' };
    case 'above':
      return { x: 0, y: -v, anchor: 'middle' };
    case 'below':
      return { x: 0, y: v, anchor: 'middle' };
  }
}

/** A rectangle in CSS pixels from the map's top left. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** Where a marker is on screen, in CSS pixels from the map's top left. */
function onScreen(m: Pick<LabelCandidate, 'x' | 'y'>, view: View, unitPx: number): [number, number] {
  return [(m.x * view.k + view.x) * unitPx, (m.y * view.k + view.y) * unitPx];
}

/** The box a label takes on one side of its marker (its width estimated from its length). */
export function labelBox(m: Pick<LabelCandidate, 'x' | 'y' | 'label'>, side: Side, gap: number, view: View, unitPx: number): Box {
  const [sx, sy] = onScreen(m, view, unitPx);
  const w = m.label.length * CHAR_PX;
  const a = labelAnchor(side, gap);
  const x0 = sx + a.x - (a.anchor === 'end' ? w : a.anchor === 'middle' ? w / 2 : 0);
  const cy = sy + a.y;
  return { x0, y0: cy - LABEL_HEIGHT_PX / 2, x1: x0 + w, y1: cy + LABEL_HEIGHT_PX / 2 };
}

/** The labels to draw: pinned ones always, the others greedily where they fit. */
export function placeLabels(markers: readonly LabelCandidate[], ctx: LabelContext): PlacedLabel[] {
  const { view, unitPx } = ctx;
  const viewW = ctx.width * unitPx;
  const viewH = ctx.height * unitPx;
  const pinned = ctx.pinned.filter((k): k is string => k !== null);
  const byKey = new Map(markers.map((m) => [m.key, m]));
  const others = ctx.view.k >= LABEL_ZOOM || markers.length <= FEW_MARKERS ? markers.filter((m) => !pinned.includes(m.key)).sort((a, b) => b.count - a.count) : [];

  const placed: Box[] = [];
  const out: PlacedLabel[] = [];
  const gapOf = (m: LabelCandidate) => (m.key === ctx.connectedKey ? CONNECTED_LABEL_GAP_PX : LABEL_GAP_PX);
  const box = (m: LabelCandidate, side: Side) => labelBox(m, side, gapOf(m), view, unitPx);
  const inView = (b: Box) => b.x0 >= 0 && b.x1 <= viewW && b.y0 >= 0 && b.y1 <= viewH;
  // The dots in view: an unpinned label covers none of them (a pinned one avoids them if it can).
  const dots: Box[] = [];
  for (const m of markers) {
    const [sx, sy] = onScreen(m, view, unitPx);
    if (sx >= -DOT_PX && sx <= viewW + DOT_PX && sy >= -DOT_PX && sy <= viewH + DOT_PX) dots.push({ x0: sx - DOT_PX, y0: sy - DOT_PX, x1: sx + DOT_PX, y1: sy + DOT_PX });
  }
  const clear = (b: Box) => inView(b) && !placed.some((p) => overlaps(p, b)) && !dots.some((d) => overlaps(d, b));

  for (const key of new Set(pinned)) {
    const m = byKey.get(key);
    if (!m) continue;
    const fits = (b: Box) => inView(b) && !placed.some((p) => overlaps(p, b));
    // The clearest side, else one that stays on screen, else the right: a pinned label is never dropped.
    const side = SIDES.find((d) => clear(box(m, d))) ?? SIDES.find((d) => fits(box(m, d))) ?? SIDES.find((d) => inView(box(m, d))) ?? 'right';
    placed.push(box(m, side));
    out.push({ key: m.key, label: m.label, side, gap: gapOf(m) });
  }
  for (const m of others) {
    for (const side of SIDES) {
      const b = box(m, side);
      if (!clear(b)) continue;
      placed.push(b);
      out.push({ key: m.key, label: m.label, side, gap: gapOf(m) });
      break;
    }
  }
  return out;
}
