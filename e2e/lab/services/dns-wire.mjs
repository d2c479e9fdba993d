// The DNS wire format (RFC 1035 §4), only the subset the lab needs: a message with one question, and
// answers of any type (A and AAAA decoded, others kept as bytes). Shared by dns-server.mjs and
// dns-probe.mjs. Names are returned lower-case without the trailing dot ("." for the root).

export const TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, HTTPS: 65, ANY: 255 };
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
export const CLASS_IN = 1;

export class DnsFormatError extends Error {}

/** @param {number} n */
export function typeName(n) {
  const hit = Object.entries(TYPES).find(([, v]) => v === n);
  return hit ? hit[0] : `TYPE${n}`;
}

/** 'A', 'aaaa', '28' or 'TYPE28' → the number. @param {string | number} t */
export function typeNumber(t) {
  if (typeof t === 'number') return t;
  const up = t.toUpperCase();
  if (up in TYPES) return TYPES[up];
  const m = /^(?:TYPE)?(\d{1,5})$/.exec(up);
  if (m && Number(m[1]) < 65536) return Number(m[1]);
  throw new Error(`unknown DNS type ${t}`);
}

/** @param {number} rcode */
export function rcodeName(rcode) {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

/** "www.lab.test" or "www.lab.test." → wire labels. @param {string} name */
export function encodeName(name) {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length === 0 || b.length > 63) throw new Error(`bad DNS label in ${JSON.stringify(name)}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new Error(`DNS name too long: ${name}`);
  return out;
}

/**
 * Reads a (possibly compressed) name at off. Returns the name and the offset after it in the
 * original position. @param {Buffer} buf @param {number} off
 */
export function readName(buf, off) {
  const labels = [];
  let pos = off;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the message');
    const len = buf[pos];
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (++jumps > 32) throw new DnsFormatError('compression loop');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError('bad label type');
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the message');
    length += len + 1;
    if (length > 255) throw new DnsFormatError('name too long');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), next };
}

/** @param {{ id: number, name: string, type: number, rd?: boolean }} q */
export function encodeQuery(q) {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id & 0xffff, 0);
  header.writeUInt16BE(q.rd === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(q.name), tail]);
}

/**
 * Parses a message: header, questions (each with its raw bytes, to echo back) and answers.
 * Throws DnsFormatError on anything malformed. @param {Buffer} buf
 */
export function parseMessage(buf) {
  if (buf.length < 12) throw new DnsFormatError('shorter than a header');
  const flags = buf.readUInt16BE(2);
  const msg = {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    questions: [],
    answers: [],
  };
  let off = 12;
  for (let i = 0; i < msg.qdcount; i++) {
    const start = off;
    const { name, next } = readName(buf, off);
    if (next + 4 > buf.length) throw new DnsFormatError('truncated question');
    msg.questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2), raw: buf.subarray(start, next + 4) });
    off = next + 4;
  }
  for (let i = 0; i < msg.ancount; i++) {
    const { name, next } = readName(buf, off);
    if (next + 10 > buf.length) throw new DnsFormatError('truncated answer');
    const type = buf.readUInt16BE(next);
    const rdlen = buf.readUInt16BE(next + 8);
    const rdata = buf.subarray(next + 10, next + 10 + rdlen);
    if (rdata.length !== rdlen) throw new DnsFormatError('truncated rdata');
    let data;
    if (type === TYPES.A && rdlen === 4) data = formatIPv4(rdata);
    else if (type === TYPES.AAAA && rdlen === 16) data = formatIPv6(rdata);
    msg.answers.push({ name, type, class: buf.readUInt16BE(next + 2), ttl: buf.readUInt32BE(next + 4), rdata, data });
    off = next + 10 + rdlen;
  }
  return msg;
}

/**
 * A response to `query` (its id, opcode and RD bit) echoing `questionRaw` (omitted when undefined),
 * with answers { type, ttl, rdata } whose owner is the question's name (pointer to offset 12).
 * @param {{ id: number, opcode: number, rd: boolean }} query
 * @param {{ rcode: number, questionRaw?: Buffer, answers?: { type: number, ttl: number, rdata: Buffer }[] }} r
 */
export function encodeResponse(query, r) {
  const answers = r.questionRaw ? (r.answers ?? []) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  // QR, the query's opcode, AA, its RD, RA (the lab server plays a recursive resolver), rcode.
  header.writeUInt16BE(0x8000 | ((query.opcode & 0xf) << 11) | 0x0400 | (query.rd ? 0x0100 : 0) | 0x0080 | (r.rcode & 0xf), 2);
  header.writeUInt16BE(r.questionRaw ? 1 : 0, 4);
  header.writeUInt16BE(answers.length, 6);
  const parts = [header];
  if (r.questionRaw) parts.push(r.questionRaw);
  for (const a of answers) {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(a.ttl, 6);
    rr.writeUInt16BE(a.rdata.length, 10);
    parts.push(rr, a.rdata);
  }
  return Buffer.concat(parts);
}

/** @param {Buffer} b */
export function formatIPv4(b) {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lower case, longest run (≥ 2) of zero groups as "::". @param {Buffer} b */
export function formatIPv6(b) {
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** @param {string} s */
export function ipv4Bytes(s) {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`bad IPv4 address ${s}`);
  return Buffer.from(parts.map(Number));
}

/** @param {string} s */
export function ipv6Bytes(s) {
  let text = s;
  const tail = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[2]);
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    text = v4[1].endsWith('::') ? v4[1] : v4[1].slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${s}`);
  const parse = (h) => (h === '' ? [] : h.split(':').map((g) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`bad IPv6 address ${s}`);
    return parseInt(g, 16);
  }));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length - tail.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) throw new Error(`bad IPv6 address ${s}`);
  const groups = [...head, ...Array(halves.length === 2 ? fill : 0).fill(0), ...rest, ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
