// The lab's STUN server (RFC 5389 Binding over UDP). Runs inside the lab's inet namespace:
//   node stun-server.mjs --log FILE [--port 3478] --listen 203.0.113.250 --listen 2001:db8:f::250
// A Binding request gets a success response with XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS) = the
// request's source address and port. Anything else is ignored. Every Binding request appends one
// JSON line {time, server, source, sourcePort} to the log. Prints "ready" once every address listens.
import { createSocket } from 'node:dgram';
import { appendFileSync } from 'node:fs';
import { BINDING_REQUEST, encodeBindingSuccess, parseStun } from './stun-wire.mjs';

const opts = { listen: [], port: 3478, log: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [a, v] = [argv[i], argv[i + 1]];
  if (v === undefined) throw new Error(`stun-server: ${a} needs a value`);
  if (a === '--listen') opts.listen.push(v);
  else if (a === '--port') opts.port = Number(v);
  else if (a === '--log') opts.log = v;
  else throw new Error(`stun-server: unknown argument ${a}`);
}
if (opts.listen.length === 0 || !opts.log) throw new Error('stun-server: need --listen ADDR and --log FILE');

let pending = opts.listen.length;
for (const host of opts.listen) {
  const v6 = host.includes(':');
  const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
  sock.on('error', (err) => {
    process.stderr.write(`stun-server: ${host}:${opts.port}: ${err.message}\n`);
    process.exit(1);
  });
  sock.on('message', (msg, rinfo) => {
    let m;
    try {
      m = parseStun(msg);
    } catch {
      return;
    }
    if (m.type !== BINDING_REQUEST) return;
    const source = rinfo.address.startsWith('::ffff:') && rinfo.address.includes('.') ? rinfo.address.slice(7) : rinfo.address;
    try {
      appendFileSync(opts.log, JSON.stringify({ time: Date.now(), server: host, source, sourcePort: rinfo.port }) + '\n');
    } catch (err) {
      process.stderr.write(`stun-server: cannot write log: ${err}\n`);
    }
    sock.send(encodeBindingSuccess(m.transactionId, source, rinfo.port), rinfo.port, rinfo.address);
  });
  sock.bind({ address: host, port: opts.port }, () => {
    if (--pending === 0) process.stdout.write('ready\n');
  });
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
