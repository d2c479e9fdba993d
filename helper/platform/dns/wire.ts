// Just enough DNS (RFC 1035, RFC 3596 for AAAA) for the helper's own queries: one query with one
// question, and responses read far enough to use them: the header, the question (to match the
// response to its query) and the answer section (A, AAAA, CNAME; other types are skipped).
// Pure: bytes in, values out. Query names are ASCII host names.
//
// Users: the active DNS leak test (helper/leakcheck, which needs only the head of a response) and
// the endpoint lookups (helper/tunnel/endpoint-lookup.ts).
import { formatIp } from '../../net/ip.js';

export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
const MAX_NAME = 253;
const MAX_LABEL = 63;
/** A name on the wire is at most 255 bytes with its length bytes (RFC 1035 3.1). */
const MAX_WIRE_NAME = 255;
/** CNAME hops followed inside one answer; real chains are 1 to 3 long. */
export const MAX_CNAME_HOPS = 8;

/** Every malformed or cut-short message and every unusable name: one named error. */
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
  const head = readHeader(msg);
  if (!head.response) throw new DnsWireError('not a response (QR bit clear)');
  const out: DnsResponseHead = { id: head.id, rcode: head.rcode, answerCount: head.anCount };
  if (head.qdCount === 0) return out;
  const q = readQuestion(msg, 12);
  return { ...out, qname: q.name, qtype: q.type };
}

/** A query's id and its one question's name (lower case, no trailing dot). Throws DnsWireError
 *  for a response, another opcode than QUERY, a question count other than 1, or a cut-short message. */
export function parseQueryHead(msg: Uint8Array): { id: number; qname: string } {
  const head = readHeader(msg);
  if (head.response) throw new DnsWireError('not a query (QR bit set)');
  if (head.opcode !== 0) throw new DnsWireError(`not a standard query (opcode ${head.opcode})`);
  if (head.qdCount !== 1) throw new DnsWireError(`a query asks one question; this one asks ${head.qdCount}`);
  return { id: head.id, qname: readQuestion(msg, 12).name };
}

interface DnsQuestion {
  /** Lower case, no trailing dot ("" for the root). */
  name: string;
  type: number;
  class: number;
}

interface DnsRecord {
  /** The owner name: lower case, no trailing dot. */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** A and AAAA: the address in canonical text. */
  address?: string;
  /** CNAME: the canonical name it points to. */
  target?: string;
}

export interface DnsResponse {
  id: number;
  opcode: number;
  /** TC: the server cut the message to fit a UDP datagram. */
  truncated: boolean;
  rcode: number;
  questions: DnsQuestion[];
  /** The answer section. Authority and additional sections are not read. */
  answers: DnsRecord[];
}

interface Header {
  id: number;
  response: boolean;
  opcode: number;
  truncated: boolean;
  rcode: number;
  qdCount: number;
  anCount: number;
}

function readHeader(msg: Uint8Array): Header {
  if (msg.length < 12) throw new DnsWireError(`a DNS message has a 12-byte header; got ${msg.length} bytes`);
  const dv = view(msg);
  const flags = dv.getUint16(2);
  return {
    id: dv.getUint16(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0x000f,
    qdCount: dv.getUint16(4),
    anCount: dv.getUint16(6),
  };
}

const view = (msg: Uint8Array) => new DataView(msg.buffer, msg.byteOffset, msg.byteLength);

/**
 * Reads the name at `offset`, following compression pointers (RFC 1035 4.1.4). Each pointer must
 * point strictly before the place it was read from, so a loop cannot be built. Returns the name
 * and the offset just after it where it started (after its first pointer, if any).
 */
export function readName(msg: Uint8Array, offset: number, what = 'a name'): { name: string; next: number } {
  const labels: string[] = [];
  let o = offset;
  let next: number | undefined;
  let wireLength = 1;
  for (;;) {
    const len = msg[o];
    if (len === undefined) throw new DnsWireError(`${what} is cut short`);
    if (len === 0) {
      next ??= o + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      const low = msg[o + 1];
      if (low === undefined) throw new DnsWireError(`${what} is cut short (in a compression pointer)`);
      const target = ((len & 0x3f) << 8) | low;
      if (target >= o) throw new DnsWireError(`${what} has a compression pointer that does not point backwards (${o} -> ${target})`);
      next ??= o + 2;
      o = target;
      continue;
    }
    if (kind !== 0) throw new DnsWireError(`${what} uses a reserved label type (0x${len.toString(16)})`);
    if (o + 1 + len > msg.length) throw new DnsWireError(`${what} is cut short`);
    wireLength += 1 + len;
    if (wireLength > MAX_WIRE_NAME) throw new DnsWireError(`${what} is longer than ${MAX_WIRE_NAME} bytes`);
    labels.push(String.fromCharCode(...msg.subarray(o + 1, o + 1 + len)).toLowerCase());
    o += 1 + len;
  }
  return { name: labels.join('.'), next };
}

function readQuestion(msg: Uint8Array, offset: number): DnsQuestion & { next: number } {
  const { name, next } = readName(msg, offset, 'the question');
  if (next + 4 > msg.length) throw new DnsWireError('the question is cut short');
  const dv = view(msg);
  return { name, type: dv.getUint16(next), class: dv.getUint16(next + 2), next: next + 4 };
}

function readRecord(msg: Uint8Array, offset: number, index: number): DnsRecord & { next: number } {
  const what = `answer ${index + 1}`;
  const { name, next } = readName(msg, offset, what);
  if (next + 10 > msg.length) throw new DnsWireError(`${what} is cut short`);
  const dv = view(msg);
  const type = dv.getUint16(next);
  const cls = dv.getUint16(next + 2);
  const ttl = dv.getUint32(next + 4);
  const rdLength = dv.getUint16(next + 8);
  const rdStart = next + 10;
  const rdEnd = rdStart + rdLength;
  if (rdEnd > msg.length) throw new DnsWireError(`${what} is cut short (its data claims ${rdLength} bytes)`);
  const rec: DnsRecord & { next: number } = { name, type, class: cls, ttl, next: rdEnd };
  if (cls !== CLASS_IN) return rec;
  if (type === TYPE_A || type === TYPE_AAAA) {
    const size = type === TYPE_A ? 4 : 16;
    if (rdLength !== size) throw new DnsWireError(`${what} is an ${type === TYPE_A ? 'A' : 'AAAA'} record of ${rdLength} bytes, not ${size}`);
    rec.address = formatIp(msg.slice(rdStart, rdEnd));
  } else if (type === TYPE_CNAME) {
    const target = readName(msg, rdStart, `the CNAME of ${what}`);
    if (target.next !== rdEnd) throw new DnsWireError(`the CNAME of ${what} does not fill its data exactly`);
    rec.target = target.name;
  }
  return rec;
}

/** Parses a response: header, questions and answers. Throws DnsWireError for anything malformed or cut short. */
export function parseResponse(msg: Uint8Array): DnsResponse {
  const head = readHeader(msg);
  if (!head.response) throw new DnsWireError('not a response (QR bit clear)');
  const questions: DnsQuestion[] = [];
  let o = 12;
  for (let i = 0; i < head.qdCount; i++) {
    const q = readQuestion(msg, o);
    questions.push({ name: q.name, type: q.type, class: q.class });
    o = q.next;
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < head.anCount; i++) {
    const { next, ...rec } = readRecord(msg, o, i);
    answers.push(rec);
    o = next;
  }
  return { id: head.id, opcode: head.opcode, truncated: head.truncated, rcode: head.rcode, questions, answers };
}

/**
 * The addresses of type `qtype` the answer section gives for `qname`, following CNAMEs inside the
 * answer (a resolver puts the whole chain there). `chain` is every name visited, qname first.
 * A CNAME loop or a chain longer than MAX_CNAME_HOPS throws DnsWireError.
 */
export function answerAddresses(res: DnsResponse, qname: string, qtype: number): { addresses: string[]; chain: string[] } {
  const inClass = res.answers.filter((r) => r.class === CLASS_IN);
  let name = normalizeAnswerName(qname);
  const chain = [name];
  for (;;) {
    const alias = inClass.find((r) => r.type === TYPE_CNAME && r.name === name && r.target !== undefined);
    if (!alias) break;
    name = alias.target!;
    if (chain.includes(name)) throw new DnsWireError(`the answer's CNAMEs loop (${[...chain, name].join(' -> ')})`);
    chain.push(name);
    if (chain.length - 1 > MAX_CNAME_HOPS) throw new DnsWireError(`the answer's CNAME chain is longer than ${MAX_CNAME_HOPS}`);
  }
  const addresses = inClass.filter((r) => r.type === qtype && r.name === name && r.address !== undefined).map((r) => r.address!);
  return { addresses, chain };
}

const normalizeAnswerName = (n: string): string => n.toLowerCase().replace(/\.$/, '');

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
export const rcodeName = (rcode: number): string => RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
export const RCODE_NXDOMAIN = 3;
