// Gives back the memory the helper's start-up grew and no longer needs, in three parts:
// - Loading and compiling the modules has V8 grow its young generation (to 16 MB on Node 20, 32
//   MB on Node 24) and nothing shrinks it while the helper idles: V8 shrinks it only in a garbage
//   collection that aims to reduce memory, and an idle helper allocates too little to start one.
//   One such collection when start-up is over does it; under load the young generation grows
//   again as V8 sees fit.
// - The C heap keeps what start-up and a connect freed (V8's compiler zones, buffers of spawned
//   processes): glibc's malloc_trim hands those pages back. Measured on an idle connected
//   `umbrad serve` of the package: 35 -> 27 MB of anonymous memory.
// - Start-up reads ~35 MB of the Node binary (the module loader, the snapshot, ICU), and those
//   pages stay resident though an idle or running helper uses a fraction of them: the addon
//   unmaps the code and constants of the binary and its libraries (MADV_DONTNEED: they stay in
//   the page cache, so what is used again comes back on its next touch without a read) and asks
//   the kernel to reclaim any other read-only file pages (MADV_PAGEOUT). Measured on Node 24:
//   RSS 44 -> 25 MB for an empty process.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNative, type NativeAddon } from './native.js';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

let gc: Gc | undefined;

/**
 * Where the collection is measured to shrink the young generation: V8 13 (Node 24, the packaged
 * runtime). Node 20's V8 ignores the flavor, and its plain full collection can grow it instead.
 */
export const SHRINKS_YOUNG_GENERATION = Number(process.versions.v8.split('.')[0]) >= 13;

/** The addon's entries for the other parts (helper/native/src/process.cc), both on libuv's thread pool. */
export interface PageOutAddon {
  /** Hands back the process's read-only file mappings (process.cc); the bytes asked for (0: nothing applied). */
  pageOutFileMappings(): Promise<number>;
  /** malloc_trim(0); whether any memory went back (false without glibc). Absent in an older addon. */
  trimMalloc?(): Promise<boolean>;
}

/** What releaseStartupMemory() did. */
export interface Released {
  /** Whether the memory-reducing collection ran (only where SHRINKS_YOUNG_GENERATION). */
  collected: boolean;
  /** Whether the C heap gave free pages back. */
  trimmed: boolean;
  /** Bytes of read-only file mappings the kernel was asked to reclaim (0: not possible here). */
  pagedOut: number;
}

/**
 * A full, memory-reducing collection ("last-resort": V8 shrinks the young generation in it),
 * which blocks for tens of ms (~50 in a helper), then the trim of the C heap (after the
 * collection, which frees buffers into it) and the page-out of start-up's file pages, off the
 * main thread. Call it once start-up is over, off the first packets' path. Each part is best
 * effort.
 */
export async function releaseStartupMemory(addon?: PageOutAddon, { collection = true }: { collection?: boolean } = {}): Promise<Released> {
  const collected = collection && collect();
  const a = nativeParts(addon);
  const [trimmed, pagedOut] = await Promise.all([bestEffort(() => a?.trimMalloc?.(), false), bestEffort(() => a?.pageOutFileMappings?.(), 0)]);
  return { collected, trimmed: trimmed === true, pagedOut: typeof pagedOut === 'number' ? pagedOut : 0 };
}

function collect(): boolean {
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

function nativeParts(addon?: PageOutAddon): Partial<PageOutAddon> | undefined {
  try {
    return addon ?? (loadNative() as NativeAddon & Partial<PageOutAddon>);
  } catch {
    return undefined;
  }
}

/** What `part` resolves to; `otherwise` when it is missing, throws or rejects. */
async function bestEffort<T>(part: () => Promise<T> | undefined, otherwise: T): Promise<T> {
  try {
    return (await part()) ?? otherwise;
  } catch {
    return otherwise;
  }
}

/** After a start-up's first packets: the collection blocks ~50 ms, which they should not wait for. */
const RELEASE_DELAY_MS = 500;
/**
 * Once a start's after-work is over (JIT compiles, the app's first status calls), which brings
 * back ~7 MB of the binary's pages an idle daemon does not touch again. Only the off-thread parts
 * then: the main thread never waits, and a page used again is a minor fault, not a read.
 */
const SETTLED_DELAY_MS = 20_000;

/** releaseStartupMemory() RELEASE_DELAY_MS from now and, without the collection, SETTLED_DELAY_MS from now; the timers do not keep the process alive. */
export function releaseStartupMemorySoon(): void {
  setTimeout(() => void releaseStartupMemory(), RELEASE_DELAY_MS).unref();
  setTimeout(() => void releaseStartupMemory(undefined, { collection: false }), SETTLED_DELAY_MS).unref();
}

/** The release a running helper's connects are waiting for, at most one. */
let pending: NodeJS.Timeout | undefined;

/**
 * After a connect of a running helper (the daemon's): the whole release once it has stayed
 * SETTLED_DELAY_MS with no newer connect. Each part costs the next connect: the collection throws
 * away what V8 compiled for it, the page-out the pages it touched. In the package a connect right
 * after another took 27–40 ms to its first packet with both done 500 ms after each connect, 17–22
 * with the page-out alone, 12–14 with neither, so a user switching servers in a row pays neither;
 * one long after still starts colder. The timer does not keep the process alive.
 */
export function releaseConnectMemorySoon(release: typeof releaseStartupMemory = releaseStartupMemory): void {
  clearTimeout(pending);
  pending = setTimeout(() => {
    pending = undefined;
    void release();
  }, SETTLED_DELAY_MS).unref();
}
