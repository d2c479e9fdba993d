// The picker as one: the search box filters the list and the map's markers alike.
import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { flush, mockApi, renderWith, SERVERS, status } from '../../test/support.js';
import { filterServers } from './locations.js';
import { WorldMap } from './map/WorldMap.js';
import { ServerList } from './ServerList.js';

afterEach(cleanup);

async function renderPicker(m = mockApi()) {
  const r = renderWith(
    <>
      <WorldMap />
      <ServerList />
    </>,
    m.api,
  );
  await act(flush);
  return { ...r, m };
}

const rowNames = () => [...document.querySelectorAll('.server-select .server-name')].map((e) => e.textContent);
const markerNames = () => [...document.querySelectorAll('g.marker')].map((e) => e.getAttribute('aria-label')).sort();
const search = (text: string) => fireEvent.change(screen.getByRole('searchbox', { name: 'Search servers' }), { target: { value: text } });

describe('search, across the list and the map', () => {
  it('one query filters both, and both say when nothing matches', async () => {
    const { store } = await renderPicker();
    expect(markerNames()).toHaveLength(4);
    search('stock');
    expect(store.getState().serverQuery).toBe('stock');
    expect(rowNames()).toEqual(['Stockholm 1', 'Stockholm 2', 'Stockholm 3']);
    expect(markerNames()).toEqual(['Stockholm, Sweden']);
    search('spain 2');
    expect(rowNames()).toEqual(['Madrid 2']);
    expect(markerNames()).toEqual(['Madrid, Spain']);
    search('atlantis');
    expect(rowNames()).toEqual([]);
    expect(markerNames()).toEqual([]);
    expect(screen.getByText(/No server matches “atlantis”/)).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('No location matches “atlantis”');
    search('');
    expect(rowNames()).toHaveLength(SERVERS.length);
    expect(markerNames()).toHaveLength(4);
    expect(screen.queryByText(/No location matches/)).toBeNull();
  });

  it('the city the tunnel goes to stays on the map whatever the search', async () => {
    const { m } = await renderPicker();
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[5], connectedSince: 1 }) }));
    search('madrid');
    expect(rowNames()).toEqual(['Madrid 1', 'Madrid 2']);
    expect(markerNames()).toEqual(['London, United Kingdom', 'Madrid, Spain']);
    expect(document.querySelector('g.marker.connected')?.getAttribute('aria-label')).toBe('London, United Kingdom');
  });

  it('a search set elsewhere (the store) shows in the box', async () => {
    const { store } = await renderPicker();
    act(() => store.getState().setServerQuery('gb'));
    expect((screen.getByRole('searchbox', { name: 'Search servers' }) as HTMLInputElement).value).toBe('gb');
    expect(markerNames()).toEqual(['London, United Kingdom']);
  });

  it('an empty query keeps every server, in order', () => {
    expect(filterServers(SERVERS, '  ')).toEqual(SERVERS);
    expect(filterServers(SERVERS, 'sweden').map((s) => s.id)).toEqual(['se-sto-1', 'se-sto-2', 'se-sto-3']);
  });
});

describe('compact list', () => {
  it('a country with one city reads in one row with its count; a city heading only where a country has several', async () => {
    await renderPicker();
    const sweden = screen.getByRole('heading', { level: 3, name: /Sweden/ });
    expect(sweden.textContent).toBe('Sweden · Stockholm3 servers');
    expect(screen.queryByRole('heading', { level: 4 })).toBeNull();
    cleanup();
    await renderPicker(mockApi({ servers: [...SERVERS, { ...SERVERS[0]!, id: 'se-got-1', name: 'Gothenburg 1', city: 'Gothenburg' }] }));
    expect(screen.getByRole('heading', { level: 3, name: /Sweden/ }).textContent).toBe('Sweden4 servers');
    expect(screen.getAllByRole('heading', { level: 4 }).map((h) => h.textContent)).toEqual(['Gothenburg', 'Stockholm']);
  });
});
