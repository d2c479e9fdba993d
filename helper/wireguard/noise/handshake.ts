// The Noise_IKpsk2 handshake exactly as the whitepaper builds it (§5.4.2, §5.4.3, §5.4.5).
// Pure: randomness, time and identities come in as arguments; bytes and keys go out.
// Functions return null for anything that does not authenticate, never throw on bad input.
import { CONSTRUCTION, IDENTIFIER } from '../constants.js';
import { utf8, wipe } from '../bytes.js';
import type { Aead } from '../crypto/aead.js';
import { hash, kdf, nobleCurve, type Curve25519, type KeyPair } from '../crypto/primitives.js';
import { parseInitiation, serializeInitiation } from '../messages/handshake-initiation.js';
import { parseResponse, serializeResponse } from '../messages/handshake-response.js';

const EMPTY = new Uint8Array(0);
const ZERO_KEY = new Uint8Array(32);

/** C0 = HASH(CONSTRUCTION); H0 = HASH(C0 || IDENTIFIER). */
export const INITIAL_CHAINING_KEY = hash(utf8(CONSTRUCTION));
export const INITIAL_HASH = hash(INITIAL_CHAINING_KEY, utf8(IDENTIFIER));

export interface LocalIdentity {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Transport keys of a finished handshake, from our side's point of view. */
export interface SessionKeys {
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
}

/** What the initiator keeps between sending an initiation and receiving the response. */
export interface InitiatorState {
  localIndex: number;
  ephemeralPrivate: Uint8Array;
  hash: Uint8Array;
  chainingKey: Uint8Array;
}

function sealTo(aead: Aead, key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + 16);
  aead.seal(key, 0, plaintext, plaintext.length, ad, out, 0);
  return out;
}

export interface CreateInitiationArgs {
  local: LocalIdentity;
  peerPublicKey: Uint8Array;
  /** DH(local private, peer public), computed once per peer. */
  staticShared: Uint8Array;
  localIndex: number;
  ephemeral: KeyPair;
  timestamp: Uint8Array;
  aead: Aead;
  curve?: Curve25519;
}

/** Builds an initiation (without MACs) and the state to finish it with. */
export function createInitiation(a: CreateInitiationArgs): { message: Uint8Array; state: InitiatorState } | null {
  let h = hash(INITIAL_HASH, a.peerPublicKey);
  const c0 = kdf(1, INITIAL_CHAINING_KEY, a.ephemeral.publicKey)[0];
  h = hash(h, a.ephemeral.publicKey);
  const es = (a.curve ?? nobleCurve).dh(a.ephemeral.privateKey, a.peerPublicKey);
  if (!es) return null;
  const [c1, k1] = kdf(2, c0, es);
  const encryptedStatic = sealTo(a.aead, k1, a.local.publicKey, h);
  h = hash(h, encryptedStatic);
  const [c2, k2] = kdf(2, c1, a.staticShared);
  const encryptedTimestamp = sealTo(a.aead, k2, a.timestamp, h);
  h = hash(h, encryptedTimestamp);
  wipe(es, c0, c1, k1, k2);
  const message = serializeInitiation({ sender: a.localIndex, ephemeral: a.ephemeral.publicKey, encryptedStatic, encryptedTimestamp });
  return { message, state: { localIndex: a.localIndex, ephemeralPrivate: a.ephemeral.privateKey, hash: h, chainingKey: c2 } };
}

/** What a responder learns from a valid initiation. */
export interface ConsumedInitiation {
  peerPublicKey: Uint8Array;
  remoteIndex: number;
  remoteEphemeral: Uint8Array;
  timestamp: Uint8Array;
  hash: Uint8Array;
  chainingKey: Uint8Array;
}

/**
 * Opens an initiation addressed to `local`. `staticSharedFor` gives the precomputed
 * DH(local private, peer public) of a known peer, or undefined for a stranger.
 */
export function consumeInitiation(
  local: LocalIdentity,
  msg: Uint8Array,
  staticSharedFor: (peerPublicKey: Uint8Array) => Uint8Array | undefined,
  aead: Aead,
  curve: Curve25519 = nobleCurve,
): ConsumedInitiation | null {
  const m = parseInitiation(msg);
  let h = hash(INITIAL_HASH, local.publicKey);
  const c0 = kdf(1, INITIAL_CHAINING_KEY, m.ephemeral)[0];
  h = hash(h, m.ephemeral);
  const es = curve.dh(local.privateKey, m.ephemeral);
  if (!es) return null;
  const [c1, k1] = kdf(2, c0, es);
  const peerPublicKey = aead.open(k1, 0, m.encryptedStatic, h);
  wipe(es, k1, c0);
  if (!peerPublicKey) return null;
  h = hash(h, m.encryptedStatic);
  const ss = staticSharedFor(peerPublicKey);
  if (!ss) return null;
  const [c2, k2] = kdf(2, c1, ss);
  const timestamp = aead.open(k2, 0, m.encryptedTimestamp, h);
  wipe(k2, c1);
  if (!timestamp) return null;
  h = hash(h, m.encryptedTimestamp);
  return { peerPublicKey, remoteIndex: m.sender, remoteEphemeral: new Uint8Array(m.ephemeral), timestamp, hash: h, chainingKey: c2 };
}

export interface CreateResponseArgs {
  initiation: ConsumedInitiation;
  localIndex: number;
  ephemeral: KeyPair;
  presharedKey: Uint8Array | undefined;
  aead: Aead;
  curve?: Curve25519;
}

/** Builds the response (without MACs) and the responder's transport keys. */
export function createResponse(a: CreateResponseArgs): { message: Uint8Array; keys: SessionKeys } | null {
  const { initiation: i } = a;
  let c = kdf(1, i.chainingKey, a.ephemeral.publicKey)[0];
  let h = hash(i.hash, a.ephemeral.publicKey);
  const curve = a.curve ?? nobleCurve;
  const ee = curve.dh(a.ephemeral.privateKey, i.remoteEphemeral);
  const se = curve.dh(a.ephemeral.privateKey, i.peerPublicKey);
  if (!ee || !se) return null;
  c = kdf(1, c, ee)[0];
  c = kdf(1, c, se)[0];
  const [c3, tau, k] = kdf(3, c, a.presharedKey ?? ZERO_KEY);
  h = hash(h, tau);
  const encryptedNothing = sealTo(a.aead, k, EMPTY, h);
  const keys = deriveKeys(c3, false);
  wipe(ee, se, c, c3, tau, k, a.ephemeral.privateKey);
  const message = serializeResponse({ sender: a.localIndex, receiver: i.remoteIndex, ephemeral: a.ephemeral.publicKey, encryptedNothing });
  return { message, keys };
}

/** Opens the response to our initiation; the initiator's transport keys, or null. */
export function consumeResponse(
  state: InitiatorState,
  localPrivateKey: Uint8Array,
  presharedKey: Uint8Array | undefined,
  msg: Uint8Array,
  aead: Aead,
  curve: Curve25519 = nobleCurve,
): { keys: SessionKeys; remoteIndex: number } | null {
  const m = parseResponse(msg);
  if (m.receiver !== state.localIndex) return null;
  let c = kdf(1, state.chainingKey, m.ephemeral)[0];
  let h = hash(state.hash, m.ephemeral);
  const ee = curve.dh(state.ephemeralPrivate, m.ephemeral);
  const se = curve.dh(localPrivateKey, m.ephemeral);
  if (!ee || !se) return null;
  c = kdf(1, c, ee)[0];
  c = kdf(1, c, se)[0];
  const [c3, tau, k] = kdf(3, c, presharedKey ?? ZERO_KEY);
  h = hash(h, tau);
  const ok = aead.open(k, 0, m.encryptedNothing, h);
  wipe(ee, se, c, tau, k);
  if (!ok) {
    wipe(c3);
    return null;
  }
  const keys = deriveKeys(c3, true);
  wipe(c3);
  return { keys, remoteIndex: m.sender };
}

/** (T_send, T_recv) = KDF2(C, ε), swapped for the responder (§5.4.5). */
function deriveKeys(chainingKey: Uint8Array, initiator: boolean): SessionKeys {
  const [t1, t2] = kdf(2, chainingKey, EMPTY);
  return initiator ? { sendKey: t1, receiveKey: t2 } : { sendKey: t2, receiveKey: t1 };
}
