// The world map of server locations: countries drawn once (memoized paths), one marker per city
// among the servers the search shows, city labels where they fit, pan and zoom by transforming one
// group. Click a marker to select its city's server, double-click to connect; Tab reaches the
// markers, arrows move between them, Enter selects. A selection made elsewhere (the list) and a
// new connection fly the map to their city.
import { memo, useCallback, useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState, type CSSProperties, type RefObject } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ServerInfo, TunnelState } from '../../../api.js';
import { useActions, useUmbra } from '../../../store/context.js';
import { activeServer } from '../../../store/selectors.js';
import { filterServers, locationKey, mapLocations } from '../locations.js';
import { hitCells, pointsAttr } from './hit-cells.js';
import { placeLabels } from './labels.js';
import { Labels } from './Labels.js';
import { HIT_RADIUS_PX, Markers, markerScale, type MarkerState, type PlacedMarker } from './Markers.js';
import { usePanZoom, type View } from './use-pan-zoom.js';
import { getWorld } from './world.js';
import './map.css';

/** The land, borders and graticule: built once, never re-rendered. */
const Land = memo(function Land() {
  const w = getWorld();
  return (
    <g className="land-layer" aria-hidden="true">
      <path className="graticule" d={w.graticule} />
      <path className="land" d={w.countries} />
      <path className="borders" d={w.borders} />
    </g>
  );
});

/** The server a location stands for when picked: the selected one, a favourite, else the first. */
function pickServer(ids: readonly string[], selectedId: string | null, favourites: readonly string[]): string | undefined {
  if (selectedId && ids.includes(selectedId)) return selectedId;
  return ids.find((id) => favourites.includes(id)) ?? ids[0];
}

/** How the active marker shows the tunnel: up, on its way (connecting, or retrying after an error), or waiting for a silent server. */
function markerState(state: TunnelState | undefined): MarkerState | null {
  switch (state) {
    case 'connected':
      return 'connected';
    case 'reconnecting':
      return 'reconnecting';
    case 'connecting':
    case 'error':
      return 'connecting';
    default:
      return null;
  }
}

/** The zoom a flight to a city reaches (at least). */
export const FLY_ZOOM = 3;

/** The cut hit targets at this view; the same Map while they stay the same (a pan), so the markers do not re-render. */
function useHitCells(markers: readonly PlacedMarker[], view: View, unitPx: number, width: number, height: number): ReadonlyMap<string, string> {
  const last = useRef<ReadonlyMap<string, string>>(new Map());
  return useMemo(() => {
    const margin = 2 * HIT_RADIUS_PX;
    const pts = [];
    for (const m of markers) {
      const sx = (m.x * view.k + view.x) * unitPx;
      const sy = (m.y * view.k + view.y) * unitPx;
      if (sx > -margin && sy > -margin && sx < width * unitPx + margin && sy < height * unitPx + margin) pts.push({ key: m.key, sx, sy });
    }
    const next = new Map([...hitCells(pts, HIT_RADIUS_PX)].map(([k, poly]) => [k, pointsAttr(poly)]));
    const prev = last.current;
    if (next.size === prev.size && [...next].every(([k, v]) => prev.get(k) === v)) return prev;
    return (last.current = next);
  }, [markers, view, unitPx, width, height]);
}

/** CSS pixels per map unit at zoom 1: the rendered width over the map's; 1 until measured. */
function useUnitPx(svgRef: RefObject<SVGSVGElement | null>, width: number): number {
  const [unitPx, setUnitPx] = useState(1);
  useLayoutEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const measure = () => {
      const w = svg.getBoundingClientRect().width;
      if (w > 0) setUnitPx(w / width);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(svg);
    return () => ro.disconnect();
  }, [svgRef, width]);
  return unitPx;
}

export function WorldMap() {
  const world = getWorld();
  const { servers, selectedId, favourites, status, query } = useUmbra(
    useShallow((s) => ({ servers: s.servers, selectedId: s.selectedId, favourites: s.favourites, status: s.status, query: s.serverQuery })),
  );
  const { select, connect } = useActions();
  const deferredQuery = useDeferredValue(query);
  const active = activeServer(status);

  // What the search shows, and the tunnel's own server whatever the search: where it goes stays on the map.
  const hits = useMemo(() => filterServers(servers, deferredQuery), [servers, deferredQuery]);
  const shown = useMemo(
    () => (active && hits !== servers && !hits.some((s) => s.id === active.id) ? [...hits, ...servers.filter((s) => s.id === active.id)] : hits),
    [servers, hits, active],
  );
  const locations = useMemo(() => mapLocations(shown), [shown]);
  const markers = useMemo<PlacedMarker[]>(() => {
    const out: PlacedMarker[] = [];
    for (const l of locations) {
      const p = world.project(l.longitude, l.latitude);
      if (p) out.push({ key: l.key, label: l.label, x: p[0], y: p[1], count: l.serverIds.length });
    }
    // West to east, so Home/End and the DOM order read like the map.
    return out.sort((a, b) => a.x - b.x || a.y - b.y);
  }, [locations, world]);
  const byKey = useMemo(() => new Map(locations.map((l) => [l.key, l])), [locations]);
  const markerByKey = useMemo(() => new Map(markers.map((m) => [m.key, m])), [markers]);

  const keyOf = (id: string | null | undefined): string | null => {
    const s = id ? servers.find((x: ServerInfo) => x.id === id) : undefined;
    return s && s.latitude !== undefined && s.longitude !== undefined ? locationKey(s) : null;
  };
  const selectedKey = keyOf(selectedId);
  const connectedKey = active ? keyOf(active.id) ?? (active.latitude !== undefined ? locationKey(active) : null) : null;
  const activeState = markerState(status?.state);

  const svgRef = useRef<SVGSVGElement>(null);
  const pz = usePanZoom(svgRef, world.width, world.height);
  const unitPx = useUnitPx(svgRef, world.width);
  const cells = useHitCells(markers, pz.view, unitPx, world.width, world.height);
  const [hoverKey, setHoverKey] = useState<string | null>(null);
  const [focusKey, setFocusKey] = useState<string | null>(null);

  // Stable callbacks (the markers are memoized); the latest values come through a ref.
  const latest = useRef({ byKey, markerByKey, selectedId, favourites, view: pz.view, centreOn: pz.centreOn, wasDrag: pz.wasDrag, activeId: active?.id, state: status?.state });
  latest.current = { byKey, markerByKey, selectedId, favourites, view: pz.view, centreOn: pz.centreOn, wasDrag: pz.wasDrag, activeId: active?.id, state: status?.state };

  /** The city just picked on the map itself: no need to fly there. */
  const pickedOnMap = useRef<string | null>(null);

  const onSelect = useCallback(
    (key: string) => {
      pickedOnMap.current = key;
      const l = latest.current;
      const loc = l.byKey.get(key);
      const id = loc && pickServer(loc.serverIds, l.selectedId, l.favourites);
      if (id) select(id);
      setFocusKey(key);
    },
    [select],
  );
  const onActivate = useCallback(
    (key: string) => {
      const l = latest.current;
      const loc = l.byKey.get(key);
      const id = loc && pickServer(loc.serverIds, l.selectedId, l.favourites);
      if (!id) return;
      pickedOnMap.current = key;
      select(id);
      // The tunnel already goes (or is on its way) there: nothing to do; after an error, try again.
      if (l.activeId === id && (l.state === 'connected' || l.state === 'connecting' || l.state === 'reconnecting')) return;
      void connect(id);
    },
    [select, connect],
  );
  const onFocusKey = useCallback(
    (key: string) => {
      setFocusKey(key);
      // Keep a marker reached by keyboard in view when the map is zoomed in.
      const l = latest.current;
      const m = l.markerByKey.get(key);
      if (!m) return;
      const sx = m.x * l.view.k + l.view.x;
      const sy = m.y * l.view.k + l.view.y;
      if (sx < 20 || sy < 20 || sx > world.width - 20 || sy > world.height - 20) l.centreOn(m.x, m.y);
    },
    [world],
  );

  // A selection made elsewhere (the list, an import) flies to its city.
  // (Keyed on the city, not its marker object: a search re-making the markers is not a new selection.)
  const { flyTo } = pz;
  useEffect(() => {
    const fromMap = pickedOnMap.current !== null && pickedOnMap.current === selectedKey;
    pickedOnMap.current = null;
    const m = selectedKey ? latest.current.markerByKey.get(selectedKey) : undefined;
    if (m && !fromMap) flyTo(m.x, m.y, FLY_ZOOM);
  }, [selectedKey, flyTo]);

  // So does a tunnel that comes up: once per connection, not on every status.
  const upAt = status?.state === 'connected' ? connectedKey : null;
  useEffect(() => {
    const m = upAt ? latest.current.markerByKey.get(upAt) : undefined;
    if (m) flyTo(m.x, m.y, FLY_ZOOM);
  }, [upAt, flyTo]);

  // The buttons zoom about the selected city, else the connected one, else the centre.
  const anchor = (selectedKey ? markerByKey.get(selectedKey) : undefined) ?? (connectedKey ? markerByKey.get(connectedKey) : undefined);
  const about = anchor ? ([anchor.x, anchor.y] as const) : undefined;

  const labels = useMemo(
    () => placeLabels(markers, { view: pz.view, unitPx, width: world.width, height: world.height, pinned: [connectedKey, selectedKey], connectedKey }),
    [markers, pz.view, unitPx, world, connectedKey, selectedKey],
  );

  const hovered = hoverKey ? markerByKey.get(hoverKey) : undefined;
  const { k, x, y } = pz.view;
  const noMatch = deferredQuery.trim() !== '' && servers.length > 0 && !hits.some((s) => s.latitude !== undefined && s.longitude !== undefined);

  return (
    <section className="map-panel" aria-label="Map">
      <div className="map-frame">
        <svg
          ref={svgRef}
          className="world-map"
          viewBox={`0 0 ${world.width} ${world.height}`}
          role="group"
          aria-label="Map of server locations"
          style={{ '--k': k, '--ms': markerScale(k, unitPx) } as CSSProperties}
        >
          <g className="zoom" transform={`translate(${x} ${y}) scale(${k})`}>
            <Land />
            <Markers
              markers={markers}
              selectedKey={selectedKey}
              connectedKey={connectedKey}
              activeState={activeState}
              focusKey={focusKey ?? selectedKey}
              cells={cells}
              onSelect={onSelect}
              onActivate={onActivate}
              onFocusKey={onFocusKey}
              onHover={setHoverKey}
            />
            <Labels labels={labels} positions={markerByKey} selectedKey={selectedKey} connectedKey={connectedKey} />
          </g>
        </svg>
        {hovered && (
          <div
            className="map-tooltip"
            aria-hidden="true"
            style={{ left: `${((hovered.x * k + x) / world.width) * 100}%`, top: `${((hovered.y * k + y) / world.height) * 100}%` }}
          >
            {hovered.label}
            {hovered.count > 1 && <span className="muted"> · {hovered.count} servers</span>}
          </div>
        )}
        {noMatch && (
          <p className="map-empty" role="status">
            No location matches “{deferredQuery}”
          </p>
        )}
        <div className="map-controls" role="group" aria-label="Map zoom">
          <button type="button" className="icon-button" aria-label="Zoom in" title="Zoom in" onClick={() => pz.zoomIn(about)}>
            +
          </button>
          <button type="button" className="icon-button" aria-label="Zoom out" title="Zoom out" onClick={() => pz.zoomOut(about)}>
            −
          </button>
          <button type="button" className="icon-button" aria-label="Reset map view" title="Reset map view" onClick={pz.reset}>
            ⟲
          </button>
        </div>
      </div>
      <p className="map-hint muted">Click a location to select it, double-click to connect. Drag to pan, scroll to zoom.</p>
    </section>
  );
}
