// An error a call returned, in the helper's words (they follow a colon: "title: message"), with a
// way to put it away.
import type { UmbraError } from '../api.js';
import { sentence } from '../lib/format.js';

export function ErrorNote({ error, title, onDismiss }: { error: UmbraError | undefined; title?: string; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error-note" role="alert">
      <div>
        {title ? (
          <>
            <strong>{title}:</strong> {error.message}
          </>
        ) : (
          sentence(error.message)
        )}
      </div>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
