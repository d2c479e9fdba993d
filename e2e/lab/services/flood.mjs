// A UDP flooder for the lab (issue 11, item 2). Runs inside a lab namespace:
//   node flood.mjs --addon PATH/umbra_native.node --pool FILE --to HOST:PORT --rate N [--seconds S]
// Sends the pool's datagrams round and round to HOST:PORT at N a second (paced every millisecond,
// in sendmmsg batches through the project's native addon: node:dgram cannot reach 50k/s on a small
// machine). The pool file is a sequence of [u16 big-endian length][datagram]; what is in it (junk,
// bad-mac1 or valid-mac1 initiations) is made by e2e/lab/flood.ts. Prints "ready" once the socket
// is open, and on SIGTERM or after S seconds one JSON line {sent, dropped, seconds} and exits.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const opts = { addon: '', pool: '', to: '', rate: 0, seconds: Infinity };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [a, v] = [argv[i], argv[i + 1]];
  if (v === undefined) throw new Error(`flood: ${a} needs a value`);
  if (a === '--addon') opts.addon = v;
  else if (a === '--pool') opts.pool = v;
  else if (a === '--to') opts.to = v;
  else if (a === '--rate') opts.rate = Number(v);
  else if (a === '--seconds') opts.seconds = Number(v);
  else throw new Error(`flood: unknown argument ${a}`);
}
if (!opts.addon || !opts.pool || !opts.to || !(opts.rate > 0)) throw new Error('flood: need --addon, --pool, --to HOST:PORT and --rate N > 0');
const colon = opts.to.lastIndexOf(':');
const host = opts.to.slice(0, colon).replace(/^\[|\]$/g, '');
const port = Number(opts.to.slice(colon + 1));

const native = createRequire(import.meta.url)(opts.addon);
const raw = readFileSync(opts.pool);
const pool = [];
for (let at = 0; at + 2 <= raw.length;) {
  const n = raw.readUInt16BE(at);
  pool.push(new Uint8Array(raw.buffer, raw.byteOffset + at + 2, n));
  at += 2 + n;
}
if (pool.length === 0) throw new Error('flood: the pool is empty');

const family = host.includes(':') ? 6 : 4;
const { fd } = native.udpOpen(family, 0, family === 4 ? '0.0.0.0' : '::', -1, 4 * 1024 * 1024);
const sa = native.udpSockaddr(host, port);
const BATCH = 256;
const datagrams = new Array(BATCH);
const sockaddrs = new Array(BATCH).fill(sa);

let next = 0;
let sent = 0;
let dropped = 0;
const t0 = performance.now();
const send = (n) => {
  while (n > 0) {
    const k = Math.min(n, BATCH);
    for (let i = 0; i < k; i++) {
      datagrams[i] = pool[next];
      next = next + 1 === pool.length ? 0 : next + 1;
    }
    const ok = native.udpSend(fd, datagrams, sockaddrs, k);
    sent += ok;
    dropped += k - ok;
    n -= k;
  }
};

let finished = false;
const finish = () => {
  if (finished) return;
  finished = true;
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ sent, dropped, seconds })}\n`);
  try {
    native.closeFd(fd);
  } catch {
    // exiting anyway
  }
  process.exit(0);
};
// What is due by now, less what went out; a late timer catches up (up to a tenth of a second).
const timer = setInterval(() => {
  const elapsed = (performance.now() - t0) / 1000;
  if (elapsed >= opts.seconds) return finish();
  const due = Math.floor(elapsed * opts.rate) - (sent + dropped);
  if (due > 0) send(Math.min(due, Math.ceil(opts.rate / 10)));
}, 1);
process.on('SIGTERM', finish);
process.on('SIGINT', finish);
process.stdout.write('ready\n');
