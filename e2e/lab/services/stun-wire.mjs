// STUN (RFC 5389) wire format, the subset the lab needs: Binding requests and success responses
// carrying XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS for RFC 3489 clients). Shared by stun-server.mjs
// and stun-probe.mjs.
import { formatIPv4, formatIPv6, ipv4Bytes, ipv6Bytes } from './dns-wire.mjs';

export const MAGIC_COOKIE = 0x2112a442;
export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const ATTR_MAPPED_ADDRESS = 0x0001;
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;

export class StunFormatError extends Error {}

/** Header and attributes of a STUN message; throws StunFormatError if it is not one. @param {Buffer} buf */
export function parseStun(buf) {
  if (buf.length < 20) throw new StunFormatError('shorter than a header');
  const type = buf.readUInt16BE(0);
  const length = buf.readUInt16BE(2);
  if ((type & 0xc000) !== 0) throw new StunFormatError('first two bits are not zero');
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) throw new StunFormatError('no magic cookie');
  if (length % 4 !== 0 || length !== buf.length - 20) throw new StunFormatError(`length ${length} does not match ${buf.length - 20}`);
  const attrs = [];
  for (let off = 20; off < buf.length; ) {
    if (off + 4 > buf.length) throw new StunFormatError('truncated attribute header');
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    if (off + 4 + l > buf.length) throw new StunFormatError('truncated attribute');
    attrs.push({ type: t, value: buf.subarray(off + 4, off + 4 + l) });
    off += 4 + l + ((4 - (l % 4)) % 4);
  }
  return { type, transactionId: buf.subarray(8, 20), attrs };
}

/** @param {Buffer} transactionId 12 bytes */
export function encodeBindingRequest(transactionId) {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(BINDING_REQUEST, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(b, 8);
  return b;
}

function addressValue(address, port, xor, transactionId) {
  const v6 = address.includes(':');
  const ip = v6 ? ipv6Bytes(address) : ipv4Bytes(address);
  const v = Buffer.alloc(4 + ip.length);
  v[1] = v6 ? 0x02 : 0x01;
  if (xor) {
    const pad = Buffer.alloc(16);
    pad.writeUInt32BE(MAGIC_COOKIE, 0);
    transactionId.copy(pad, 4);
    v.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
    for (let i = 0; i < ip.length; i++) v[4 + i] = ip[i] ^ pad[i];
  } else {
    v.writeUInt16BE(port, 2);
    ip.copy(v, 4);
  }
  return v;
}

/** A Binding success response telling the requester its address and port. */
export function encodeBindingSuccess(transactionId, address, port) {
  const attrs = [
    [ATTR_XOR_MAPPED_ADDRESS, addressValue(address, port, true, transactionId)],
    [ATTR_MAPPED_ADDRESS, addressValue(address, port, false, transactionId)],
  ].map(([t, v]) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t, 0);
    h.writeUInt16BE(v.length, 2);
    return Buffer.concat([h, v]); // both values are multiples of 4 bytes long: no padding
  });
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(BINDING_SUCCESS, 0);
  head.writeUInt16BE(body.length, 2);
  head.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(head, 8);
  return Buffer.concat([head, body]);
}

/** Decodes a (XOR-)MAPPED-ADDRESS value. @returns {{address: string, port: number}} */
export function decodeAddress(value, xor, transactionId) {
  if (value.length < 8) throw new StunFormatError('short address attribute');
  const family = value[1];
  const len = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (len === 0 || value.length < 4 + len) throw new StunFormatError(`bad address family ${family}`);
  const pad = Buffer.alloc(16);
  pad.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(pad, 4);
  const ip = Buffer.alloc(len);
  for (let i = 0; i < len; i++) ip[i] = xor ? value[4 + i] ^ pad[i] : value[4 + i];
  const port = xor ? value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16) : value.readUInt16BE(2);
  return { address: len === 4 ? formatIPv4(ip) : formatIPv6(ip), port };
}
