// The data path's transport crypto, a batch at a time: seals and opens are written down as jobs
// and done in one call into the addon (aeadBatch), so a packet costs no call of its own into
// native code, only a few numbers in a table. The protocol engine still decides every seal and
// open (keys, counters, the replay window); this only changes when the bytes are computed.
//
// A seal is deferred: the datagram's bytes are right once run() has returned, which the UDP
// socket calls before anything leaves (runBeforeFlush), so the engine's plaintext and the
// socket's send buffer must stay as they are until then: a TUN batch's packets do, until its
// callback (and its microtasks) end. An open needs its answer, so the receive path queues a
// batch's opens and runs them before handing the datagrams to the engine (receive-batch.ts).
import { loadNative } from '../platform/native.js';
import { AEAD_TAG_LENGTH, type Aead } from '../wireguard/crypto/aead.js';

export interface AeadBatchAddon {
  aeadBatch(jobs: Int32Array, count: number, keys: Uint8Array, buffers: readonly Uint8Array[], results: Uint8Array): number;
}

/** Jobs per run; past this a seal is done at once and an open is left to the engine. */
export const MAX_JOBS = 512;
const JOB = 10; // the ints of one job (see aeadBatch in helper/native/src/aead.cc)
const SEAL = 0;
const OPEN = 1;
const TWO32 = 0x1_0000_0000;

export class AeadBatch {
  /** For the engine: transport seals (no AD) wait for run(); the rest is done at once. */
  readonly aead: Aead;
  private readonly jobs = new Int32Array(MAX_JOBS * JOB);
  private readonly keys = new Uint8Array(MAX_JOBS * 32);
  private readonly results = new Uint8Array(MAX_JOBS);
  private count = 0;
  private keyCount = 0;
  private lastKey: Uint8Array | undefined;
  // The memory this run's jobs point into: whole-buffer views, found again by their ArrayBuffer.
  private readonly buffers: Uint8Array[] = [];
  private readonly backing: ArrayBufferLike[] = [];

  constructor(
    private readonly native: AeadBatchAddon,
    private readonly direct: Aead,
  ) {
    this.aead = {
      name: direct.name,
      seal: (key, counter, plaintext, paddedLength, ad, out, outOffset) => {
        if (ad !== undefined || !this.queue(SEAL, key, counter, plaintext, 0, plaintext.length, paddedLength, out, outOffset)) {
          direct.seal(key, counter, plaintext, paddedLength, ad, out, outOffset);
        }
      },
      open: (key, counter, sealed, ad) => direct.open(key, counter, sealed, ad),
      ...(direct.openInPlace ? { openInPlace: direct.openInPlace.bind(direct) } : {}),
    };
  }

  /** Drops the queued jobs and wipes the copies of their keys (the tunnel stops). */
  discard(): void {
    this.count = 0;
    this.keys.fill(0, 0, this.keyCount * 32);
    this.keyCount = 0;
    this.lastKey = undefined;
    this.buffers.length = 0;
    this.backing.length = 0;
  }

  /** Jobs waiting for run(). */
  get pending(): number {
    return this.count;
  }

  /**
   * Queues opening the ciphertext||tag that fills `bytes` from `start` on, over itself; false
   * when the table is full (the caller then opens it some other way). Its answer comes from the
   * next run().
   */
  queueOpen(key: Uint8Array, counter: number, bytes: Uint8Array, start: number): boolean {
    const length = bytes.length - start;
    if (length < AEAD_TAG_LENGTH || start < 0) return false;
    return this.queue(OPEN, key, counter, bytes, start, length, 0, bytes, start);
  }

  /**
   * Does every queued job. For the opens, in the order they were queued, writes 1 (authentic: the
   * plaintext is in place) or 0 into `authentic`, which must have room for them. The copies of
   * the keys are wiped.
   */
  run(authentic?: Uint8Array): void {
    const n = this.count;
    if (n === 0) return;
    try {
      this.native.aeadBatch(this.jobs, n, this.keys, this.buffers, this.results);
    } finally {
      this.discard();
    }
    let opens = 0;
    for (let j = 0; j < n; j++) {
      if (this.jobs[j * JOB] === OPEN) {
        if (authentic) authentic[opens] = this.results[j]!;
        opens++;
      } else if (this.results[j] !== 1) {
        throw new Error('OpenSSL ChaCha20-Poly1305 encryption failed');
      }
    }
  }

  private queue(op: number, key: Uint8Array, counter: number, src: Uint8Array, srcStart: number, srcLength: number, padded: number, dst: Uint8Array, dstOffset: number): boolean {
    const j = this.count;
    if (j === MAX_JOBS || key.length !== 32) return false;
    // What the direct call would refuse is left to it, so the caller hears of it at once.
    if (op === SEAL && (padded < srcLength || dstOffset + padded + AEAD_TAG_LENGTH > dst.length)) return false;
    if (key !== this.lastKey) {
      // A copy: the engine may wipe a retired key before the run.
      this.keys.set(key, this.keyCount * 32);
      this.keyCount++;
      this.lastKey = key;
    }
    const o = j * JOB;
    const jobs = this.jobs;
    jobs[o] = op;
    jobs[o + 1] = this.keyCount - 1;
    jobs[o + 2] = counter >>> 0;
    jobs[o + 3] = Math.floor(counter / TWO32);
    // An empty plaintext (a keepalive) needs no memory of its own: point it at the output.
    const empty = srcLength === 0;
    jobs[o + 4] = this.bufferOf(empty ? dst : src);
    jobs[o + 5] = empty ? dst.byteOffset + dstOffset : src.byteOffset + srcStart;
    jobs[o + 6] = srcLength;
    jobs[o + 7] = padded;
    jobs[o + 8] = this.bufferOf(dst);
    jobs[o + 9] = dst.byteOffset + dstOffset;
    this.count = j + 1;
    return true;
  }

  private bufferOf(view: Uint8Array): number {
    const ab = view.buffer;
    const backing = this.backing;
    for (let i = backing.length - 1; i >= 0; i--) if (backing[i] === ab) return i;
    backing.push(ab);
    this.buffers.push(new Uint8Array(ab));
    return backing.length - 1;
  }
}

/** The addon's aeadBatch, or undefined where the addon is missing or predates it. */
export function loadAeadBatchAddon(): AeadBatchAddon | undefined {
  try {
    const n = loadNative() as Partial<AeadBatchAddon>;
    return typeof n.aeadBatch === 'function' ? (n as AeadBatchAddon) : undefined;
  } catch {
    return undefined;
  }
}
