// Handshake response (§5.4.3): type(1) reserved(3) sender(4) receiver(4) ephemeral(32)
// empty(0+16) mac1(16) mac2(16) = 92 bytes.
import { readU32LE, writeU32LE } from '../bytes.js';
import { MessageLengthError } from './errors.js';
import { MessageType } from './types.js';

export const RESPONSE_SIZE = 92;

export interface HandshakeResponse {
  sender: number;
  receiver: number;
  ephemeral: Uint8Array;
  encryptedNothing: Uint8Array; // 16
  mac1: Uint8Array;
  mac2: Uint8Array;
}

export function parseResponse(d: Uint8Array): HandshakeResponse {
  if (d.length !== RESPONSE_SIZE) throw new MessageLengthError('handshake response', String(RESPONSE_SIZE), d.length);
  return {
    sender: readU32LE(d, 4),
    receiver: readU32LE(d, 8),
    ephemeral: d.subarray(12, 44),
    encryptedNothing: d.subarray(44, 60),
    mac1: d.subarray(60, 76),
    mac2: d.subarray(76, 92),
  };
}

export function serializeResponse(m: Omit<HandshakeResponse, 'mac1' | 'mac2'>): Uint8Array {
  const d = new Uint8Array(RESPONSE_SIZE);
  d[0] = MessageType.HandshakeResponse;
  writeU32LE(d, 4, m.sender);
  writeU32LE(d, 8, m.receiver);
  d.set(m.ephemeral, 12);
  d.set(m.encryptedNothing, 44);
  return d;
}
