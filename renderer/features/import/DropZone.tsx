// Drag a .conf file, or a QR code image of one, anywhere onto the window to import it. While a
// file is dragged over the window an overlay says what dropping it will do. When nothing else on
// screen shows how the last import went (a drop on the map, the first-run panel gone with the
// server it added), a note in the corner does, until closed.
import { useEffect, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useActions, useUmbra } from '../../store/context.js';
import { ImportFileError } from './import-file.js';
import { ImportOutcome, useOutcomeOnScreen } from './ImportOutcome.js';
import { useImportFile } from './use-import-file.js';
import './import.css';

const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');

/** What a drop of the dragged item would import (the file's name is not known until the drop). */
function dropWords(e: DragEvent): string {
  const kind = e.dataTransfer?.items?.[0]?.type ?? '';
  return kind.startsWith('image/') ? 'Drop to import the WireGuard config in this QR code' : 'Drop to import this WireGuard config';
}

export function DropZone() {
  const importFile = useImportFile();
  const { importFrom } = useActions();
  const [over, setOver] = useState<string | null>(null);
  const outcome = useUmbra(useShallow((s) => ({ busy: s.busy.import, said: s.imported ?? s.errors.import ?? null, failed: s.errors.import !== undefined })));
  const elsewhere = useOutcomeOnScreen();
  // The outcome the person closed the note on (a new import's is another object).
  const [closed, setClosed] = useState<object | null>(null);
  // dragenter/dragleave fire for every element crossed: the overlay goes when the count is back to 0.
  const depth = useRef(0);

  useEffect(() => {
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current++;
      setOver(dropWords(e));
    };
    const overHandler = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      // Without this the browser (and Electron) opens the file instead of dropping it here.
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setOver(null);
    };
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current = 0;
      setOver(null);
      const files = [...(e.dataTransfer?.files ?? [])];
      if (files.length === 0) return;
      if (files.length > 1) {
        void importFrom(() => Promise.reject(new ImportFileError(`${files.length} files were dropped: drop one config or QR code image at a time`)));
        return;
      }
      void importFile(files[0]!);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overHandler);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overHandler);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [importFile, importFrom]);

  return (
    <>
      {over && (
        <div className="drop-overlay" role="status" aria-live="polite">
          <div className="drop-card">
            <p className="drop-title">{over}</p>
            <p className="muted">A .conf file or a QR code image (PNG or JPEG). Its private key stays with the Umbra helper.</p>
          </div>
        </div>
      )}
      {!elsewhere && (outcome.busy || (outcome.said !== null && outcome.said !== closed)) && (
        <aside className="import-toast" aria-label="Import">
          <ImportOutcome counted={false} />
          {/* An error has its own Dismiss. */}
          {!outcome.failed && (
            <button type="button" className="link-button" onClick={() => setClosed(outcome.said)}>
              Close
            </button>
          )}
        </aside>
      )}
    </>
  );
}
