// Which local user is on the other end of a loopback TCP connection. TCP has no SO_PEERCRED, but
// the kernel lists every socket of this network namespace in /proc/net/tcp{,6} with its owner's
// uid: the client's socket is the row whose local end is the connection's remote end and whose
// remote end is our local end. The browser-mode host uses it to refuse other local accounts,
// which a token alone cannot (it may leak, and then works from any account).
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';

export interface Endpoint {
  address: string;
  port: number;
}

/** ESTABLISHED in the kernel's tcp_states; rows in TIME_WAIT and the like carry uid 0, no owner. */
const ESTABLISHED = '01';

/** /proc/net/tcp's hex for an IPv4 address: the 4 bytes in host (little-endian) order. */
function hexV4(address: string): string {
  const b = address.split('.').map(Number);
  return [b[3], b[2], b[1], b[0]].map((n) => n!.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** 16 bytes of an IPv6 address (with an embedded IPv4 tail allowed), or undefined. */
function bytesV6(address: string): number[] | undefined {
  let addr = address.toLowerCase();
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4) {
    if (!isIPv4(v4[2]!)) return undefined;
    const b = v4[2]!.split('.').map(Number);
    tail = b;
    addr = `${v4[1]}0:0`;
  }
  const halves = addr.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** /proc/net/tcp6's hex for an IPv6 address: four 32-bit words, each in little-endian order. */
function hexV6(address: string): string | undefined {
  const b = bytesV6(address);
  if (!b) return undefined;
  let out = '';
  for (let w = 0; w < 4; w++) for (let i = 3; i >= 0; i--) out += b[w * 4 + i]!.toString(16).padStart(2, '0');
  return out.toUpperCase();
}

/** The `ADDR:PORT` hex forms an endpoint may have in one of the two tables. */
function keys(e: Endpoint): { v4?: string; v6?: string } {
  const port = e.port.toString(16).padStart(4, '0').toUpperCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(e.address);
  const v4 = isIPv4(e.address) ? e.address : mapped?.[1];
  const v6 = hexV6(v4 ? `::ffff:${v4}` : e.address);
  return { ...(v4 ? { v4: `${hexV4(v4)}:${port}` } : {}), ...(v6 ? { v6: `${v6}:${port}` } : {}) };
}

/**
 * The uid owning the socket whose local end is `peer` and whose remote end is `us`, from the text
 * of /proc/net/tcp or /proc/net/tcp6; undefined when no established row matches. Pure.
 */
export function findPeerUid(table: string, us: Endpoint, peer: Endpoint): number | undefined {
  const u = keys(us);
  const p = keys(peer);
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10 || f[3] !== ESTABLISHED) continue;
    const local = f[1]!.toUpperCase();
    const remote = f[2]!.toUpperCase();
    const match = (local === p.v4 && remote === u.v4) || (local === p.v6 && remote === u.v6);
    if (match) return Number(f[7]);
  }
  return undefined;
}

export type ReadTable = (path: string) => Promise<string | undefined>;

const readProc: ReadTable = (path) => readFile(path, 'utf8').catch(() => undefined);

/**
 * The uid of the process that holds the other end of a loopback connection, read from this
 * namespace's /proc/net/tcp and tcp6. 'unknown': the tables exist but no row matches (the
 * client already closed); 'unsupported': no table at all (not Linux), so it cannot be checked.
 */
export async function loopbackPeerUid(us: Endpoint, peer: Endpoint, read: ReadTable = readProc): Promise<number | 'unknown' | 'unsupported'> {
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map(read));
  if (tables.every((t) => t === undefined)) return 'unsupported';
  for (const t of tables) {
    const uid = t === undefined ? undefined : findPeerUid(t, us, peer);
    if (uid !== undefined) return uid;
  }
  return 'unknown';
}
