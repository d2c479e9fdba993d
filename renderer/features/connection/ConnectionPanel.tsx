// The connection as the helper reports it: the state in words and colour, where, the exit IP,
// for how long, how much, what went wrong and what to do, and whether traffic is blocked.
import { useShallow } from 'zustand/react/shallow';
import type { TunnelStatus } from '../../api.js';
import { formatBytes, formatElapsed, placeLabel, STATE_WORDS } from '../../lib/format.js';
import { useNow } from '../../lib/use-now.js';
import { useActions, useUmbra } from '../../store/context.js';
import { activeServer, targetServer } from '../../store/selectors.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { KillSwitch } from '../kill-switch/KillSwitch.js';
import { ConnectButton } from './ConnectButton.js';

function blockedText(status: TunnelStatus, killSwitchOnBoot: boolean): string | null {
  if (!status.blocked || status.state === 'connected') return null;
  if (status.state === 'disconnected') {
    return killSwitchOnBoot
      ? 'The kill switch on boot holds until you connect, or until you turn it off in Settings.'
      : 'The kill switch holds until you connect, or until you turn it off.';
  }
  return 'Nothing leaves this computer outside the tunnel until it is up. Disconnect to lift the block.';
}

function caption(state: TunnelStatus['state'], active: boolean, selected: boolean): string {
  if (!active) return selected ? 'Selected' : 'Last used';
  return state === 'connected' ? 'Connected to' : state === 'disconnecting' ? 'Disconnecting from' : 'Connecting to';
}

function Elapsed({ since }: { since: number }) {
  const now = useNow(true);
  return <>{formatElapsed(now - since)}</>;
}

export function ConnectionPanel() {
  const { status, settings, target, selectedId, error } = useUmbra(
    useShallow((s) => ({ status: s.status, settings: s.settings, target: targetServer(s), selectedId: s.selectedId, error: s.errors.connection })),
  );
  const { dismissError, connect } = useActions();
  const switching = useUmbra((s) => s.busy.connect);
  if (!status) return null;

  const active = activeServer(status);
  const place = active ?? target;
  const banner = blockedText(status, settings?.killSwitchOnBoot ?? false);
  const connected = status.state === 'connected';

  return (
    <section className={`connection state-${status.state}`} aria-labelledby="connection-title">
      <h2 id="connection-title" className="visually-hidden">
        Connection
      </h2>
      <p className="state-line" role="status" aria-live="polite">
        <span className="state-dot" aria-hidden="true" />
        <span className="state-word">{STATE_WORDS[status.state]}</span>
        {status.state === 'connecting' && status.attempt > 0 && <span className="muted"> (attempt {status.attempt + 1})</span>}
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

      {status.error && status.state !== 'disconnected' && (
        <div className="tunnel-error" role="alert">
          <strong>{status.state === 'error' ? 'The tunnel is not up' : 'Trouble connecting'}:</strong> {status.error.message}
          {status.state === 'error' && <p className="muted">Press Disconnect to stop trying.</p>}
        </div>
      )}
      <ErrorNote error={error} onDismiss={() => dismissError('connection')} />

      {banner && (
        <div className="blocked-banner" role="status">
          <strong>Traffic blocked.</strong> {banner}
        </div>
      )}

      <dl className="stats">
        <div>
          <dt>Exit IP</dt>
          <dd>{connected && status.server?.exitIp ? status.server.exitIp : '—'}</dd>
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

      <KillSwitch />
    </section>
  );
}
