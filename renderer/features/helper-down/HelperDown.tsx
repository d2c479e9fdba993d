// When the helper cannot be reached: first whether traffic is blocked right now (from the
// helper's last status: see helperDownVerdict), then how to start it again for this copy.
import { HELPER_DOWN_TEXT, helperDownVerdict } from '../../../helper/ipc/tunnel-words.js';
import { sentence } from '../../lib/format.js';
import { useActions, useUmbra } from '../../store/context.js';

/** The client's own "start it with …" hint names commands that fit only some installs; this page gives its own. */
export function withoutStartHint(message: string): string {
  return message.replace(/:\s*start it with .*$/i, '');
}

export function HelperDown({ desktop }: { desktop: boolean }) {
  const message = useUmbra((s) => s.helper.message);
  const verdict = useUmbra((s) => helperDownVerdict(s.status));
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
            {sentence(withoutStartHint(message))}
          </p>
        )}
        <h2>Start it again</h2>
        {desktop ? (
          <>
            <p>Umbra’s package (.deb) and the AppImage’s installer both set the helper up as the system service <code>umbrad</code>:</p>
            <pre>
              <code>sudo systemctl restart umbrad</code>
            </pre>
            <p className="muted">
              Running the AppImage and its helper was never installed? Start the AppImage again: it offers to install it. To see why the
              helper stopped: <code>journalctl -u umbrad</code>.
            </p>
          </>
        ) : (
          <>
            <p>
              In the demo (<code>npm run demo</code>) the helper starts again by itself within seconds; if it does not, stop the demo
              with Ctrl-C and start it again. With Umbra installed as the system service:
            </p>
            <pre>
              <code>sudo systemctl restart umbrad</code>
            </pre>
          </>
        )}
        <p className="muted">This window reconnects by itself as soon as the helper is back.</p>
        <button type="button" className="secondary-button" onClick={() => void retry()}>
          Try again
        </button>
      </div>
    </main>
  );
}
