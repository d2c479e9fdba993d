// Settings → Split tunnelling: the apps this person chose to run outside the VPN, each with a
// launch and a remove; a searchable list of installed apps to add from; and the processes the
// helper says are outside the tunnel now, each with a way back in. Where the helper cannot exclude
// apps it says why, and launching is off.
import { useId, useState } from 'react';
import type { DesktopAppInfo, ExcludedApp } from '../../api.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { useSplitTunnel, type SplitTunnelPort, type SplitTunnelView } from './use-split-tunnel.js';
import './split-tunnel.css';

function AppIcon({ app }: { app: DesktopAppInfo }) {
  // The name is next to it: the icon is decoration.
  return app.iconUrl ? <img className="split-app-icon" src={app.iconUrl} alt="" width={24} height={24} /> : <span className="split-app-icon split-app-icon-none" aria-hidden="true" />;
}

function ExcludedAppRow({ app, view, canLaunch }: { app: ExcludedApp; view: SplitTunnelView; canLaunch: boolean }) {
  const launching = view.busy.has(`launch:${app.id}`);
  const removing = view.busy.has(`remove:${app.id}`);
  return (
    <li className="split-app">
      <AppIcon app={app} />
      <span className="split-app-name">
        {app.name}
        {!app.installed && <span className="muted"> (no longer installed)</span>}
      </span>
      <button
        type="button"
        className="secondary-button"
        disabled={!canLaunch || !app.installed || launching}
        aria-busy={launching || undefined}
        onClick={() => void view.launch(app)}
      >
        Launch {app.name} outside the VPN
      </button>
      <button type="button" className="link-button" aria-label={`Remove ${app.name}`} disabled={removing} onClick={() => void view.remove(app.id)}>
        Remove
      </button>
    </li>
  );
}

function AddApp({ view, onDone }: { view: SplitTunnelView; onDone: () => void }) {
  const [query, setQuery] = useState('');
  const id = useId();
  const listed = new Set((view.apps ?? []).map((a) => a.id));
  const q = query.trim().toLowerCase();
  const matches = (view.installed ?? []).filter((a) => !listed.has(a.id) && (q === '' || a.name.toLowerCase().includes(q)));
  return (
    <div className="split-picker" role="group" aria-labelledby={`${id}-h`}>
      <h4 id={`${id}-h`}>Add an app</h4>
      <label htmlFor={id}>Search installed apps</label>
      <input id={id} type="search" value={query} onChange={(e) => setQuery(e.target.value)} autoComplete="off" spellCheck={false} autoFocus />
      {view.installed === null ? (
        <p className="muted" role="status">
          Reading the installed apps…
        </p>
      ) : matches.length === 0 ? (
        <p className="muted">{query.trim() ? `No installed app matches “${query.trim()}”.` : 'Every installed app is on the list.'}</p>
      ) : (
        <ul className="split-list" aria-label="Installed apps">
          {matches.map((a) => (
            <li key={a.id}>
              <button
                type="button"
                className="split-pick"
                aria-label={`Add ${a.name}`}
                disabled={view.busy.has(`add:${a.id}`)}
                onClick={() => void view.add(a.id).then((ok) => ok && onDone())}
              >
                <AppIcon app={a} />
                <span>{a.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" className="link-button" onClick={onDone}>
        Close the list of installed apps
      </button>
    </div>
  );
}

function RunningOutside({ view }: { view: SplitTunnelView }) {
  const id = useId();
  const excluded = view.running?.excluded ?? [];
  return (
    <div className="split-running" role="group" aria-labelledby={`${id}-h`}>
      <h4 id={`${id}-h`}>Running outside the VPN</h4>
      {excluded.length === 0 ? (
        <p className="muted">{view.running ? 'Nothing runs outside the VPN now.' : 'Not known: the helper did not say.'}</p>
      ) : (
        <ul className="split-list" aria-label="Running outside the VPN">
          {excluded.map((p) => (
            <li key={p.pid} className="split-app">
              <span className="split-app-name">
                {p.name} <span className="muted">(process {p.pid})</span>
              </span>
              <button
                type="button"
                className="secondary-button"
                aria-label={`Move back into the VPN: ${p.name} (process ${p.pid})`}
                disabled={view.busy.has(`include:${p.pid}`)}
                onClick={() => void view.include(p.pid)}
              >
                Move back into the VPN
              </button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" className="link-button" disabled={view.busy.has('running')} onClick={() => void view.refreshRunning()}>
        Refresh what runs outside the VPN
      </button>
    </div>
  );
}

export function SplitTunnel({ port }: { port: SplitTunnelPort }) {
  const view = useSplitTunnel(port);
  const [picking, setPicking] = useState(false);
  const id = useId();
  const unavailable = view.running?.available === false;
  const open = () => {
    setPicking(true);
    if (view.installed === null) void view.loadInstalled();
  };
  return (
    <section className="settings-section split-tunnel" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Split tunnelling</h3>
      <p className="muted">
        Start chosen apps outside the VPN (a bank that blocks VPNs, a game on your local network). Their traffic is not protected: the network they use sees it, and their real address.
      </p>
      {unavailable && (
        <p className="split-unavailable" role="note">
          Launching apps outside the VPN is not available here: {view.running?.reason ?? 'the helper did not say why'}.
        </p>
      )}
      {view.apps === null ? (
        view.busy.has('apps') && <p className="muted">Reading your list…</p>
      ) : view.apps.length === 0 ? (
        <p className="muted">No apps on the list yet.</p>
      ) : (
        <ul className="split-list" aria-label="Apps that run outside the VPN">
          {view.apps.map((a) => (
            <ExcludedAppRow key={a.id} app={a} view={view} canLaunch={!unavailable} />
          ))}
        </ul>
      )}
      {view.launched && (
        <p className="ok-note" role="status">
          {view.launched}
        </p>
      )}
      {picking ? (
        <AddApp view={view} onDone={() => setPicking(false)} />
      ) : (
        <button type="button" className="secondary-button split-add" onClick={open}>
          Add an app
        </button>
      )}
      <ErrorNote error={view.error?.error} title={view.error?.title} onDismiss={view.dismiss} />
      <RunningOutside view={view} />
    </section>
  );
}
