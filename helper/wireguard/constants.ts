// Protocol constants. Spec constants are fixed by the WireGuard whitepaper (section numbers in
// the comments) and must match every other implementation; tuning constants are ours to change.
// Times are in milliseconds.

// --- spec (whitepaper §5.4, "Protocol & Cryptography") ---
export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

// --- spec (whitepaper §6.1, "Timers & Stateless UX") ---
export const REKEY_AFTER_MESSAGES = 2 ** 60;
export const REJECT_AFTER_MESSAGES = 2 ** 64 - 2 ** 13 - 1;
export const REKEY_AFTER_TIME = 120_000;
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
export const KEEPALIVE_TIMEOUT = 10_000;
/**
 * Ours, not the whitepaper's: data sent and nothing heard back for this long, try a handshake
 * (the protocol allows an initiation at any time, at most one per REKEY_TIMEOUT). A server that
 * restarted and forgot the session is found in about this long instead of
 * KEEPALIVE_TIMEOUT + REKEY_TIMEOUT.
 */
export const QUIET_PROBE_AFTER = 2_000;
/** §6.1: a session's keys are erased after three times REJECT_AFTER_TIME without a new one. */
export const KEY_ZEROING_TIME = REJECT_AFTER_TIME * 3;
/** §6.1: the random jitter added to each handshake retransmission, up to a third of a second. */
export const REKEY_TIMEOUT_JITTER_MAX = 333;
/** §6.4/§6.5: the initiator starts a new handshake before REJECT_AFTER_TIME runs out on receipt. */
export const REKEY_ON_RECEIVE_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;
/** §5.4.7: the cookie secret changes every two minutes; a received cookie is good for as long. */
export const COOKIE_SECRET_MAX_AGE = 120_000;
export const COOKIE_MAX_AGE = 120_000 - 5_000; // minus a margin so we never send one the peer just dropped

// --- tuning (ours) ---
/**
 * Counters are kept as JS numbers, exact up to 2^53. A peer needs 2^53 packets on one key before
 * this bites; REKEY_AFTER_TIME replaces keys every two minutes long before that, and a received
 * counter above it is dropped as invalid.
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/** Sliding replay window (RFC 6479 style): bits kept, of which one word is the moving slack. */
export const REPLAY_WINDOW_WORDS = 128; // 128 * 32 = 4096 bits
/** Packets queued per peer while a handshake is under way; older ones are dropped first. */
export const MAX_QUEUED_PACKETS = 1024;
/** Handshake messages per second above which the device counts as under load (§5.3). */
export const UNDER_LOAD_HANDSHAKES_PER_SECOND = 64;
/** How long the device stays "under load" after the rate last went over the limit. */
export const UNDER_LOAD_AFTER = 1_000;
/** Handshake initiations accepted per peer endpoint address per second when under load. */
export const HANDSHAKES_PER_SOURCE_PER_SECOND = 20;
/**
 * Handshake messages a second that may cost crypto (mac1 and on), per lane (handshake-budget.ts).
 * A BLAKE2s mac1 check in JS costs tens of µs and a cookie reply about a hundred; 256 a second of
 * strangers is a few per cent of a core, and far more than a client's one server ever sends.
 */
export const STRANGER_HANDSHAKES_PER_SECOND = 256;
/** Initiations from a peer's own endpoint (a server rekeying) do not compete with strangers. */
export const PEER_HANDSHAKES_PER_SECOND = 64;
/** Responses to our pending initiation. */
export const EXPECTED_HANDSHAKES_PER_SECOND = 32;
/**
 * Cookie replies received a second (with a burst of two), each an XChaCha20-Poly1305 open. A
 * server under load answers each handshake message we send with at most one, and we send at most
 * one initiation per REKEY_TIMEOUT: a few a second is plenty, and a forged flood to an index seen
 * on the wire spends only these tokens, never those real responses need.
 */
export const RECEIVED_COOKIE_REPLIES_PER_SECOND = 8;
/** Cookie replies a second we send to strangers while under load. */
export const COOKIE_REPLIES_PER_SECOND = 64;
/** Handshake messages handled after one receive batch's transport data; later ones wait. */
export const HANDSHAKES_PER_BATCH = 8;
/** Handshake messages waiting for their turn; beyond this they are dropped as a flood. */
export const MAX_QUEUED_HANDSHAKES = 64;
/** How often at most the device reports handshake messages dropped as a flood. */
export const FLOOD_REPORT_EVERY = 5_000;
