// Handshake initiation (§5.4.2): type(1) reserved(3) sender(4) ephemeral(32) static(32+16)
// timestamp(12+16) mac1(16) mac2(16) = 148 bytes.
import { readU32LE, writeU32LE } from '../bytes.js';
import { MessageLengthError } from './errors.js';
import { MessageType } from './types.js';

export const INITIATION_SIZE = 148;

export interface HandshakeInitiation {
  sender: number;
  ephemeral: Uint8Array; // 32
  encryptedStatic: Uint8Array; // 48
  encryptedTimestamp: Uint8Array; // 28
  mac1: Uint8Array;
  mac2: Uint8Array;
}

export function parseInitiation(d: Uint8Array): HandshakeInitiation {
  if (d.length !== INITIATION_SIZE) throw new MessageLengthError('handshake initiation', String(INITIATION_SIZE), d.length);
  return {
    sender: readU32LE(d, 4),
    ephemeral: d.subarray(8, 40),
    encryptedStatic: d.subarray(40, 88),
    encryptedTimestamp: d.subarray(88, 116),
    mac1: d.subarray(116, 132),
    mac2: d.subarray(132, 148),
  };
}

/** Serializes everything but the MACs, which are added over the finished bytes. */
export function serializeInitiation(m: Omit<HandshakeInitiation, 'mac1' | 'mac2'>): Uint8Array {
  const d = new Uint8Array(INITIATION_SIZE);
  d[0] = MessageType.HandshakeInitiation;
  writeU32LE(d, 4, m.sender);
  d.set(m.ephemeral, 8);
  d.set(m.encryptedStatic, 40);
  d.set(m.encryptedTimestamp, 88);
  return d;
}
