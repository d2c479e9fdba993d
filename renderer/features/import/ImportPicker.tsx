// The file picker of an import: a .conf, or a QR code image of one.
import { useId, useRef } from 'react';
import { useUmbra } from '../../store/context.js';
import { IMPORT_ACCEPT } from './import-file.js';
import { useImportFile } from './use-import-file.js';

export function ImportPicker({ label = 'Choose a .conf file or QR code image' }: { label?: string }) {
  const busy = useUmbra((s) => s.busy.import);
  const importFile = useImportFile();
  const inputRef = useRef<HTMLInputElement>(null);
  const id = useId();

  const onPick = async (file: File | undefined) => {
    if (!file) return;
    await importFile(file);
    // The same file can be chosen again (after fixing it).
    if (inputRef.current) inputRef.current.value = '';
  };

  return (
    <div className="import-picker">
      <label className="file-label" htmlFor={id}>
        {label}
      </label>
      <input
        ref={inputRef}
        id={id}
        className="file-input"
        type="file"
        accept={IMPORT_ACCEPT}
        aria-busy={busy || undefined}
        disabled={busy}
        onChange={(e) => void onPick(e.target.files?.[0])}
      />
    </div>
  );
}
