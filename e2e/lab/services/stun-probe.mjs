// A STUN client that runs inside a lab namespace:
//   node stun-probe.mjs SERVER [--port 3478] [--timeout MS]
// Sends one Binding request and prints one JSON line:
//   {ok: true, address, port, localAddress, localPort, ms} — address:port as the server saw us
//   {ok: false, error, ms}                                   — no (valid) answer
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  ATTR_MAPPED_ADDRESS, ATTR_XOR_MAPPED_ADDRESS, BINDING_SUCCESS, decodeAddress, encodeBindingRequest, parseStun,
} from './stun-wire.mjs';

const args = process.argv.slice(2);
let server = '';
let port = 3478;
let timeout = 3000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--timeout') timeout = Number(args[++i]);
  else server = args[i];
}

const started = Date.now();
function done(out) {
  process.stdout.write(JSON.stringify({ ...out, ms: Date.now() - started }) + '\n');
  process.exit(0);
}
if (!server) done({ ok: false, error: 'usage: stun-probe.mjs SERVER [--port P] [--timeout MS]' });

const tid = randomBytes(12);
const sock = createSocket(server.includes(':') ? 'udp6' : 'udp4');
setTimeout(() => done({ ok: false, error: `timeout after ${timeout} ms` }), timeout);
sock.on('error', (err) => done({ ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message }));
sock.on('message', (msg) => {
  let m;
  try {
    m = parseStun(msg);
  } catch {
    return;
  }
  if (m.type !== BINDING_SUCCESS || !m.transactionId.equals(tid)) return;
  const xor = m.attrs.find((a) => a.type === ATTR_XOR_MAPPED_ADDRESS);
  const plain = m.attrs.find((a) => a.type === ATTR_MAPPED_ADDRESS);
  if (!xor && !plain) return done({ ok: false, error: 'response without a mapped address' });
  try {
    const mapped = xor ? decodeAddress(xor.value, true, tid) : decodeAddress(plain.value, false, tid);
    const local = sock.address();
    done({ ok: true, ...mapped, localAddress: local.address, localPort: local.port });
  } catch (err) {
    done({ ok: false, error: err.message });
  }
});
sock.connect(port, server, () => sock.send(encodeBindingRequest(tid)));
