// The renderer's entry: find window.umbra, build the store on it, render.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
// The base styles first: each feature's own, imported by its components, come after them.
import './styles/app.css';
import { App } from './app/App.js';
import { resolveApi } from './app/resolve-api.js';
import { StoreProvider } from './store/context.js';
import { createUmbraStore } from './store/store.js';

const root = createRoot(document.getElementById('root')!);

void resolveApi().then((api) => {
  if (!api) {
    root.render(
      <main className="helper-down">
        <div className="helper-down-card">
          <h1>Umbra cannot start here</h1>
          <p>This page needs the Umbra desktop app, or the Umbra helper’s browser mode, to talk to the helper.</p>
        </div>
      </main>,
    );
    return;
  }
  const store = createUmbraStore(api);
  const splitTunnel = api.splitApps ? { call: api.call.bind(api), apps: api.splitApps } : undefined;
  root.render(
    <StrictMode>
      <StoreProvider store={store}>
        <App launchAtLoginOffered={!!api.app} splitTunnel={splitTunnel} />
      </StoreProvider>
    </StrictMode>,
  );
});
