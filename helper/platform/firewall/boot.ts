// "Kill switch on boot": the ruleset file that the umbra-early-boot unit loads with
// `nft -f <stateDir>/boot-killswitch.nft` before any network is up (no Node needed; see
// helper/systemd/README.md). The helper writes it while the setting is on and deletes it when
// the setting goes off. The file is a complete ruleset from buildRuleset(): loading it replaces
// tables inet umbra and arp umbra atomically and touches no other table.
import { access, mkdir, unlink } from 'node:fs/promises';
import { fsyncDir, writeFileAtomic } from '../fs/atomic-file.js';
import { join } from 'node:path';
import { buildRuleset, type FirewallSpec } from './ruleset.js';

export { bootSpec } from './ruleset.js';

export const BOOT_RULESET_FILE = 'boot-killswitch.nft';

export function bootRulesetPath(stateDir: string): string {
  return join(stateDir, BOOT_RULESET_FILE);
}

/**
 * Writes <stateDir>/boot-killswitch.nft (0600) with the ruleset for `spec`: a temporary file in
 * the same directory, fsynced, renamed over the old one, then the directory fsynced, so a crash
 * or power loss leaves the old file or the new one, never a partial ruleset. Creates stateDir
 * (0700) if missing. Returns the path.
 */
export async function writeBootRuleset(stateDir: string, spec: FirewallSpec): Promise<string> {
  const text = buildRuleset(spec); // validates before anything is written
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = bootRulesetPath(stateDir);
  await writeFileAtomic(path, text);
  return path;
}

/** Deletes the boot ruleset file; no error when it is not there. */
export async function removeBootRuleset(stateDir: string): Promise<void> {
  try {
    await unlink(bootRulesetPath(stateDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await fsyncDir(stateDir).catch(() => undefined);
}

/** Whether the boot ruleset file is there (the kill switch on boot or lockdown was on when it was last synced). */
export async function bootRulesetSaved(stateDir: string): Promise<boolean> {
  return access(bootRulesetPath(stateDir)).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
}
