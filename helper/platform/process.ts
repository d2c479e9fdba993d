// Process-wide protections of the helper. It holds private keys and PSKs in memory: a core file
// (the helper crashing, or `gcore`) or another process of the same uid reading /proc/<pid>/mem
// would hand them out. The unit says LimitCORE=0 too; this covers `sudo umbrad serve` and `up`.
import { loadNative, type NativeAddon } from './native.js';

export interface CoreDumpState {
  /** PR_GET_DUMPABLE after the call: 0 means no core dump and no ptrace by the same uid. */
  dumpable: number;
  /** RLIMIT_CORE's soft limit after the call, in bytes. */
  coreLimit: number;
}

/** The addon's entry for it (helper/native/src/process.cc). */
export interface ProcessAddon {
  denyCoreDumps(): CoreDumpState;
}

/**
 * prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0, checked: throws (with what the kernel says)
 * unless both hold afterwards, since the helper must not go on to load keys without them.
 */
export function denyCoreDumps(addon: ProcessAddon = loadNative() as NativeAddon & ProcessAddon): CoreDumpState {
  const state = addon.denyCoreDumps();
  if (state.dumpable !== 0 || state.coreLimit !== 0) {
    throw new Error(
      `core dumps are still possible (dumpable=${state.dumpable}, core limit=${state.coreLimit} bytes); ` +
        'the helper will not hold private keys in a process that can be dumped',
    );
  }
  return state;
}
