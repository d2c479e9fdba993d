// The searchable server list: favourites first, then country → city → server. A row selects its
// server (double-click connects); the star keeps it among the favourites (this device only).
import { memo, useDeferredValue, useEffect, useId, useMemo, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ServerInfo, TunnelState } from '../../api.js';
import { placeLabel } from '../../lib/format.js';
import { useActions, useUmbra } from '../../store/context.js';
import { activeServer } from '../../store/selectors.js';
import { FirstRun } from '../import/FirstRun.js';
import { filterServers, groupByCountry } from './locations.js';
import './server-list.css';

interface RowProps {
  server: ServerInfo;
  selected: boolean;
  favourite: boolean;
  /** The tunnel's state when this is its server. */
  active: TunnelState | null;
  showPlace: boolean;
}

const BADGE_WORDS: Record<Exclude<TunnelState, 'disconnected'>, string> = {
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  disconnecting: 'Disconnecting',
  error: 'Error',
};

const ServerRow = memo(function ServerRow({ server, selected, favourite, active, showPlace }: RowProps) {
  const { select, connect, toggleFavourite } = useActions();
  const place = placeLabel(server);
  return (
    <li className={`server-row${selected ? ' selected' : ''}`} data-id={server.id}>
      <button
        type="button"
        className="server-select"
        aria-pressed={selected}
        onClick={() => select(server.id)}
        onDoubleClick={() => {
          select(server.id);
          if (!active || active === 'disconnecting') void connect(server.id);
        }}
      >
        <span className="server-name">{server.name}</span>
        {showPlace && place !== server.name && <span className="server-place muted">{place}</span>}
        {active && active !== 'disconnected' && (
          <span className={`server-badge state-${active}`} title={active === 'reconnecting' ? 'The server stopped answering; Umbra keeps the tunnel up and waits' : undefined}>
            {BADGE_WORDS[active]}
          </span>
        )}
      </button>
      <button
        type="button"
        className={`star${favourite ? ' on' : ''}`}
        aria-pressed={favourite}
        aria-label={`Favourite ${server.name}`}
        title={favourite ? 'Remove from favourites' : 'Add to favourites'}
        onClick={() => toggleFavourite(server.id)}
      >
        <span aria-hidden="true">{favourite ? '★' : '☆'}</span>
      </button>
    </li>
  );
});

export function ServerList() {
  const { servers, selectedId, favourites, status, query } = useUmbra(
    useShallow((s) => ({ servers: s.servers, selectedId: s.selectedId, favourites: s.favourites, status: s.status, query: s.serverQuery })),
  );
  const { setServerQuery } = useActions();
  const deferred = useDeferredValue(query);
  const searchId = useId();
  const bodyRef = useRef<HTMLDivElement>(null);

  // A selection made on the map scrolls its row into view (the list only, never the page).
  useEffect(() => {
    const body = bodyRef.current;
    if (!body || !selectedId) return;
    const row = [...body.querySelectorAll<HTMLElement>('.group:not(.favourites) [data-id]')].find((r) => r.dataset.id === selectedId);
    if (!row) return;
    const b = body.getBoundingClientRect();
    const r = row.getBoundingClientRect();
    const stickyHeader = 36;
    if (r.top < b.top + stickyHeader || r.bottom > b.bottom) body.scrollTop += r.top + r.height / 2 - (b.top + b.height / 2);
  }, [selectedId]);

  const filtered = useMemo(() => filterServers(servers, deferred), [servers, deferred]);
  const groups = useMemo(() => groupByCountry(filtered), [filtered]);
  const favs = useMemo(() => filtered.filter((s) => favourites.includes(s.id)), [filtered, favourites]);
  const active = activeServer(status);
  const row = (s: ServerInfo, showPlace: boolean) => (
    <ServerRow
      key={s.id}
      server={s}
      selected={s.id === selectedId}
      favourite={favourites.includes(s.id)}
      active={active?.id === s.id && status ? status.state : null}
      showPlace={showPlace}
    />
  );

  return (
    <section className="server-list" aria-labelledby={`${searchId}-title`}>
      <div className="server-list-head">
        <h2 id={`${searchId}-title`}>Servers</h2>
        <label className="visually-hidden" htmlFor={searchId}>
          Search servers
        </label>
        <input
          id={searchId}
          className="search"
          type="search"
          placeholder="Search country, city or server"
          value={query}
          onChange={(e) => setServerQuery(e.target.value)}
          autoComplete="off"
          spellCheck={false}
        />
      </div>
      <div className="server-list-body" ref={bodyRef}>
        {servers.length === 0 && <FirstRun />}
        {servers.length > 0 && filtered.length === 0 && <p className="muted empty">No server matches “{deferred}”.</p>}
        {favs.length > 0 && (
          <div className="group favourites" role="group" aria-label="Favourites">
            <h3 className="country">Favourites</h3>
            <ul>{favs.map((s) => row(s, true))}</ul>
          </div>
        )}
        {groups.map((c) => (
          <div key={c.key} className="group" role="group" aria-label={c.country}>
            {/* One row: the country, its only city (when it has one), and how many servers. */}
            <h3 className="country">
              <span className="country-name">{c.country}</span>
              {c.cities.length === 1 && c.cities[0]!.city !== c.country && <span className="country-city"> · {c.cities[0]!.city}</span>}
              <span className="muted count">
                {c.count}
                <span className="visually-hidden">{c.count === 1 ? ' server' : ' servers'}</span>
              </span>
            </h3>
            {c.cities.map((city) => (
              <div key={city.key} className="city" role="group" aria-label={`${city.city}, ${c.country}`}>
                {c.cities.length > 1 && <h4 className="city-name">{city.city}</h4>}
                <ul>{city.servers.map((s) => row(s, false))}</ul>
              </div>
            ))}
          </div>
        ))}
      </div>
    </section>
  );
}
