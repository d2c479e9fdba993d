// mac1 and mac2 (§5.4.4): every handshake message ends with two MACs. mac1 proves the sender
// knows the receiver's public key; mac2 proves it received a cookie from the receiver lately.
import { LABEL_COOKIE, LABEL_MAC1 } from '../constants.js';
import { constantTimeEqual, utf8 } from '../bytes.js';
import { hash, mac } from '../crypto/primitives.js';
import { MAC_LENGTH } from '../messages/types.js';

const MAC1_LABEL = utf8(LABEL_MAC1);
const COOKIE_LABEL = utf8(LABEL_COOKIE);

/** The key for mac1 over messages sent to the holder of `publicKey`. */
export const mac1KeyFor = (publicKey: Uint8Array): Uint8Array => hash(MAC1_LABEL, publicKey);
/** The key that encrypts cookies sent by the holder of `publicKey`. */
export const cookieKeyFor = (publicKey: Uint8Array): Uint8Array => hash(COOKIE_LABEL, publicKey);

/** Offset of mac1 in a handshake message (mac1 then mac2 close every handshake message). */
export const mac1Offset = (msg: Uint8Array): number => msg.length - 2 * MAC_LENGTH;
export const mac2Offset = (msg: Uint8Array): number => msg.length - MAC_LENGTH;

export function computeMac1(mac1Key: Uint8Array, msg: Uint8Array): Uint8Array {
  return mac(mac1Key, msg.subarray(0, mac1Offset(msg)));
}

export function computeMac2(cookie: Uint8Array, msg: Uint8Array): Uint8Array {
  return mac(cookie, msg.subarray(0, mac2Offset(msg)));
}

export function hasValidMac1(mac1Key: Uint8Array, msg: Uint8Array): boolean {
  return constantTimeEqual(computeMac1(mac1Key, msg), msg.subarray(mac1Offset(msg), mac2Offset(msg)));
}
