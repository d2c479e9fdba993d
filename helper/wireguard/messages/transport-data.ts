// Transport data (§5.4.6): type(1) reserved(3) receiver(4) counter(8, LE) then the encrypted,
// zero-padded packet with its 16-byte tag. At least 32 bytes (a keepalive: empty payload).
import { readCounterLE, readU32LE, writeCounterLE, writeU32LE } from '../bytes.js';
import { AEAD_TAG_LENGTH } from '../crypto/aead.js';
import { MessageLengthError } from './errors.js';
import { MessageType } from './types.js';

export const TRANSPORT_HEADER_SIZE = 16;
/** Where the 64-bit counter (the AEAD's nonce) sits in the header. */
export const TRANSPORT_COUNTER_OFFSET = 8;
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + AEAD_TAG_LENGTH;

export interface TransportHeader {
  receiver: number;
  /** -1 when the counter is beyond what this implementation accepts (see MAX_COUNTER). */
  counter: number;
}

export function parseTransportHeader(d: Uint8Array): TransportHeader {
  if (d.length < TRANSPORT_MIN_SIZE) throw new MessageLengthError('transport data', `at least ${TRANSPORT_MIN_SIZE}`, d.length);
  return { receiver: readU32LE(d, 4), counter: readCounterLE(d, TRANSPORT_COUNTER_OFFSET) };
}

/** Writes the header into a buffer that will hold the sealed payload after it. */
export function writeTransportHeader(d: Uint8Array, receiver: number, counter: number): void {
  d[0] = MessageType.TransportData;
  d[1] = 0; d[2] = 0; d[3] = 0;
  writeU32LE(d, 4, receiver);
  writeCounterLE(d, TRANSPORT_COUNTER_OFFSET, counter);
}

/** Size of the message carrying a packet of `length` bytes, padded to 16 but not past the MTU. */
export function transportSize(length: number, mtu: number): number {
  let padded = length === 0 ? 0 : Math.ceil(length / 16) * 16;
  if (padded > mtu) padded = Math.max(length, mtu);
  return TRANSPORT_HEADER_SIZE + padded + AEAD_TAG_LENGTH;
}
