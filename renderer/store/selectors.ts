// Derived views of the state. Pure.
import type { ServerInfo, TunnelStatus } from '../api.js';
import type { UmbraState } from './store.js';

/** The server the tunnel is using or trying to use (not when disconnected). */
export function activeServer(status: TunnelStatus | null): ServerInfo | undefined {
  return status && status.state !== 'disconnected' ? status.server : undefined;
}

/** The server Connect would go to: the selected one, else the helper's last one. */
export function targetServer(s: Pick<UmbraState, 'selectedId' | 'servers' | 'settings'>): ServerInfo | undefined {
  const id = s.selectedId ?? s.settings?.lastServerId;
  return id ? s.servers.find((x) => x.id === id) : undefined;
}

/** Whether the main button is Connect (else Disconnect). In `reconnecting` and `error` the helper keeps retrying. */
export function offersConnect(status: TunnelStatus | null): boolean {
  return !status || status.state === 'disconnected';
}
