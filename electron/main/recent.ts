// The locations used last (for the tray's "Recent locations"): server ids, newest first, distinct,
// at most MAX_RECENT. Kept by the app in its userData folder as JSON; it is a convenience, not
// VPN state, so a missing or unreadable file is an empty list.
import { readFile } from 'node:fs/promises';
import { ServerId } from '../../helper/ipc/schema.js';
import { writeFileAtomic } from './atomic-write.js';

export const MAX_RECENT = 5;
export const RECENT_FILE_NAME = 'recent-locations.json';

/** The list with `id` in front, without duplicates, at most `max` long. */
export function addRecent(list: readonly string[], id: string, max = MAX_RECENT): string[] {
  return [id, ...list.filter((x) => x !== id)].slice(0, max);
}

/** The ids from a parsed file; anything that is not a valid server id is dropped. */
export function parseRecent(data: unknown, max = MAX_RECENT): string[] {
  const raw = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as { servers?: unknown }).servers : undefined;
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const x of raw) {
    if (ServerId.safeParse(x).success && !out.includes(x as string)) out.push(x as string);
    if (out.length === max) break;
  }
  return out;
}

export function serializeRecent(list: readonly string[]): string {
  return `${JSON.stringify({ version: 1, servers: list }, null, 2)}\n`;
}

export class RecentStore {
  private items: string[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string, private readonly max = MAX_RECENT) {}

  /** Reads the file (once at start); an absent or broken file gives an empty list. */
  async load(): Promise<readonly string[]> {
    try {
      this.items = parseRecent(JSON.parse(await readFile(this.file, 'utf8')), this.max);
    } catch {
      this.items = [];
    }
    return this.items;
  }

  list(): readonly string[] {
    return this.items;
  }

  /** Puts `id` first and saves; resolves with the new list once it is on disk. */
  async add(id: string): Promise<readonly string[]> {
    if (this.items[0] === id) return this.items;
    this.items = addRecent(this.items, id, this.max);
    const text = serializeRecent(this.items);
    // One write at a time, in order, so the last list is the one that stays.
    this.writing = this.writing.catch(() => undefined).then(() => writeFileAtomic(this.file, text, 0o600));
    await this.writing;
    return this.items;
  }
}
