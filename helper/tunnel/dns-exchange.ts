// One resolver asked for one host name's addresses: an A and an AAAA query over one UDP socket
// (the caller opens it: with the helper's fwmark in production), read until the answer decides or
// the time is up. Only a datagram from the resolver's address and port, with a query's id, the
// same question and QR set, counts; everything else is ignored (a spoofer must guess a random
// 16-bit id and the socket's port, which the kernel picks at random for a bind to port 0).
import { randomInt } from 'node:crypto';
import type dgram from 'node:dgram';
import { answerAddresses, CLASS_IN, DnsWireError, encodeQuery, parseResponse, RCODE_NXDOMAIN, rcodeName, TYPE_A, TYPE_AAAA } from '../platform/dns/wire.js';
import { canonicalIp } from '../platform/dns/system-resolvers.js';

/** What one resolver said about a name; `address` outcomes prefer A unless only AAAA exists. */
export type ExchangeOutcome =
  | { kind: 'address'; address: string; family: 4 | 6 }
  /** The name exists but has no A or AAAA (after its CNAMEs, if any). */
  | { kind: 'no-address' }
  /** An rcode other than NOERROR (NXDOMAIN, SERVFAIL, REFUSED ...). */
  | { kind: 'rcode'; rcode: number }
  /** TC set and nothing usable in what arrived (the helper does not retry over TCP). */
  | { kind: 'truncated' }
  | { kind: 'timeout'; ms: number }
  /** The socket could not be opened or the query not sent (EPERM: a firewall rule refused it). */
  | { kind: 'error'; message: string };

export interface ExchangeOptions {
  server: string;
  port: number;
  /** A host name, normalized (lower case, no trailing dot). */
  name: string;
  timeoutMs: number;
  /** Opens a bound UDP socket of the family (the marked socket in production). */
  openSocket: (family: 4 | 6) => Promise<dgram.Socket>;
}

type Answer = { addresses: string[] } | { rcode: number } | { truncated: true } | { error: string };

/** A person-readable account of an outcome. */
export function describeOutcome(o: ExchangeOutcome): string {
  switch (o.kind) {
    case 'address':
      return `answered ${o.address}`;
    case 'no-address':
      return 'answered that the name has no IPv4 or IPv6 address';
    case 'rcode':
      return o.rcode === RCODE_NXDOMAIN ? 'answered NXDOMAIN (no such name)' : `answered ${rcodeName(o.rcode)}`;
    case 'truncated':
      return 'sent a truncated answer without an address';
    case 'timeout':
      return `did not answer within ${o.ms} ms`;
    case 'error':
      return o.message;
  }
}

function sendError(e: NodeJS.ErrnoException): string {
  if (e.code === 'EPERM') return 'could not be reached: the send was refused (EPERM), a firewall rule drops DNS from this socket';
  return `could not be reached (${e.code ?? e.message})`;
}

export async function exchange(opts: ExchangeOptions): Promise<ExchangeOutcome> {
  const server = canonicalIp(opts.server);
  if (!server) return { kind: 'error', message: `is not an IP address` };
  const family = server.includes(':') ? 6 : 4;
  let socket: dgram.Socket;
  try {
    socket = await opts.openSocket(family);
  } catch (e) {
    return { kind: 'error', message: `could not be asked: no socket (${(e as Error).message})` };
  }
  const idA = randomInt(0x10000);
  let idAAAA = randomInt(0x10000);
  while (idAAAA === idA) idAAAA = randomInt(0x10000);
  const answers = new Map<number, Answer>();

  return new Promise<ExchangeOutcome>((resolve) => {
    let done = false;
    const finish = (o: ExchangeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(o);
    };
    const timer = setTimeout(() => finish(decide(answers, true, opts.timeoutMs) ?? { kind: 'timeout', ms: opts.timeoutMs }), opts.timeoutMs);
    const settle = () => {
      const o = decide(answers, false, opts.timeoutMs);
      if (o) finish(o);
    };

    socket.on('error', () => {
      // An ICMP error on a later read, say; the timeout decides.
    });
    socket.on('message', (msg, rinfo) => {
      if (canonicalIp(rinfo.address.replace(/^::ffff:(?=\d+\.)/, '')) !== server || rinfo.port !== opts.port) return;
      let res;
      try {
        res = parseResponse(msg);
      } catch (e) {
        if (e instanceof DnsWireError) return; // garbage, or a spoofer's: keep waiting
        throw e;
      }
      const type = res.id === idA ? TYPE_A : res.id === idAAAA ? TYPE_AAAA : undefined;
      if (type === undefined || answers.has(type) || res.opcode !== 0) return;
      const q = res.questions[0];
      if (res.questions.length !== 1 || q!.name !== opts.name || q!.type !== type || q!.class !== CLASS_IN) return;
      if (res.rcode !== 0) {
        answers.set(type, { rcode: res.rcode });
      } else {
        let addresses: string[];
        try {
          addresses = answerAddresses(res, opts.name, type).addresses;
        } catch (e) {
          if (!(e instanceof DnsWireError)) throw e;
          addresses = []; // a CNAME loop: no usable address
        }
        answers.set(type, addresses.length === 0 && res.truncated ? { truncated: true } : { addresses });
      }
      settle();
    });

    for (const [id, type] of [[idA, TYPE_A], [idAAAA, TYPE_AAAA]] as const) {
      socket.send(encodeQuery(id, opts.name, type), opts.port, server, (err) => {
        if (err && !answers.has(type)) {
          answers.set(type, { error: sendError(err) });
          settle();
        }
      });
    }
  });
}

/**
 * The outcome once it is decided, or undefined while more may come. A decides as soon as it
 * holds an address or NXDOMAIN (the AAAA query would say the same); otherwise both are awaited.
 * At the end of the time (`final`), what arrived decides; nothing at all is a timeout.
 */
function decide(answers: Map<number, Answer>, final: boolean, ms: number): ExchangeOutcome | undefined {
  const a = answers.get(TYPE_A);
  const aaaa = answers.get(TYPE_AAAA);
  const first = (x: Answer | undefined) => (x && 'addresses' in x ? x.addresses[0] : undefined);
  const v4 = first(a);
  if (v4) return { kind: 'address', address: v4, family: 4 };
  if (a && 'rcode' in a && a.rcode === RCODE_NXDOMAIN) return { kind: 'rcode', rcode: a.rcode };
  if (!final && (a === undefined || aaaa === undefined)) return undefined;
  const v6 = first(aaaa);
  if (v6) return { kind: 'address', address: v6, family: 6 };
  const got = [a, aaaa].filter((x): x is Answer => x !== undefined);
  if (got.length === 0) return { kind: 'timeout', ms };
  // The most telling failure: an rcode, then "no address", then truncation, then a send error.
  const rcode = got.find((x): x is { rcode: number } => 'rcode' in x);
  if (rcode) return { kind: 'rcode', rcode: rcode.rcode };
  if (got.some((x) => 'addresses' in x)) return { kind: 'no-address' };
  if (got.some((x) => 'truncated' in x)) return { kind: 'truncated' };
  const err = got.find((x): x is { error: string } => 'error' in x);
  return { kind: 'error', message: err!.error };
}
