// Cookie reply (§5.4.7): type(1) reserved(3) receiver(4) nonce(24) cookie(16+16) = 64 bytes.
import { readU32LE, writeU32LE } from '../bytes.js';
import { MessageLengthError } from './errors.js';
import { MessageType } from './types.js';

export const COOKIE_REPLY_SIZE = 64;

export interface CookieReply {
  receiver: number;
  nonce: Uint8Array; // 24
  encryptedCookie: Uint8Array; // 32
}

export function parseCookieReply(d: Uint8Array): CookieReply {
  if (d.length !== COOKIE_REPLY_SIZE) throw new MessageLengthError('cookie reply', String(COOKIE_REPLY_SIZE), d.length);
  return { receiver: readU32LE(d, 4), nonce: d.subarray(8, 32), encryptedCookie: d.subarray(32, 64) };
}

export function serializeCookieReply(m: CookieReply): Uint8Array {
  const d = new Uint8Array(COOKIE_REPLY_SIZE);
  d[0] = MessageType.CookieReply;
  writeU32LE(d, 4, m.receiver);
  d.set(m.nonce, 8);
  d.set(m.encryptedCookie, 32);
  return d;
}
