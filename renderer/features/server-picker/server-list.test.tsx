import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { FAVOURITES_KEY } from '../../store/store.js';
import { flush, memoryStorage, mockApi, renderWith, SERVERS, status } from '../../test/support.js';
import { groupByCountry, matches } from './locations.js';
import { ServerList } from './ServerList.js';

afterEach(cleanup);

async function renderList(m = mockApi(), storage = memoryStorage()) {
  const r = renderWith(<ServerList />, m.api, storage);
  await act(flush);
  return { ...r, m, storage };
}

const rowNames = () => [...document.querySelectorAll('.server-select .server-name')].map((e) => e.textContent);
const search = (text: string) => fireEvent.change(screen.getByRole('searchbox', { name: 'Search servers' }), { target: { value: text } });

describe('the server list', () => {
  it('groups by country, then city; servers without a country come last', async () => {
    await renderList();
    const groups = screen.getAllByRole('group').filter((g) => g.classList.contains('group'));
    expect(groups.map((g) => g.getAttribute('aria-label'))).toEqual(['Australia', 'Spain', 'Sweden', 'United Kingdom', 'Other servers']);
    const sweden = within(screen.getByRole('group', { name: 'Sweden' }));
    expect(sweden.getByRole('group', { name: 'Stockholm, Sweden' })).toBeTruthy();
    expect(rowNames()).toEqual(['Sydney 1', 'Madrid 1', 'Madrid 2', 'Stockholm 1', 'Stockholm 2', 'Stockholm 3', 'London 1', 'Home server']);
  });

  it('search filters by city, country, name or code, ignoring case and accents', async () => {
    await renderList();
    search('stock');
    expect(rowNames()).toEqual(['Stockholm 1', 'Stockholm 2', 'Stockholm 3']);
    search('SPAIN 2');
    expect(rowNames()).toEqual(['Madrid 2']);
    search('gb');
    expect(rowNames()).toEqual(['London 1']);
    search('atlantis');
    expect(rowNames()).toEqual([]);
    expect(screen.getByText(/No server matches “atlantis”/)).toBeTruthy();
    search('');
    expect(rowNames()).toHaveLength(SERVERS.length);
    expect(matches({ ...SERVERS[0]!, city: 'São Paulo' }, 'sao paulo')).toBe(true);
  });

  it('a row selects its server; a double-click connects', async () => {
    const { store, m } = await renderList();
    fireEvent.click(screen.getByRole('button', { name: 'London 1' }));
    expect(store.getState().selectedId).toBe('gb-lon-1');
    expect(screen.getByRole('button', { name: 'London 1' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.doubleClick(screen.getByRole('button', { name: 'Madrid 2' }));
    expect(m.take('connect').params).toEqual({ serverId: 'es-mad-2' });
  });

  it('marks the server in use with the helper’s state', async () => {
    const { m } = await renderList();
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[5], connectedSince: 1 }) }));
    expect(screen.getByRole('button', { name: 'London 1 Connected' })).toBeTruthy();
    for (const [state, word] of [['reconnecting', 'Reconnecting'], ['connecting', 'Connecting'], ['error', 'Error'], ['disconnecting', 'Disconnecting']] as const) {
      act(() => m.emit({ type: 'status', status: status({ state, server: SERVERS[5] }) }));
      expect(screen.getByRole('button', { name: `London 1 ${word}` }).querySelector('.server-badge')?.className).toBe(`server-badge state-${state}`);
    }
  });

  it('a double-click on the server being reconnected does not start over', async () => {
    const { m } = await renderList();
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[5], blocked: true }) }));
    fireEvent.doubleClick(screen.getByRole('button', { name: 'London 1 Reconnecting' }));
    expect(m.pending).toHaveLength(0);
  });

  it('favourites: a star toggles them, they come first, and they persist', async () => {
    const storage = memoryStorage();
    await renderList(mockApi(), storage);
    const star = screen.getByRole('button', { name: 'Favourite Madrid 2' });
    expect(star.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(star);
    expect(screen.getAllByRole('button', { name: 'Favourite Madrid 2' }).every((s) => s.getAttribute('aria-pressed') === 'true')).toBe(true);
    const favs = screen.getByRole('group', { name: 'Favourites' });
    expect(within(favs).getByRole('button', { name: /Madrid 2/, pressed: false })).toBeTruthy();
    expect(JSON.parse(storage.getItem(FAVOURITES_KEY)!)).toEqual(['es-mad-2']);

    // Another window (or the next start) reads them back.
    cleanup();
    await renderList(mockApi(), storage);
    expect(within(screen.getByRole('group', { name: 'Favourites' })).getByText('Madrid 2')).toBeTruthy();
    fireEvent.click(screen.getAllByRole('button', { name: 'Favourite Madrid 2' })[0]!);
    expect(screen.queryByRole('group', { name: 'Favourites' })).toBeNull();
    expect(JSON.parse(storage.getItem(FAVOURITES_KEY)!)).toEqual([]);
  });

  it('says what to do when there are no servers', async () => {
    await renderList(mockApi({ servers: [] }));
    expect(screen.getByRole('heading', { name: 'Add your first server' })).toBeTruthy();
    expect(screen.getByLabelText('Import a .conf file or QR code image')).toBeTruthy();
  });

  it('sorts cities and servers naturally', () => {
    const g = groupByCountry([
      { ...SERVERS[0]!, id: 'a10', name: 'Stockholm 10' },
      { ...SERVERS[0]!, id: 'a2', name: 'Stockholm 2' },
      { ...SERVERS[0]!, id: 'g1', name: 'Gothenburg 1', city: 'Gothenburg' },
    ]);
    expect(g[0]!.cities.map((c) => [c.city, c.servers.map((s) => s.name)])).toEqual([
      ['Gothenburg', ['Gothenburg 1']],
      ['Stockholm', ['Stockholm 2', 'Stockholm 10']],
    ]);
  });
});
