// Deterministic pseudo-random bytes for transfer tests, shared by the echo service and the probe.
// The stream is the AES-128-CTR keystream (zero IV) under key = sha256("umbra-lab-bytes:" + seed)[0..16]:
// fast (GB/s), reproducible anywhere, and independent of chunking. e2e/lab/bytes.ts implements the
// same function for TypeScript callers; keep the two in step.
import { createCipheriv, createHash } from 'node:crypto';

export const DEFAULT_SEED = 'umbra';
const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** @param {number} n @param {string} seed @returns {Generator<Buffer>} */
export function* deterministicBytes(n, seed = DEFAULT_SEED) {
  const key = createHash('sha256').update(`umbra-lab-bytes:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  let left = n;
  while (left > 0) {
    const size = Math.min(left, CHUNK);
    yield cipher.update(size === CHUNK ? ZEROS : ZEROS.subarray(0, size));
    left -= size;
  }
}

/** @param {number} n @param {string} seed @returns {string} */
export function bytesSha256(n, seed = DEFAULT_SEED) {
  const h = createHash('sha256');
  for (const chunk of deterministicBytes(n, seed)) h.update(chunk);
  return h.digest('hex');
}
