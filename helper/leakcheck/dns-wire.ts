// Just enough DNS (RFC 1035) for the active leak test: one query with one question, and the header
// and question of the answer (to match it to the query and read its rcode). Pure: bytes in, bytes
// out. Names are ASCII host names (the test makes them itself: random labels under a zone).

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
const MAX_NAME = 253;
const MAX_LABEL = 63;

export class DnsWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsWireError';
  }
}

/** Lower case, no trailing dot; throws DnsWireError unless it is a host name of at most 253 characters. */
export function normalizeName(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.length === 0 || n.length > MAX_NAME) throw new DnsWireError(`"${name}" is not a usable DNS name (1 to ${MAX_NAME} characters)`);
  for (const label of n.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL || !/^[a-z0-9_-]+$/.test(label)) {
      throw new DnsWireError(`"${name}" is not a usable DNS name (label "${label}")`);
    }
  }
  return n;
}

/** A standard query (RD set) for `name`, type `type`, with the given 16-bit id. */
export function encodeQuery(id: number, name: string, type = TYPE_A): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError(`a DNS id is 0..65535, not ${id}`);
  const labels = normalizeName(name).split('.');
  const qnameLen = labels.reduce((n, l) => n + 1 + l.length, 0) + 1;
  const out = new Uint8Array(12 + qnameLen + 4);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, id);
  dv.setUint16(2, 0x0100); // QR=0, OPCODE=0, RD=1
  dv.setUint16(4, 1); // QDCOUNT
  let o = 12;
  for (const l of labels) {
    out[o++] = l.length;
    for (let i = 0; i < l.length; i++) out[o++] = l.charCodeAt(i);
  }
  out[o++] = 0;
  dv.setUint16(o, type);
  dv.setUint16(o + 2, CLASS_IN);
  return out;
}

export interface DnsResponseHead {
  id: number;
  rcode: number;
  answerCount: number;
  /** The first question's name (lower case, no trailing dot), when there is one. */
  qname?: string;
  qtype?: number;
}

/** Reads a response's header and first question. Throws DnsWireError when it is not a response or is cut short. */
export function parseResponseHead(msg: Uint8Array): DnsResponseHead {
  if (msg.length < 12) throw new DnsWireError(`a DNS message has a 12-byte header; got ${msg.length} bytes`);
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = dv.getUint16(2);
  if ((flags & 0x8000) === 0) throw new DnsWireError('not a response (QR bit clear)');
  const head: DnsResponseHead = { id: dv.getUint16(0), rcode: flags & 0x000f, answerCount: dv.getUint16(6) };
  if (dv.getUint16(4) === 0) return head;
  const labels: string[] = [];
  let o = 12;
  for (;;) {
    const len = msg[o];
    if (len === undefined) throw new DnsWireError('the question is cut short');
    if (len === 0) {
      o++;
      break;
    }
    // A question name never needs compression (it is the first name in the message).
    if (len > MAX_LABEL) throw new DnsWireError(`bad label length ${len} in the question`);
    if (o + 1 + len > msg.length) throw new DnsWireError('the question is cut short');
    labels.push(String.fromCharCode(...msg.subarray(o + 1, o + 1 + len)).toLowerCase());
    o += 1 + len;
  }
  if (o + 4 > msg.length) throw new DnsWireError('the question is cut short');
  return { ...head, qname: labels.join('.'), qtype: dv.getUint16(o) };
}

export const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
export const rcodeName = (rcode: number): string => RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
