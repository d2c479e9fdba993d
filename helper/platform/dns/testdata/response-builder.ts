// Test-only: DNS responses built by hand, byte by byte (independent of wire.ts's encoder), for the
// parser's tests and for fake DNS servers in the endpoint lookup tests.
import { parseIp } from '../../../net/ip.js';

type WireName = string | { labels: string[]; pointer: number } | { pointer: number };

export interface BuiltRecord {
  /** The owner: a name, or a compression pointer (with labels before it). */
  name: WireName;
  type: number;
  cls?: number;
  ttl?: number;
  /** Raw rdata; or use address/target. */
  data?: Uint8Array;
  address?: string;
  target?: WireName;
}

export interface BuiltResponse {
  id: number;
  rcode?: number;
  truncated?: boolean;
  /** Defaults to a response (QR=1); false builds a query-looking message. */
  response?: boolean;
  opcode?: number;
  question?: { name: string; type: number; cls?: number };
  answers?: BuiltRecord[];
  /** Overrides ANCOUNT (to claim more answers than there are). */
  answerCount?: number;
}

function nameBytes(name: WireName): number[] {
  const out: number[] = [];
  const labels = typeof name === 'string' ? name.replace(/\.$/, '').split('.').filter(Boolean) : 'labels' in name ? name.labels : [];
  for (const l of labels) out.push(l.length, ...Buffer.from(l, 'latin1'));
  if (typeof name !== 'string') out.push(0xc0 | (name.pointer >> 8), name.pointer & 0xff);
  else out.push(0);
  return out;
}

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** The offset of the question name in every message built here (right after the header). */
export const QNAME_OFFSET = 12;

export function buildResponse(r: BuiltResponse): Uint8Array {
  const answers = r.answers ?? [];
  const flags = ((r.response ?? true) ? 0x8000 : 0) | ((r.opcode ?? 0) << 11) | (r.truncated ? 0x0200 : 0) | 0x0100 | 0x0080 | (r.rcode ?? 0);
  const out: number[] = [...u16(r.id), ...u16(flags), ...u16(r.question ? 1 : 0), ...u16(r.answerCount ?? answers.length), 0, 0, 0, 0];
  if (r.question) out.push(...nameBytes(r.question.name), ...u16(r.question.type), ...u16(r.question.cls ?? 1));
  for (const a of answers) {
    let data: number[];
    if (a.data) data = [...a.data];
    else if (a.address) data = [...parseIp(a.address)!.bytes];
    else if (a.target !== undefined) data = nameBytes(a.target);
    else data = [];
    out.push(...nameBytes(a.name), ...u16(a.type), ...u16(a.cls ?? 1), ...u32(a.ttl ?? 60), ...u16(data.length), ...data);
  }
  return Uint8Array.from(out);
}

/** Reads the id, qname and qtype of a query (what a fake server needs to answer it). */
export function readQuery(msg: Uint8Array): { id: number; name: string; type: number } {
  const labels: string[] = [];
  let o = 12;
  while (msg[o]! !== 0) {
    const len = msg[o]!;
    labels.push(Buffer.from(msg.subarray(o + 1, o + 1 + len)).toString('latin1'));
    o += 1 + len;
  }
  return { id: (msg[0]! << 8) | msg[1]!, name: labels.join('.'), type: (msg[o + 1]! << 8) | msg[o + 2]! };
}
