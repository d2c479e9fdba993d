// When the helper cannot be reached: first whether traffic is blocked right now (from the
// helper's last status: see helperDownVerdict), then how to start it again for this copy.
import { HELPER_DOWN_TEXT, helperDownVerdict } from '../../../helper/ipc/tunnel-words.js';
import type { HostInfo } from '../../api.js';
import { sentence } from '../../lib/format.js';
import { useActions, useUmbra } from '../../store/context.js';
import './helper-down.css';

/** What this window knows of a block: the host's word (it saw every status) before its own last status. */
function lastBlock(host: HostInfo | null, status: { blocked: boolean } | null): { blocked: boolean } | null {
  if (host?.lastBlocked !== undefined) return { blocked: host.lastBlocked };
  return status;
}

const SYSTEMD = 'sudo systemctl restart umbrad';

/** How to start the helper again, for the way this copy was installed (unknown: every way). */
function RestartAdvice({ host }: { host: HostInfo | null }) {
  switch (host?.install) {
    case 'package':
      return (
        <>
          <p>Umbra’s package set the helper up as the system service <code>umbrad</code>:</p>
          <pre>
            <code>{SYSTEMD}</code>
          </pre>
          <p className="muted">
            To see why it stopped: <code>journalctl -u umbrad</code>.
          </p>
        </>
      );
    case 'appimage':
      return (
        <>
          <p>The AppImage’s installer set the helper up as the system service <code>umbrad</code>:</p>
          <pre>
            <code>{SYSTEMD}</code>
          </pre>
          <p className="muted">
            Was the helper never installed? Start the AppImage again: it offers to install it. To see why it stopped:{' '}
            <code>journalctl -u umbrad</code>.
          </p>
        </>
      );
    case 'demo':
      return (
        <p>
          In the demo (<code>npm run demo</code>) the helper starts again by itself within seconds. If it does not, stop the demo with
          Ctrl-C and start it again.
        </p>
      );
    case 'checkout':
      return (
        <>
          <p>This copy runs from a source checkout. Start the helper from the checkout’s folder:</p>
          <pre>
            <code>{`sudo npx umbrad serve${host.socket ? ` --socket ${host.socket}` : ''}`}</code>
          </pre>
        </>
      );
    default:
      return (
        <>
          <p>With Umbra installed (the .deb, or the AppImage’s installer), the helper is the system service <code>umbrad</code>:</p>
          <pre>
            <code>{SYSTEMD}</code>
          </pre>
          <p className="muted">
            In the demo (<code>npm run demo</code>) the helper starts again by itself; if it does not, stop the demo with Ctrl-C and
            start it again.
          </p>
        </>
      );
  }
}

export function HelperDown() {
  const message = useUmbra((s) => s.helper.message);
  const host = useUmbra((s) => s.host);
  const verdict = useUmbra((s) => helperDownVerdict(lastBlock(s.host, s.status)));
  const { retry } = useActions();
  const text = HELPER_DOWN_TEXT[verdict];
  return (
    <main className="helper-down" aria-labelledby="helper-down-title">
      <div className="helper-down-card">
        <h1 id="helper-down-title">The Umbra helper is not running</h1>
        <div role="status" className={`helper-down-verdict verdict-${verdict}`}>
          <h2>{text.headline}</h2>
          <p>{text.detail}</p>
        </div>
        <p>
          Umbra’s helper, <code>umbrad</code>, is the background service that sets up the tunnel and the kill switch. This window
          cannot do anything until it runs.
        </p>
        {message && (
          <p className="muted">
            <span className="visually-hidden">Details: </span>
            {sentence(message)}
          </p>
        )}
        <h2>Start it again</h2>
        <RestartAdvice host={host} />
        <p className="muted">This window reconnects by itself as soon as the helper is back.</p>
        <button type="button" className="secondary-button" onClick={() => void retry()}>
          Try again
        </button>
      </div>
    </main>
  );
}
