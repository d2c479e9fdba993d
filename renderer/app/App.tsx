// The window: the connection on the left, the server picker (map and list), the leak check or the
// settings on the right. Before the helper answers, a short wait; when it cannot be reached, how to start it.
import { useEffect, useState } from 'react';
import { ConnectionPanel } from '../features/connection/ConnectionPanel.js';
import { HelperDown } from '../features/helper-down/HelperDown.js';
import { DropZone } from '../features/import/DropZone.js';
import { LeakCheckPanel } from '../features/leak-check/LeakCheckPanel.js';
import { ServerList } from '../features/server-picker/ServerList.js';
import { WorldMap } from '../features/server-picker/map/WorldMap.js';
import { SettingsPanel } from '../features/settings/SettingsPanel.js';
import type { SplitTunnelPort } from '../features/settings/use-split-tunnel.js';
import { useUmbra, useUmbraStore } from '../store/context.js';

type View = 'servers' | 'leaks' | 'settings';

export function App({ launchAtLoginOffered = false, splitTunnel }: { launchAtLoginOffered?: boolean; splitTunnel?: SplitTunnelPort | undefined }) {
  const store = useUmbraStore();
  useEffect(() => store.getState().start(), [store]);
  const phase = useUmbra((s) => s.helper.phase);
  const [view, setView] = useState<View>('servers');

  if (phase === 'unreachable') return <HelperDown />;
  if (phase === 'starting') {
    return (
      <main className="starting" aria-busy="true">
        <p role="status">Reaching the Umbra helper…</p>
      </main>
    );
  }

  return (
    <div className="app">
      <DropZone />
      <header className="app-header">
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Umbra
        </h1>
        <nav aria-label="Views" className="views">
          <button type="button" className="view-tab" aria-current={view === 'servers' ? 'page' : undefined} onClick={() => setView('servers')}>
            Servers
          </button>
          <button type="button" className="view-tab" aria-current={view === 'leaks' ? 'page' : undefined} onClick={() => setView('leaks')}>
            Leak check
          </button>
          <button type="button" className="view-tab" aria-current={view === 'settings' ? 'page' : undefined} onClick={() => setView('settings')}>
            Settings
          </button>
        </nav>
      </header>
      <main className="app-main">
        <aside className="side" aria-label="Connection">
          <ConnectionPanel />
        </aside>
        <div className="content">
          {view === 'servers' ? (
            <>
              <WorldMap />
              <ServerList />
            </>
          ) : view === 'leaks' ? (
            <LeakCheckPanel />
          ) : (
            <SettingsPanel launchAtLoginOffered={launchAtLoginOffered} splitTunnel={splitTunnel} />
          )}
        </div>
      </main>
    </div>
  );
}
