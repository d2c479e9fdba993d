// The connection as the helper reports it: the state in words and colour, where, the exit IP the
// helper measured (with a warning when the catalog names another), for how long, how much, what
// went wrong and what to do, and whether traffic is blocked (as the kernel holds it:
// status.blocked; while disconnected, status.hold says why).
import { useShallow } from 'zustand/react/shallow';
import type { TunnelStatus } from '../../api.js';
import { formatBytes, formatElapsed, HOLD_TEXT, noReplyText, pathMtuText, placeLabel, RECONNECTING_TEXT, STATE_WORDS } from '../../lib/format.js';
import { useNow } from '../../lib/use-now.js';
import { useActions, useUmbra } from '../../store/context.js';
import { activeServer, targetServer } from '../../store/selectors.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { KillSwitch } from '../kill-switch/KillSwitch.js';
import { TrustBanner } from '../networks/TrustBanner.js';
import { ConnectButton } from './ConnectButton.js';
import { exitWords } from './exit-address.js';
import './connection.css';

interface Banner {
  head: string;
  text: string;
  /** Offer a disconnect: the way to lift a block held after a crash while disconnected. */
  lift: boolean;
  /** Offer to turn lockdown off (connecting is the other way out, the main button). */
  unlock?: boolean;
}

/** What to say about a block in the kernel outside a working tunnel (none while connected). */
function blockBanner(status: TunnelStatus): Banner | null {
  if (!status.blocked) return null;
  const traffic = (text: string): Banner => ({ head: 'Traffic blocked.', text, lift: false });
  switch (status.state) {
    case 'connected':
      return null;
    case 'disconnected': {
      if (!status.hold) return traffic('The kill switch holds until you connect, or until you turn it off.');
      const [head = '', ...rest] = HOLD_TEXT[status.hold].split(' ');
      return { head, text: rest.join(' '), lift: status.hold === 'unreadable-state', unlock: status.hold === 'lockdown' };
    }
    case 'reconnecting':
      return traffic('Nothing leaves this computer outside the tunnel until the server answers again. Disconnect to lift the block.');
    case 'disconnecting':
      return traffic('The block lifts once the tunnel is down.');
    case 'connecting':
    case 'error':
      return traffic('Nothing leaves this computer outside the tunnel until it is up. Disconnect to lift the block.');
  }
}

function caption(state: TunnelStatus['state'], active: boolean, selected: boolean): string {
  if (!active) return selected ? 'Selected' : 'Last used';
  switch (state) {
    case 'connected':
      return 'Connected to';
    case 'disconnecting':
      return 'Disconnecting from';
    case 'reconnecting':
      return 'Reconnecting to';
    default:
      return 'Connecting to';
  }
}

/** Connected, but the server has not answered lately (the engine is already asking it for a fresh handshake). */
function NoReply({ status }: { status: TunnelStatus }) {
  const now = useNow(true);
  const text = noReplyText(status, now);
  return text ? (
    <div className="tunnel-error reconnecting" role="status">
      <strong>Waiting for the server:</strong> {text}; Umbra is asking it for a new handshake.
    </div>
  ) : null;
}

function Elapsed({ since }: { since: number }) {
  const now = useNow(true);
  return <>{formatElapsed(now - since)}</>;
}

export function ConnectionPanel() {
  const { status, target, selectedId, error } = useUmbra(
    useShallow((s) => ({ status: s.status, target: targetServer(s), selectedId: s.selectedId, error: s.errors.connection })),
  );
  const { dismissError, connect, disconnect, setSetting } = useActions();
  const switching = useUmbra((s) => s.busy.connect);
  const disconnecting = useUmbra((s) => s.busy.disconnect);
  if (!status) return null;

  const active = activeServer(status);
  const place = active ?? target;
  const banner = blockBanner(status);
  const connected = status.state === 'connected';
  const exit = exitWords(status);
  const pathMtu = connected ? pathMtuText(status) : undefined;

  return (
    <section className={`connection state-${status.state}`} aria-labelledby="connection-title">
      <h2 id="connection-title" className="visually-hidden">
        Connection
      </h2>
      <p className="state-line" role="status" aria-live="polite">
        <span className="state-dot" aria-hidden="true" />
        <span className="state-word">{STATE_WORDS[status.state]}</span>
        {(status.state === 'connecting' || status.state === 'reconnecting') && status.attempt > 0 && <span className="muted"> (attempt {status.attempt + 1})</span>}
      </p>
      <div className="place">
        {place ? (
          <>
            <span className="place-caption muted">{caption(status.state, !!active, selectedId !== null)}</span>
            <span className="place-name">{placeLabel(place)}</span>
            {place.city && place.name !== place.city && <span className="place-server muted">{place.name}</span>}
          </>
        ) : (
          <span className="muted">Pick a location on the map or in the list.</span>
        )}
      </div>

      <ConnectButton />
      {active && target && selectedId === target.id && target.id !== active.id && status.state !== 'disconnecting' && (
        // Picking another place while connected: go straight there (the helper keeps any block up).
        <button type="button" className="switch-button" aria-busy={switching || undefined} onClick={() => !switching && void connect(target.id)}>
          Switch to {placeLabel(target)}
        </button>
      )}

      {status.state === 'connected' && status.noReplySince !== undefined && <NoReply status={status} />}
      {pathMtu && (
        <div className="tunnel-error reconnecting path-mtu" role="status">
          <strong>Path MTU:</strong> {pathMtu}.
        </div>
      )}
      {status.state === 'reconnecting' && (
        <div className="tunnel-error reconnecting" role="status">
          <strong>Reconnecting:</strong> {RECONNECTING_TEXT}
          {status.error && <p className="muted">{status.error.message}</p>}
        </div>
      )}
      {status.error && status.state !== 'disconnected' && status.state !== 'reconnecting' && (
        <div className="tunnel-error" role="alert">
          <strong>{status.state === 'error' ? 'The tunnel is not up' : 'Trouble connecting'}:</strong> {status.error.message}
          {status.state === 'error' && <p className="muted">Press Disconnect to stop trying.</p>}
        </div>
      )}
      <ErrorNote error={error} onDismiss={() => dismissError('connection')} />
      <TrustBanner />

      {banner && (
        <div className="blocked-banner" role="status">
          <strong>{banner.head}</strong> {banner.text}
          {banner.lift && (
            <p>
              <button type="button" className="lift-button" aria-busy={disconnecting || undefined} onClick={() => !disconnecting && void disconnect()}>
                Lift the block
              </button>
            </p>
          )}
          {banner.unlock && (
            <p>
              <button type="button" className="lift-button" onClick={() => void setSetting('lockdown', false)}>
                Turn lockdown off
              </button>
            </p>
          )}
        </div>
      )}

      <dl className="stats">
        <div>
          <dt>Exit IP</dt>
          <dd className="exit-ip" aria-busy={status.measuredExit?.state === 'measuring' || undefined}>
            {exit.shown}
          </dd>
        </div>
        <div>
          <dt>Connected for</dt>
          <dd>{connected && status.connectedSince !== undefined ? <Elapsed since={status.connectedSince} /> : '—'}</dd>
        </div>
        <div>
          <dt>Received</dt>
          <dd>{active ? formatBytes(status.rxBytes) : '—'}</dd>
        </div>
        <div>
          <dt>Sent</dt>
          <dd>{active ? formatBytes(status.txBytes) : '—'}</dd>
        </div>
      </dl>
      {exit.note && <p className="muted exit-note">{exit.note}</p>}
      {exit.outside && (
        <div className="tunnel-error exit-outside" role="alert">
          <strong>Not through the tunnel:</strong> the internet sees {exit.outside}, this computer’s own address without the VPN.
          Run the leak check to see what escapes.
        </div>
      )}
      {exit.mismatch && (
        <div className="tunnel-error reconnecting exit-mismatch" role="status">
          <strong>Not the catalog’s exit:</strong> The catalog says {exit.mismatch.catalog}; the internet sees {exit.mismatch.seen}.
        </div>
      )}

      <KillSwitch />
    </section>
  );
}
