import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { makeManyServers, makeServers } from '../../../dev/fake-umbra.js';
import { flush, mockApi, renderWith, SERVERS, status } from '../../../test/support.js';
import { mapLocations } from '../locations.js';
import { nearestInDirection } from './Markers.js';
import { clampView, zoomAround } from './use-pan-zoom.js';
import { getWorld } from './world.js';
import { WorldMap } from './WorldMap.js';

afterEach(cleanup);

async function renderMap(m = mockApi()) {
  const r = renderWith(<WorldMap />, m.api);
  await act(flush);
  return { ...r, m };
}

/** A marker's position from its translate(x y). */
function position(el: Element): [number, number] {
  const t = /translate\(([-\d.]+) ([-\d.]+)\)/.exec(el.getAttribute('transform') ?? '');
  if (!t) throw new Error(`no translate on ${el.outerHTML.slice(0, 80)}`);
  return [Number(t[1]), Number(t[2])];
}

describe('the projection', () => {
  const w = getWorld();
  it('puts cities where they are on Earth, inside the map', () => {
    const stockholm = w.project(18.07, 59.33)!;
    const madrid = w.project(-3.7, 40.42)!;
    const sydney = w.project(151.21, -33.87)!;
    const newYork = w.project(-74.01, 40.71)!;
    // North-east of Madrid: right of it and higher up (SVG y grows downward).
    expect(stockholm[0]).toBeGreaterThan(madrid[0]);
    expect(stockholm[1]).toBeLessThan(madrid[1]);
    expect(sydney[0]).toBeGreaterThan(madrid[0]);
    expect(sydney[1]).toBeGreaterThan(madrid[1]);
    expect(newYork[0]).toBeLessThan(madrid[0]);
    for (const [x, y] of [stockholm, madrid, sydney, newYork]) {
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(w.width);
      expect(y).toBeGreaterThan(0);
      expect(y).toBeLessThan(w.height);
    }
  });

  it('is built once, with countries drawn', () => {
    expect(getWorld()).toBe(w);
    expect(w.countries.length).toBeGreaterThan(10_000);
    expect(w.width / w.height).toBeGreaterThan(1.6);
  });
});

describe('markers', () => {
  it('one per city, named "City, Country", placed by the projection', async () => {
    await renderMap();
    const markers = screen.getAllByRole('button').filter((b) => b.classList.contains('marker'));
    expect(markers.map((m) => m.getAttribute('aria-label')).sort()).toEqual(['London, United Kingdom', 'Madrid, Spain', 'Stockholm, Sweden', 'Sydney, Australia']);
    const [sx, sy] = position(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    const [mx, my] = position(screen.getByRole('button', { name: 'Madrid, Spain' }));
    expect(sx).toBeGreaterThan(mx);
    expect(sy).toBeLessThan(my);
    const [px, py] = getWorld().project(18.07, 59.33)!;
    expect(sx).toBeCloseTo(px, 1);
    expect(sy).toBeCloseTo(py, 1);
  });

  it('servers of the same city share a marker (dedup by city and country)', () => {
    const locs = mapLocations([...SERVERS, { ...SERVERS[0]!, id: 'x-1', country: 'Other', countryCode: undefined }]);
    const stockholms = locs.filter((l) => l.label.startsWith('Stockholm'));
    expect(stockholms.map((l) => l.serverIds)).toEqual([['se-sto-1', 'se-sto-2', 'se-sto-3'], ['x-1']]);
    expect(mapLocations(makeServers()).length).toBeLessThan(makeServers().length);
  });

  it('click selects the city’s server; double-click connects to it', async () => {
    const { store, m } = await renderMap();
    const madrid = screen.getByRole('button', { name: 'Madrid, Spain' });
    fireEvent.click(madrid);
    expect(store.getState().selectedId).toBe('es-mad-1');
    expect(madrid.getAttribute('aria-pressed')).toBe('true');
    expect(madrid.classList.contains('selected')).toBe(true);
    expect(m.pending).toHaveLength(0); // selecting alone does not connect

    fireEvent.doubleClick(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    expect(store.getState().selectedId).toBe('se-sto-1');
    expect(m.take('connect').params).toEqual({ serverId: 'se-sto-1' });
  });

  it('a city keeps the selected server of its own (or a favourite)', async () => {
    const { store } = await renderMap();
    act(() => store.getState().select('se-sto-3'));
    fireEvent.click(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    expect(store.getState().selectedId).toBe('se-sto-3');
    act(() => store.getState().toggleFavourite('es-mad-2'));
    fireEvent.click(screen.getByRole('button', { name: 'Madrid, Spain' }));
    expect(store.getState().selectedId).toBe('es-mad-2');
  });

  it('selected and connected markers look different', async () => {
    const { store, m } = await renderMap();
    act(() => store.getState().select('es-mad-1'));
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[1], connectedSince: 1 }) }));
    const sto = screen.getByRole('button', { name: 'Stockholm, Sweden' });
    const mad = screen.getByRole('button', { name: 'Madrid, Spain' });
    expect(sto.getAttribute('class')).toBe('marker connected');
    expect(mad.getAttribute('class')).toBe('marker selected');
    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[1] }) }));
    expect(sto.getAttribute('class')).toBe('marker connecting');
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[1] }) }));
    expect(sto.getAttribute('class')).toBe('marker reconnecting');
    expect(sto.querySelector('.marker-pulse')).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status({ state: 'error', server: SERVERS[1] }) }));
    expect(sto.getAttribute('class')).toBe('marker connecting');
  });

  it('a double-click on the marker being reconnected does not start over; after an error it tries again', async () => {
    const { m } = await renderMap();
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[0] }) }));
    fireEvent.doubleClick(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    expect(m.pending).toHaveLength(0);
    act(() => m.emit({ type: 'status', status: status({ state: 'error', server: SERVERS[0] }) }));
    fireEvent.doubleClick(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    expect(m.take('connect').params).toEqual({ serverId: SERVERS[0]!.id });
  });

  it('hovering shows the city in a tooltip', async () => {
    await renderMap();
    fireEvent.pointerEnter(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    expect(document.querySelector('.map-tooltip')?.textContent).toBe('Stockholm, Sweden · 3 servers');
    fireEvent.pointerLeave(screen.getByRole('button', { name: 'Stockholm, Sweden' }));
    expect(document.querySelector('.map-tooltip')).toBeNull();
  });

  it('renders 300 markers, the land once', async () => {
    const t0 = performance.now();
    const { m } = await renderMap(mockApi({ servers: makeManyServers(300) }));
    const markers = document.querySelectorAll('g.marker[role="button"]');
    expect(markers).toHaveLength(300);
    expect(document.querySelectorAll('path.land')).toHaveLength(1);
    const land = document.querySelector('path.land');
    // New servers re-render markers but not the land.
    act(() => m.emit({ type: 'servers', servers: makeManyServers(301) }));
    expect(document.querySelectorAll('g.marker[role="button"]')).toHaveLength(301);
    expect(document.querySelector('path.land')).toBe(land);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('pan and zoom', () => {
  it('the buttons zoom the map group, reset puts it back', async () => {
    await renderMap();
    const group = document.querySelector('g.zoom')!;
    expect(group.getAttribute('transform')).toBe('translate(0 0) scale(1)');
    fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    expect(group.getAttribute('transform')).toMatch(/scale\(1\.6\)/);
    fireEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    fireEvent.click(screen.getByRole('button', { name: 'Zoom out' }));
    expect(group.getAttribute('transform')).toMatch(/scale\(1\.6\)/);
    expect((document.querySelector('svg.world-map') as SVGElement).style.getPropertyValue('--k')).toBe('1.6');
    fireEvent.click(screen.getByRole('button', { name: 'Reset map view' }));
    expect(group.getAttribute('transform')).toBe('translate(0 0) scale(1)');
  });

  it('zooms around a point and never shows past the map’s edge', () => {
    const v = zoomAround({ k: 1, x: 0, y: 0 }, 2, 100, 50, 960, 480);
    expect(v).toEqual({ k: 2, x: -100, y: -50 });
    expect(clampView({ k: 2, x: 50, y: -5000 }, 960, 480)).toEqual({ k: 2, x: 0, y: -480 });
    expect(clampView({ k: 0.2, x: 10, y: 10 }, 960, 480)).toEqual({ k: 1, x: 0, y: 0 });
    expect(zoomAround({ k: 16, x: 0, y: 0 }, 4, 0, 0, 960, 480).k).toBe(16);
  });
});

describe('keyboard', () => {
  it('one marker is in the tab order; Enter selects; arrows move to the nearest marker that way', async () => {
    const { store } = await renderMap();
    const markers = [...document.querySelectorAll<SVGGElement>('g.marker')];
    expect(markers.filter((m) => m.tabIndex === 0)).toHaveLength(1);
    const madrid = screen.getByRole('button', { name: 'Madrid, Spain' });
    act(() => madrid.focus());
    expect(document.activeElement).toBe(madrid);
    fireEvent.keyDown(madrid, { key: 'ArrowRight' });
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Stockholm, Sweden');
    fireEvent.keyDown(document.activeElement!, { key: 'Enter' });
    expect(store.getState().selectedId).toBe('se-sto-1');
    expect(screen.getByRole('button', { name: 'Stockholm, Sweden' }).tabIndex).toBe(0);
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowLeft' });
    expect(document.activeElement?.getAttribute('aria-label')).toBe('London, United Kingdom');
  });

  it('nearestInDirection favours what lies straight ahead', () => {
    const at = (key: string, x: number, y: number) => ({ key, label: key, x, y, count: 1 });
    const from = at('o', 0, 0);
    const ms = [from, at('ahead', 50, 5), at('near-but-off', 10, 40), at('behind', -5, 0)];
    expect(nearestInDirection(ms, from, 1, 0)?.key).toBe('ahead');
    expect(nearestInDirection(ms, from, 0, 1)?.key).toBe('near-but-off');
    // Off to the side (beyond 60°) only when nothing lies within the cone.
    expect(nearestInDirection([from, at('side', 5, -40), at('far-ahead', 400, -100)], from, 1, 0)?.key).toBe('far-ahead');
    expect(nearestInDirection([from, at('side', 5, -40)], from, 1, 0)?.key).toBe('side');
    expect(nearestInDirection(ms, from, -1, 0)?.key).toBe('behind');
    expect(nearestInDirection(ms, from, 0, -1)).toBeUndefined();
  });
});
