// WireGuard keys as text: 44 characters of standard base64 holding 32 bytes. Pure. Messages
// never repeat the text (it may be a secret, or most of one).

/** A text that is not a WireGuard key; the message says why without repeating it. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes a WireGuard key: 44 characters of standard base64 encoding exactly 32 bytes. */
export function parseKey(text: string): Uint8Array {
  const t = text.trim();
  const bad = (why: string) =>
    new KeyError(`not a valid WireGuard key: ${why}; a key is 44 characters of base64 ending in "=", as printed by \`wg genkey\` or \`wg pubkey\``);
  if (t.length !== 44) throw bad(`it has ${t.length} characters`);
  if (t[43] !== '=') throw bad('it does not end in "="');
  let acc = 0;
  let bits = 0;
  const out = new Uint8Array(32);
  let n = 0;
  for (let i = 0; i < 43; i++) {
    const v = B64.indexOf(t[i]!);
    if (v < 0) throw bad('it contains a character that is not base64');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  // 43 * 6 = 258 bits: 256 used, the last 2 must be zero in a canonical encoding.
  if ((acc & ((1 << bits) - 1)) !== 0) throw bad('its last character does not end a 32-byte value');
  return out;
}

/** Standard base64 of a key (for public keys; never log a private or preshared key). */
export function formatKey(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i += 3) {
    const a = key[i]!;
    const b = key[i + 1];
    const c = key[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    s += b === undefined ? '=' : B64[(n >> 6) & 63]!;
    s += c === undefined ? '=' : B64[n & 63]!;
  }
  return s;
}
