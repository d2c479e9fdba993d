// The lab's DNS server (UDP and TCP). Runs inside the lab's inet namespace:
//   node dns-server.mjs --log FILE [--port 53] --listen 203.0.113.250 --listen 2001:db8:f::250 ...
//                       [--zone lab.test] [--a 203.0.113.250] [--aaaa 2001:db8:f::250]
//                       [--host NAME=IPv4 ...]
// Answers, authoritatively and with TTL 0 (nothing caches it, so every lookup reaches it):
//   a --host NAME:                 A → its address, other types → no answer (NOERROR)
//   <zone> and any name under it:  A → --a, AAAA → --aaaa, other types → no answer (NOERROR)
//   whoami.<zone>:                 A (asked over IPv4) / AAAA (asked over IPv6) → the asker's address
//   any other name:                NXDOMAIN
//   malformed → FORMERR, opcode ≠ QUERY → NOTIMP, class ≠ IN → REFUSED; responses are ignored.
// Every query appends one JSON line to the log:
//   {time, server, source, sourcePort, transport: "udp"|"tcp", id, qname, qtype, rcode, answers}
// Prints "ready" on stdout once every address listens on both transports; exits on SIGTERM/SIGINT.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { appendFileSync } from 'node:fs';
import {
  CLASS_IN, DnsFormatError, encodeResponse, ipv4Bytes, ipv6Bytes, parseMessage, typeName, TYPES,
} from './dns-wire.mjs';

function parseArgs(argv) {
  const out = { listen: [], port: 53, log: '', zone: 'lab.test', a: '203.0.113.250', aaaa: '2001:db8:f::250', hosts: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`dns-server: ${a} needs a value`);
    i++;
    if (a === '--listen') out.listen.push(v);
    else if (a === '--port') out.port = Number(v);
    else if (a === '--log') out.log = v;
    else if (a === '--zone') out.zone = v.toLowerCase().replace(/\.$/, '');
    else if (a === '--a') out.a = v;
    else if (a === '--aaaa') out.aaaa = v;
    else if (a === '--host') {
      const [name, ip] = v.split('=');
      if (!name || !ip) throw new Error(`dns-server: --host wants NAME=IPv4, not ${v}`);
      out.hosts.set(name.toLowerCase().replace(/\.$/, ''), ipv4Bytes(ip));
    }
    else throw new Error(`dns-server: unknown argument ${a}`);
  }
  if (out.listen.length === 0 || !out.log) throw new Error('dns-server: need --listen ADDR and --log FILE');
  return out;
}

const opts = parseArgs(process.argv.slice(2));
const FIXED_A = ipv4Bytes(opts.a);
const FIXED_AAAA = ipv6Bytes(opts.aaaa);
const TTL = 0;
const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

function plain(ip) {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function log(record) {
  try {
    appendFileSync(opts.log, JSON.stringify(record) + '\n');
  } catch (err) {
    process.stderr.write(`dns-server: cannot write log: ${err}\n`);
  }
}

/** The response to one query message, or undefined when nothing should be sent. */
function answer(msg, ctx) {
  const rec = { time: Date.now(), server: ctx.server, source: ctx.source, sourcePort: ctx.sourcePort, transport: ctx.transport };
  if (msg.length < 12) {
    log({ ...rec, id: null, qname: null, qtype: null, rcode: null, answers: [], error: 'shorter than a header' });
    return undefined;
  }
  const query = { id: msg.readUInt16BE(0), opcode: (msg[2] >> 3) & 0xf, rd: (msg[2] & 1) !== 0 };
  if (msg[2] & 0x80) return undefined; // a response: never answer one
  const reply = (rcode, q, answers = []) => {
    log({ ...rec, id: query.id, qname: q?.name ?? null, qtype: q ? typeName(q.type) : null, rcode, answers: answers.map((a) => a.text) });
    return encodeResponse(query, { rcode, questionRaw: q?.raw, answers });
  };
  if (query.opcode !== 0) return reply(RCODE.NOTIMP);
  let parsed;
  try {
    parsed = parseMessage(msg);
  } catch (err) {
    if (err instanceof DnsFormatError) return reply(RCODE.FORMERR);
    throw err;
  }
  if (parsed.questions.length !== 1) return reply(RCODE.FORMERR, parsed.questions[0]);
  const q = parsed.questions[0];
  if (q.class !== CLASS_IN) return reply(RCODE.REFUSED, q);
  const name = q.name;
  const host = opts.hosts.get(name.toLowerCase());
  if (host) {
    const text = Array.from(host).join('.');
    return reply(RCODE.NOERROR, q, q.type === TYPES.A ? [{ type: TYPES.A, ttl: TTL, rdata: host, text }] : []);
  }
  const inZone = name === opts.zone || name.endsWith(`.${opts.zone}`);
  if (!inZone) return reply(RCODE.NXDOMAIN, q);
  const answers = [];
  if (name === `whoami.${opts.zone}`) {
    const v6 = ctx.source.includes(':');
    if (q.type === TYPES.A && !v6) answers.push({ type: TYPES.A, ttl: TTL, rdata: ipv4Bytes(ctx.source), text: ctx.source });
    if (q.type === TYPES.AAAA && v6) answers.push({ type: TYPES.AAAA, ttl: TTL, rdata: ipv6Bytes(ctx.source), text: ctx.source });
  } else if (q.type === TYPES.A) {
    answers.push({ type: TYPES.A, ttl: TTL, rdata: FIXED_A, text: opts.a });
  } else if (q.type === TYPES.AAAA) {
    answers.push({ type: TYPES.AAAA, ttl: TTL, rdata: FIXED_AAAA, text: opts.aaaa });
  }
  return reply(RCODE.NOERROR, q, answers);
}

function safeAnswer(msg, ctx) {
  try {
    return answer(msg, ctx);
  } catch (err) {
    process.stderr.write(`dns-server: ${err?.stack ?? err}\n`);
    return undefined;
  }
}

function fail(where, err) {
  process.stderr.write(`dns-server: ${where}: ${err.message}\n`);
  process.exit(1);
}

let pending = opts.listen.length * 2;
const listening = () => {
  if (--pending === 0) process.stdout.write('ready\n');
};

for (const host of opts.listen) {
  const v6 = host.includes(':');
  const udp = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
  udp.on('error', (err) => fail(`udp ${host}:${opts.port}`, err));
  udp.on('message', (msg, rinfo) => {
    const out = safeAnswer(msg, { server: host, source: plain(rinfo.address), sourcePort: rinfo.port, transport: 'udp' });
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.bind({ address: host, port: opts.port }, listening);

  const tcp = createServer((sock) => {
    const ctx = { server: host, source: plain(sock.remoteAddress ?? ''), sourcePort: sock.remotePort ?? 0, transport: 'tcp' };
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = safeAnswer(msg, ctx);
        if (out) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        }
      }
    });
  });
  tcp.on('error', (err) => fail(`tcp ${host}:${opts.port}`, err));
  tcp.listen({ host, port: opts.port, ipv6Only: v6 }, listening);
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
