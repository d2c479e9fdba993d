// What the helper does with the firewall it finds when it starts (DESIGN.md, "Helper start"):
// resume the connection the user wanted (its block replaces the one found, with no gap), hold a
// block while disconnected, or start clean. Pure.
import type { BlockHold } from '../ipc/schema.js';
import type { KernelKind } from './firewall-owner.js';

export interface StartFacts {
  /** The user wanted to be connected to a server that still exists. */
  resume: boolean;
  killSwitchOnBoot: boolean;
  /** This is the helper's first start since the machine booted. */
  newBoot: boolean;
  /** What the kernel holds now. */
  kernel: KernelKind;
  /** state.json or settings.json could not be read (set aside; defaults in their place). */
  stateUnreadable: boolean;
}

export type StartPlan = { resume: true } | { resume: false; hold?: BlockHold };

export function planStart(f: StartFacts): StartPlan {
  if (f.resume) return { resume: true };
  // Whether the user wanted a connection is unknown: a block that is there stays until they say.
  if (f.stateUnreadable && f.kernel === 'block') return { resume: false, hold: 'unreadable-state' };
  // The boot block: applied by the helper itself when the early-boot unit did not load it, and
  // kept when it did (or after a crash while it held). A restart within the boot after the user
  // lifted it does not bring it back.
  if (f.killSwitchOnBoot && (f.newBoot || f.kernel === 'block')) return { resume: false, hold: 'boot' };
  return { resume: false };
}
