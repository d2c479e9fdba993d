// How the last import went: under way, done (with the lines the helper left out), or why not.
import { useEffect, useSyncExternalStore } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Result } from '../../api.js';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';

type ImportNotes = NonNullable<Result<'importConfig'>['notes']>;

/** The lines an import left out, and why: what the helper does instead. */
function LeftOut({ notes }: { notes: ImportNotes }) {
  if (notes.length === 0) return null;
  return (
    <div className="import-notes">
      <p className="muted">Left out of the config:</p>
      <ul>
        {notes.map((n) => (
          <li key={`${n.line}-${n.key}`}>
            {n.line > 0 ? `Line ${n.line}: ` : ''}
            <code>{n.key}</code> — {n.why}
          </li>
        ))}
      </ul>
    </div>
  );
}

// How many outcomes are on screen: with none (say the first-run panel went as its import added a
// server), the window's corner note shows the outcome instead.
let onScreen = 0;
const watchers = new Set<() => void>();
const subscribe = (cb: () => void) => {
  watchers.add(cb);
  return () => void watchers.delete(cb);
};

/** Whether an outcome (other than the corner note's own) is on screen. */
export function useOutcomeOnScreen(): boolean {
  return useSyncExternalStore(subscribe, () => onScreen > 0);
}

/** `counted`: whether it counts as on screen (the corner note's own does not). */
export function ImportOutcome({ counted = true }: { counted?: boolean }) {
  const { busy, error, imported } = useUmbra(useShallow((s) => ({ busy: s.busy.import, error: s.errors.import, imported: s.imported })));
  const { dismissError } = useActions();
  useEffect(() => {
    if (!counted) return;
    onScreen++;
    watchers.forEach((cb) => cb());
    return () => {
      onScreen--;
      watchers.forEach((cb) => cb());
    };
  }, [counted]);
  return (
    <div className="import-outcome">
      {busy && (
        <p className="muted" role="status">
          Importing…
        </p>
      )}
      {imported && !busy && (
        <>
          <p className="ok-note" role="status">
            Imported “{imported.server.name}” and selected it. Press Connect to use it.
          </p>
          <LeftOut notes={imported.notes ?? []} />
        </>
      )}
      <ErrorNote error={error} title="This config was not imported" onDismiss={() => dismissError('import')} />
    </div>
  );
}
