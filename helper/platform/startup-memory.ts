// Gives back the memory the helper's start-up grew and no longer needs. Loading and compiling the
// modules has V8 grow its young generation (to 16 MB on Node 20, 32 MB on Node 24) and nothing
// shrinks it while the helper idles: V8 shrinks it only in a garbage collection that aims to
// reduce memory, and an idle helper allocates too little to start one. One such collection when
// start-up is over does it; under load the young generation grows again as V8 sees fit.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

let gc: Gc | undefined;

/**
 * Where the collection is measured to shrink the young generation: V8 13 (Node 24, the packaged
 * runtime). Node 20's V8 ignores the flavor, and its plain full collection can grow it instead.
 */
export const SHRINKS_YOUNG_GENERATION = Number(process.versions.v8.split('.')[0]) >= 13;

/**
 * A full, memory-reducing collection ("last-resort": V8 shrinks the young generation in it).
 * Blocks for tens of ms (~50 in a helper): call it once start-up is over, off the first packets'
 * path. Returns false where it would not help (SHRINKS_YOUNG_GENERATION) or gc() is not to be had.
 */
export function releaseStartupMemory(): boolean {
  if (!SHRINKS_YOUNG_GENERATION) return false;
  try {
    // --expose-gc after start reaches only contexts created from now on, not the main one's
    // globals: the function is taken from a throwaway context and kept here.
    if (!gc) {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    }
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    return true;
  } catch {
    return false;
  }
}

/** After a start-up's first packets: the collection blocks ~50 ms, which they should not wait for. */
const RELEASE_DELAY_MS = 500;

/** releaseStartupMemory() RELEASE_DELAY_MS from now; the timer does not keep the process alive. */
export function releaseStartupMemorySoon(): void {
  if (SHRINKS_YOUNG_GENERATION) setTimeout(releaseStartupMemory, RELEASE_DELAY_MS).unref();
}
