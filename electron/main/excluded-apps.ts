// The user's list of apps to run outside the VPN (split tunnelling): desktop file ids, in the
// order added, kept with the app's own settings as JSON. It is the user's choice of what to offer,
// not VPN state (the helper holds which processes are out), so a missing or unreadable file is an
// empty list.
import { readFile } from 'node:fs/promises';
import { DesktopAppId, MAX_EXCLUDED_APPS } from '../../helper/ipc/split-apps.js';
import { writeFileAtomic } from './atomic-write.js';

export const EXCLUDED_APPS_FILE_NAME = 'excluded-apps.json';

/** The ids from a parsed file, in order; anything that is not a desktop file id, or a repeat, is dropped. */
export function parseExcludedApps(data: unknown): string[] {
  const raw = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as { apps?: unknown }).apps : undefined;
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const x of raw) {
    if (out.length === MAX_EXCLUDED_APPS) break;
    if (DesktopAppId.safeParse(x).success && !out.includes(x as string)) out.push(x as string);
  }
  return out;
}

function serializeExcludedApps(ids: readonly string[]): string {
  return `${JSON.stringify({ version: 1, apps: ids }, null, 2)}\n`;
}

export class ExcludedAppsStore {
  private ids: string[] = [];
  private loaded: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** The list; read from the file the first time. */
  async list(): Promise<readonly string[]> {
    await (this.loaded ??= readFile(this.file, 'utf8').then(
      (text) => {
        try {
          this.ids = parseExcludedApps(JSON.parse(text));
        } catch {
          this.ids = [];
        }
      },
      () => {
        this.ids = [];
      },
    ));
    return this.ids;
  }

  /** Adds `id` at the end (once); resolves with the new list once it is on disk. */
  async add(id: string): Promise<readonly string[]> {
    const ids = await this.list();
    if (ids.includes(id)) return ids;
    if (ids.length >= MAX_EXCLUDED_APPS) throw new Error(`at most ${MAX_EXCLUDED_APPS} apps can be on the list: remove one first`);
    return this.save([...ids, id]);
  }

  async remove(id: string): Promise<readonly string[]> {
    const ids = await this.list();
    return ids.includes(id) ? this.save(ids.filter((x) => x !== id)) : ids;
  }

  private async save(ids: string[]): Promise<readonly string[]> {
    this.ids = ids;
    const text = serializeExcludedApps(ids);
    // One write at a time, in order, so the last list is the one that stays.
    this.writing = this.writing.catch(() => undefined).then(() => writeFileAtomic(this.file, text, 0o600));
    await this.writing;
    return this.ids;
  }
}
