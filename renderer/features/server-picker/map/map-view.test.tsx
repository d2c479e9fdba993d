// The map's view as a person sees it: flights to the selected and connected cities, the buttons
// zooming about the selection, labels, and hit targets of at least 32 CSS pixels at every zoom.
import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeManyServers } from '../../../dev/fake-umbra.js';
import { flush, mockApi, renderWith, SERVERS, status } from '../../../test/support.js';
import { HIT_RADIUS_PX } from './Markers.js';
import { centredView, centringZoom, clampView, FLIGHT_MAX_ZOOM, interpolateView, MAX_ZOOM, zoomAround, zoomToward, type View } from './use-pan-zoom.js';
import { getWorld } from './world.js';
import { FLY_ZOOM, WorldMap } from './WorldMap.js';

const world = getWorld();
const W = world.width;
const H = world.height;

/** The rendered map's width in CSS pixels (jsdom lays nothing out: the test says how wide it is). */
let renderedWidth = 600;

beforeEach(() => {
  // Flights jump when the person prefers reduced motion: the tests look at where they land.
  vi.stubGlobal('matchMedia', (q: string) => ({ matches: q.includes('reduce'), media: q, addEventListener() {}, removeEventListener() {} }));
  vi.spyOn(SVGSVGElement.prototype, 'getBoundingClientRect').mockImplementation(() => {
    const h = (renderedWidth * H) / W;
    return { x: 0, y: 0, left: 0, top: 0, width: renderedWidth, height: h, right: renderedWidth, bottom: h, toJSON: () => ({}) } as DOMRect;
  });
});
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  renderedWidth = 600;
});

async function renderMap(m = mockApi()) {
  const r = renderWith(<WorldMap />, m.api);
  await act(flush);
  return { ...r, m };
}

function view(): View {
  const t = /translate\(([-\d.e]+) ([-\d.e]+)\) scale\(([-\d.e]+)\)/.exec(document.querySelector('g.zoom')!.getAttribute('transform')!);
  return { x: Number(t![1]), y: Number(t![2]), k: Number(t![3]) };
}
/** A marker's position in map units. */
function position(name: string): [number, number] {
  const t = /translate\(([-\d.]+) ([-\d.]+)\)/.exec(screen.getByRole('button', { name }).getAttribute('transform')!);
  return [Number(t![1]), Number(t![2])];
}
/** Where a marker is in the view (map units at zoom 1, the SVG's viewBox). */
function inView(name: string): [number, number] {
  const [x, y] = position(name);
  const v = view();
  return [x * v.k + v.x, y * v.k + v.y];
}
const labels = () => [...document.querySelectorAll('.map-label')].map((l) => l.textContent);

describe('pan and zoom math', () => {
  const anyView = fc.record({ k: fc.double({ min: 1, max: MAX_ZOOM / 2, noNaN: true }), x: fc.double({ min: -20000, max: 0, noNaN: true }), y: fc.double({ min: -20000, max: 0, noNaN: true }) }).map((v) => clampView(v, W, H));

  it('zooming in about a point keeps the map under it where it was', () => {
    fc.assert(
      fc.property(anyView, fc.double({ min: 0, max: W, noNaN: true }), fc.double({ min: 0, max: H, noNaN: true }), fc.double({ min: 1, max: 2, noNaN: true }), (v, cx, cy, f) => {
        const r = zoomAround(v, f, cx, cy, W, H);
        // The map point at (cx, cy) before and after (views are rounded to 1e-4: a tenth of a unit at most).
        expect(Math.abs((cx - r.x) / r.k - (cx - v.x) / v.k)).toBeLessThan(0.1);
        expect(Math.abs((cy - r.y) / r.k - (cy - v.y) / v.k)).toBeLessThan(0.1);
        expect(r.k).toBeCloseTo(v.k * f, 3);
      }),
    );
  });

  it('zoomToward keeps a city in view fixed, and centres one that is off-screen', () => {
    const v: View = { k: 2, x: -400, y: -200 };
    const [px, py] = [400, 250]; // on screen at (400, 300)
    const r = zoomToward(v, 1.6, px, py, W, H);
    expect(px * r.k + r.x).toBeCloseTo(px * v.k + v.x, 3);
    expect(py * r.k + r.y).toBeCloseTo(py * v.k + v.y, 3);
    const off = zoomToward(v, 1.6, 700, 250, W, H); // at x = 1000: off-screen
    expect(off.k).toBeCloseTo(3.2, 3);
    expect(700 * off.k + off.x).toBeCloseTo(W / 2, 3);
    expect(250 * off.k + off.y).toBeCloseTo(H / 2, 3);
  });

  it('the zoom that centres a city: more for one near the map’s edge', () => {
    expect(centringZoom(W / 2, H / 2, W, H)).toBe(1);
    const k = centringZoom(W / 2, H / 10, W, H);
    expect(k).toBeCloseTo(5, 6);
    const v = centredView(W / 2, H / 10, k, W, H);
    expect((H / 10) * v.k + v.y).toBeCloseTo(H / 2, 3);
    // Any less and the view would pass the top: the city sits above the centre.
    const less = centredView(W / 2, H / 10, k - 1, W, H);
    expect((H / 10) * less.k + less.y).toBeLessThan(H / 2 - 1);
  });

  it('a flight starts where it is, ends where it goes, and zooms geometrically', () => {
    const a: View = { k: 1, x: 0, y: 0 };
    const b = centredView(600, 150, 4, W, H);
    expect(interpolateView(a, b, 0, W, H)).toEqual(a);
    expect(interpolateView(a, b, 1, W, H)).toEqual(b);
    expect(interpolateView(a, b, 0.5, W, H).k).toBeCloseTo(2, 3);
  });
});

describe('the map follows the selection and the tunnel', () => {
  it('a selection made outside the map flies to its city; one made on the map leaves the view alone', async () => {
    const { store } = await renderMap();
    act(() => store.getState().select('es-mad-2'));
    const [mx, my] = inView('Madrid, Spain');
    expect(view().k).toBe(FLY_ZOOM);
    expect(mx).toBeCloseTo(W / 2, 0);
    expect(my).toBeCloseTo(H / 2, 0);

    const before = view();
    fireEvent.click(screen.getByRole('button', { name: 'London, United Kingdom' }));
    expect(store.getState().selectedId).toBe('gb-lon-1');
    expect(view()).toEqual(before);
  });

  it('zooms in further to centre a city near the map’s edge (up to a limit)', async () => {
    const { store } = await renderMap();
    act(() => store.getState().select('se-sto-2'));
    const [sx, sy] = inView('Stockholm, Sweden');
    expect(view().k).toBeGreaterThan(FLY_ZOOM);
    expect(view().k).toBeLessThanOrEqual(FLIGHT_MAX_ZOOM);
    expect(sx).toBeCloseTo(W / 2, 0);
    expect(sy).toBeCloseTo(H / 2, 0);
  });

  it('flies to the connected city when the tunnel comes up', async () => {
    const { m } = await renderMap();
    expect(view()).toEqual({ k: 1, x: 0, y: 0 });
    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[3] }) }));
    expect(view()).toEqual({ k: 1, x: 0, y: 0 }); // not before it is up
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[3], connectedSince: 1 }) }));
    expect(view().k).toBe(FLY_ZOOM);
    const [sx, sy] = inView('Madrid, Spain');
    expect(sx).toBeCloseTo(W / 2, 0);
    expect(sy).toBeCloseTo(H / 2, 0);
    // A later status of the same connection (counters) does not pull the view back.
    fireEvent.click(screen.getByRole('button', { name: 'Reset map view' }));
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[3], connectedSince: 1, rxBytes: 10 }) }));
    expect(view()).toEqual({ k: 1, x: 0, y: 0 });
  });

  it('+ and − zoom about the selected city (the connected one when nothing is selected)', async () => {
    const { store, m } = await renderMap();
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], connectedSince: 1 }) }));
    fireEvent.click(screen.getByRole('button', { name: 'Reset map view' }));
    const sto = inView('Stockholm, Sweden');
    fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    expect(view().k).toBeCloseTo(1.6, 3);
    expect(inView('Stockholm, Sweden')[0]).toBeCloseTo(sto[0], 1);
    expect(inView('Stockholm, Sweden')[1]).toBeCloseTo(sto[1], 1);

    fireEvent.click(screen.getByRole('button', { name: 'London, United Kingdom' }));
    const lon = inView('London, United Kingdom');
    fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    fireEvent.click(screen.getByRole('button', { name: 'Zoom out' }));
    fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    expect(view().k).toBeCloseTo(2.56, 2);
    expect(inView('London, United Kingdom')[0]).toBeCloseTo(lon[0], 1);
    expect(inView('London, United Kingdom')[1]).toBeCloseTo(lon[1], 1);
    expect(store.getState().selectedId).toBe('gb-lon-1');
  });

  it('moves smoothly without reduced motion, landing on the city', async () => {
    vi.stubGlobal('matchMedia', (q: string) => ({ matches: false, media: q, addEventListener() {}, removeEventListener() {} }));
    vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'cancelAnimationFrame', 'performance'] });
    try {
      const { store } = await renderMap();
      act(() => store.getState().select('es-mad-1'));
      expect(view()).toEqual({ k: 1, x: 0, y: 0 }); // not a jump
      act(() => vi.advanceTimersByTime(200));
      const mid = view();
      expect(mid.k).toBeGreaterThan(1);
      expect(mid.k).toBeLessThan(FLY_ZOOM);
      act(() => vi.advanceTimersByTime(1000));
      expect(view().k).toBe(FLY_ZOOM);
      expect(inView('Madrid, Spain')[0]).toBeCloseTo(W / 2, 0);
      expect(inView('Madrid, Spain')[1]).toBeCloseTo(H / 2, 0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('labels and hit targets', () => {
  it('few markers: every city is labelled; the selected and connected labels stand out', async () => {
    const { store, m } = await renderMap();
    expect(labels().sort()).toEqual(['London, United Kingdom', 'Madrid, Spain', 'Stockholm, Sweden', 'Sydney, Australia']);
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], connectedSince: 1 }) }));
    fireEvent.click(screen.getByRole('button', { name: 'Madrid, Spain' }));
    expect(document.querySelector('.map-label.connected')?.textContent).toBe('Stockholm, Sweden');
    expect(document.querySelector('.map-label.selected')?.textContent).toBe('Madrid, Spain');
    expect(store.getState().selectedId).toBe('es-mad-1');
    // Labels are for the eye: the markers carry the names.
    expect(document.querySelector('.labels')?.getAttribute('aria-hidden')).toBe('true');
  });

  it('many markers: only the selected city is labelled at first; zooming in adds labels', async () => {
    const many = makeManyServers(300);
    const { store } = await renderMap(mockApi({ servers: many }));
    expect(labels()).toEqual([]);
    fireEvent.click(screen.getAllByRole('button').find((b) => b.classList.contains('marker'))!);
    const picked = store.getState().selectedId;
    expect(labels()).toHaveLength(1);
    expect(labels()[0]).toBe(document.querySelector('g.marker.selected')?.getAttribute('aria-label'));
    for (let i = 0; i < 3; i++) fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    expect(labels().length).toBeGreaterThan(1);
    expect(store.getState().selectedId).toBe(picked);
  });

  it('every marker’s hit target is 32+ CSS pixels across at every zoom and map size, cut only where a neighbour is that close', async () => {
    let cut = 0;
    for (const width of [300, 600, 1400]) {
      renderedWidth = width;
      await renderMap();
      const svg = document.querySelector<SVGSVGElement>('svg.world-map')!;
      let whole = 0;
      for (let step = 0; step < 8; step++) {
        const { k } = view();
        const ms = Number(svg.style.getPropertyValue('--ms'));
        const unitPx = width / W;
        const onScreen = (name: string): [number, number] => {
          const [ix, iy] = inView(name);
          return [ix! * unitPx, iy! * unitPx];
        };
        const names = [...document.querySelectorAll('g.marker')].map((g) => g.getAttribute('aria-label')!);
        for (const name of names) {
          const hit = screen.getByRole('button', { name }).querySelector('.marker-hit')!;
          if (hit.tagName === 'circle') {
            expect(Number(hit.getAttribute('r'))).toBe(HIT_RADIUS_PX);
            // Radius in map units (r × --ms), times the zoom, times CSS pixels per map unit.
            expect(2 * HIT_RADIUS_PX * ms * k * unitPx).toBeGreaterThanOrEqual(32);
            whole++;
          } else {
            const [x, y] = onScreen(name);
            const nearest = Math.min(...names.filter((n) => n !== name).map((n) => Math.hypot(onScreen(n)[0] - x, onScreen(n)[1] - y)));
            expect(nearest).toBeLessThan(2 * HIT_RADIUS_PX);
            cut++;
          }
        }
        fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
      }
      expect(view().k).toBe(MAX_ZOOM);
      expect(whole).toBeGreaterThan(0);
      cleanup();
    }
    expect(cut).toBeGreaterThan(0); // London and Madrid crowd each other on a small map
  });
});
