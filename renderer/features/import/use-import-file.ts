// One way in for every import of a file: the Settings picker, the first-run button, a drop.
import { useCallback } from 'react';
import type { Result } from '../../api.js';
import { useActions } from '../../store/context.js';
import { readImportFile, type ReadOptions } from './import-file.js';

/** Imports the config in a file (a .conf, or a QR code image of one); resolves with the result, or undefined (the error is in `errors.import`). */
export function useImportFile(opts?: ReadOptions): (file: File) => Promise<Result<'importConfig'> | undefined> {
  const { importFrom } = useActions();
  return useCallback((file: File) => importFrom(() => readImportFile(file, opts)), [importFrom, opts]);
}
