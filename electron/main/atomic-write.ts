// The app's own small files (recent locations, the autostart entry), written atomically in a
// folder that may not exist yet.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic as write } from '../../helper/platform/fs/atomic-file.js';

export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await write(file, data, { mode });
}
