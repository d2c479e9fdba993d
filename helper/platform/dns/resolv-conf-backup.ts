// The format of resolv.conf's backup (RESOLV_CONF_BACKUP). zod, a few MB of heap, is loaded only
// when there is a backup to check (after a crash while connected), not by every helper that starts.

export type BackupFile =
  | {
      schemaVersion: 1;
      path: string;
      existed: true;
      /** Permission bits in octal, e.g. "0644". */
      mode: string;
      /** The file's bytes, base64. */
      content: string;
      savedAt: string;
    }
  | { schemaVersion: 1; path: string; existed: false; savedAt: string };

async function schema() {
  const { z } = await import('zod');
  return z.union([
    z.strictObject({
      schemaVersion: z.literal(1),
      path: z.string(),
      existed: z.literal(true),
      mode: z.string().regex(/^0[0-7]{3,4}$/),
      content: z.base64(),
      savedAt: z.string(),
    }),
    z.strictObject({ schemaVersion: z.literal(1), path: z.string(), existed: z.literal(false), savedAt: z.string() }),
  ]);
}
let built: ReturnType<typeof schema> | undefined;

/** The backup if `parsed` (JSON.parse of the file) is one, else undefined. */
export async function checkBackup(parsed: unknown): Promise<BackupFile | undefined> {
  if (parsed === undefined) return undefined;
  const checked = (await (built ??= schema())).safeParse(parsed);
  return checked.success ? (checked.data satisfies BackupFile) : undefined;
}

/** The backup in `text` (the file's contents), or undefined when it is not JSON or not a backup. */
export async function parseBackup(text: string): Promise<BackupFile | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return checkBackup(parsed);
}
