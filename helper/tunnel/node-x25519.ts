// X25519 on node:crypto (OpenSSL's, or BoringSSL's under Electron): the DH and public keys of the
// handshake without noble's base-point table, which costs a cold start tens of milliseconds.
// Raw 32-byte keys go in and out through the fixed DER wrappers of RFC 8410 (PKCS#8 for the
// private key, SPKI for the public one). Cross-checked against noble in the tests.
import { createHash, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual, type KeyObject } from 'node:crypto';
import { isZero } from '../wireguard/bytes.js';
import { nobleCurve, type Curve25519 } from '../wireguard/crypto/primitives.js';

// id-X25519 (1.3.101.110): the DER before the 32 key bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * Keys parsed already, by the array that holds them. OpenSSL 3 takes most of a millisecond to
 * decode a PKCS#8 key (finding its decoder, not the curve), and a connect uses each of its two
 * private keys two or three times (the static one: its public key, the static-static DH, the
 * response; the ephemeral one: its public key, es, ee). An entry counts only while the array still
 * holds the bytes it was parsed from (it keeps their digest, not them), so an array that was
 * wiped or refilled is parsed anew; it goes when the array does.
 */
const parsedPrivate = new WeakMap<Uint8Array, { digest: Buffer; key: KeyObject }>();
const parsedPublic = new WeakMap<Uint8Array, { digest: Buffer; key: KeyObject }>();

function parsedOnce(cache: typeof parsedPrivate, raw: Uint8Array, parse: () => KeyObject): KeyObject {
  const digest = createHash('sha256').update(raw).digest();
  const hit = cache.get(raw);
  if (hit && timingSafeEqual(hit.digest, digest)) return hit.key;
  const key = parse();
  cache.set(raw, { digest, key });
  return key;
}

/** The private key as a KeyObject; the DER copy made for it is wiped at once (OpenSSL clears its own copy when it frees it). */
function privateKeyObject(raw: Uint8Array): KeyObject {
  return parsedOnce(parsedPrivate, raw, () => {
    const der = Buffer.concat([PKCS8_PREFIX, raw]);
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
  });
}
const publicKeyObject = (raw: Uint8Array): KeyObject => parsedOnce(parsedPublic, raw, () => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }));

export const nodeCurve: Curve25519 = {
  name: 'node:crypto',
  publicKeyOf(privateKey) {
    const spki = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  },
  dh(privateKey, publicKey) {
    try {
      const secret = diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) });
      const shared = new Uint8Array(secret);
      secret.fill(0);
      return shared.length === 32 && !isZero(shared) ? shared : null;
    } catch {
      // OpenSSL refuses to derive an all-zero secret (a low-order point): the same answer as noble's.
      return null;
    }
  },
};

// RFC 7748 §6.1: Alice's private key and its public key, the known answer a backend must give.
const KAT_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const KAT_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');

let chosen: Curve25519 | undefined;
/** node:crypto's X25519 when this runtime has it and gives the known answer (checked once), else noble. */
export function systemCurve(): Curve25519 {
  if (chosen) return chosen;
  try {
    chosen = KAT_PUBLIC.equals(nodeCurve.publicKeyOf(KAT_PRIVATE)) ? nodeCurve : nobleCurve;
  } catch {
    chosen = nobleCurve;
  }
  return chosen;
}
