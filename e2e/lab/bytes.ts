// The lab's deterministic transfer payload, for TypeScript callers (tests, the benchmark).
// Same algorithm as services/bytes.mjs (which the echo service and the probe use): the AES-128-CTR
// keystream, zero IV, key = sha256("umbra-lab-bytes:" + seed)[0..16]. Keep the two in step.
import { createCipheriv, createHash } from 'node:crypto';

const DEFAULT_SEED = 'umbra';
const CHUNK = 64 * 1024;

function* deterministicBytes(n: number, seed: string = DEFAULT_SEED): Generator<Buffer> {
  const key = createHash('sha256').update(`umbra-lab-bytes:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = n; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
}

/** sha256 (hex) of the first n bytes that /bytes/<n>?seed=<seed> serves. */
export function bytesSha256(n: number, seed: string = DEFAULT_SEED): string {
  const h = createHash('sha256');
  for (const chunk of deterministicBytes(n, seed)) h.update(chunk);
  return h.digest('hex');
}
