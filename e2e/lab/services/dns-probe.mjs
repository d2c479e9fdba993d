// A tiny DNS client that runs inside a lab namespace (dig is not installed):
//   node dns-probe.mjs SERVER NAME [--type A|AAAA|<n>] [--tcp] [--port 53] [--timeout MS]
// SERVER is an address, or "resolv.conf" for the first nameserver of /etc/resolv.conf as this
// process sees it (under `ip netns exec`, /etc/netns/<ns>/resolv.conf). Sends one query with RD set,
// straight to SERVER (no stub resolver, no retries, no search list), and prints one JSON line:
//   {ok, rcode?, rcodeName?, answers, server, transport, ms, error?}
// ok: a response arrived and its rcode is NOERROR. answers: the A/AAAA addresses in it.
// Without a response (timeout, refused, unreachable, blocked) there is no rcode, and error says why.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { encodeQuery, parseMessage, rcodeName, typeNumber } from './dns-wire.mjs';

const args = process.argv.slice(2);
const pos = [];
let type = 'A';
let tcp = false;
let port = 53;
let timeout = 3000;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1] ?? '';
  if (a === '--type') { type = v; i++; }
  else if (a === '--tcp') tcp = true;
  else if (a === '--port') { port = Number(v); i++; }
  else if (a === '--timeout') { timeout = Number(v); i++; }
  else pos.push(a);
}

const started = Date.now();
let server = pos[0] ?? '';
const name = pos[1] ?? '';
const transport = tcp ? 'tcp' : 'udp';

function done(out) {
  process.stdout.write(JSON.stringify({ server, transport, answers: [], ...out, ms: Date.now() - started }) + '\n');
  process.exit(0);
}

if (server === 'resolv.conf') {
  try {
    const m = /^\s*nameserver\s+(\S+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'));
    if (!m) done({ ok: false, error: 'no nameserver in /etc/resolv.conf' });
    server = m[1].replace(/%.*$/, '');
  } catch (err) {
    done({ ok: false, error: `cannot read /etc/resolv.conf: ${err.message}` });
  }
}
if (!server || !name) done({ ok: false, error: 'usage: dns-probe.mjs SERVER NAME [--type T] [--tcp] [--port P] [--timeout MS]' });

const id = randomInt(0, 0x10000);
let query;
try {
  query = encodeQuery({ id, name, type: typeNumber(type) });
} catch (err) {
  done({ ok: false, error: err.message });
}

function handle(msg) {
  let parsed;
  try {
    parsed = parseMessage(msg);
  } catch (err) {
    return done({ ok: false, error: `malformed response: ${err.message}` });
  }
  if (!parsed.qr || parsed.id !== id) return false; // not ours; keep waiting (UDP) or fail (TCP)
  done({
    ok: parsed.rcode === 0,
    rcode: parsed.rcode,
    rcodeName: rcodeName(parsed.rcode),
    answers: parsed.answers.filter((a) => a.data !== undefined).map((a) => a.data),
    ...(parsed.rcode === 0 ? {} : { error: rcodeName(parsed.rcode) }),
  });
  return true;
}

const errText = (err) => (err.code ? `${err.code}: ${err.message}` : String(err.message ?? err));
setTimeout(() => done({ ok: false, error: `timeout after ${timeout} ms` }), timeout);

if (tcp) {
  const sock = connect({ host: server, port });
  let buf = Buffer.alloc(0);
  sock.on('connect', () => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(query.length);
    sock.write(Buffer.concat([len, query]));
  });
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      if (!handle(buf.subarray(2, 2 + buf.readUInt16BE(0)))) done({ ok: false, error: 'response id mismatch' });
    }
  });
  sock.on('error', (err) => done({ ok: false, error: errText(err) }));
  sock.on('end', () => done({ ok: false, error: 'connection closed without a response' }));
} else {
  const sock = createSocket(server.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', (err) => done({ ok: false, error: errText(err) }));
  sock.on('message', (msg) => handle(msg));
  // Connected: only the server's replies are delivered, and an ICMP error surfaces as an 'error'.
  sock.connect(port, server, () => sock.send(query, (err) => err && done({ ok: false, error: errText(err) })));
}
