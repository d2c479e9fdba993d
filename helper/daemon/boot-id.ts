// Which boot the helper last started in, so that "kill switch on boot" is applied by the helper
// at its first start after a reboot (even when the early-boot unit did not run) and not again
// after the user lifted it within the same boot.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/fs/atomic-file.js';

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
export const LAST_BOOT_FILE = 'last-boot-id';

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this start is the first since the machine booted; `record()` (once the start's firewall
 * is in place) remembers this boot. A machine that cannot say which boot it is in counts as a new
 * boot: the safe side, the block applies.
 */
export async function readBoot(stateDir: string, bootIdPath = BOOT_ID_PATH): Promise<{ newBoot: boolean; record(): Promise<void> }> {
  const now = await readTrimmed(bootIdPath);
  const last = await readTrimmed(join(stateDir, LAST_BOOT_FILE));
  const newBoot = now === undefined || now !== last;
  return {
    newBoot,
    record: async () => {
      if (now !== undefined && newBoot) await writeFileAtomic(join(stateDir, LAST_BOOT_FILE), `${now}\n`, { mode: 0o600 });
    },
  };
}
