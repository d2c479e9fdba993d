// `umbrad early-boot [--state-dir DIR]`: loads the kill-switch-on-boot ruleset if the setting left
// one (<stateDir>/boot-killswitch.nft), the same thing the umbra-early-boot unit does with nft
// directly. Exit codes: 0 loaded, or nothing to load; 1 the file could not be loaded.
import { lstat } from 'node:fs/promises';
import type { CommandRunner } from '../platform/exec.js';
import { bootRulesetPath } from '../platform/firewall/boot.js';
import { explainNftFailure } from '../platform/firewall/firewall.js';

export const EARLY_BOOT_NOTICE = 'umbra: kill switch on boot: traffic blocked until you connect or turn it off';

export async function earlyBoot(
  stateDir: string,
  run: CommandRunner,
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  const path = bootRulesetPath(stateDir);
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; // the setting is off
    err(`umbra: cannot read the kill-switch-on-boot ruleset ${path}: ${(e as Error).message}`);
    return 1;
  }
  // The file is loaded as root: only a regular file that only its owner (the helper) can write.
  if (!st.isFile() || (st.mode & 0o022) !== 0) {
    err(`umbra: not loading ${path}: it is not a regular file writable only by its owner (the helper writes it 0600); remove it, then turn "kill switch on boot" off and on again`);
    return 1;
  }
  try {
    await run.run(['nft', '-f', path]);
  } catch (e) {
    err(`umbra: could not turn on the kill switch on boot from ${path}: ${explainNftFailure(e, 'load').message}`);
    return 1;
  }
  out(EARLY_BOOT_NOTICE);
  return 0;
}
