// When the helper cannot be reached: say so plainly, and how to start it.
import { sentence } from '../../lib/format.js';
import { useActions, useUmbra } from '../../store/context.js';

export function HelperDown() {
  const message = useUmbra((s) => s.helper.message);
  const { retry } = useActions();
  return (
    <main className="helper-down" aria-labelledby="helper-down-title">
      <div className="helper-down-card">
        <h1 id="helper-down-title">The Umbra helper is not running</h1>
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
        <h2>Start it</h2>
        <p>If Umbra is installed as a system service:</p>
        <pre>
          <code>sudo systemctl start umbrad</code>
        </pre>
        <p>Or run it in a terminal (it stops when you close the terminal):</p>
        <pre>
          <code>sudo npx umbrad serve</code>
        </pre>
        <p className="muted">This window reconnects by itself as soon as the helper is up.</p>
        <button type="button" className="secondary-button" onClick={() => void retry()}>
          Try again
        </button>
      </div>
    </main>
  );
}
