// The lab's "what is my IP" service. Runs inside the lab's inet namespace:
//   node echo-server.mjs --log FILE --port 80 --listen 203.0.113.250 --listen 2001:db8:f::250
// Routes:
//   GET  /              caller's address, text/plain (no trailing newline)
//   GET  /json          {"ip": "<caller>"}
//   GET  /bytes/<n>     n deterministic bytes (?seed=s, default "umbra"); header x-sha256 = their sha256
//   GET  /sha256/<n>    sha256 hex of what /bytes/<n> would send (same ?seed)
//   POST /sha256        sha256 hex of the request body; header x-bytes = body length
//   GET  /dns-askers?name=<qname>
//                       (with --dns-log FILE: the lab DNS server's log) JSON list of the source
//                       addresses that asked for qname, in order, each once: a "who asked" DNS leak
//                       test's API. 400 without a name, 404 without --dns-log.
//   GET  /redirect?to=<url>
//                       302 to <url> (with a body a fetcher must not quote): a redirect from an
//                       allowed server, for the tests that a fetch never follows one somewhere else.
// Every request appends one JSON line {time, ip, method, url} to the log file.
// Prints "ready" on stdout once every address is listening; exits on SIGTERM/SIGINT.
import { createServer } from 'node:http';
import { appendFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { deterministicBytes, bytesSha256, DEFAULT_SEED } from './bytes.mjs';

const MAX_BYTES = 1024 * 1024 * 1024;

function parseArgs(argv) {
  const out = { listen: [], port: 80, log: '', dnsLog: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--listen' && v) { out.listen.push(v); i++; }
    else if (a === '--port' && v) { out.port = Number(v); i++; }
    else if (a === '--log' && v) { out.log = v; i++; }
    else if (a === '--dns-log' && v) { out.dnsLog = v; i++; }
    else throw new Error(`echo-server: unknown argument ${a}`);
  }
  if (out.listen.length === 0 || !out.log) throw new Error('echo-server: need --listen ADDR and --log FILE');
  return out;
}

const opts = parseArgs(process.argv.slice(2));
const shaCache = new Map();

function callerOf(req) {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function sha(n, seed) {
  const key = `${n}/${seed}`;
  let v = shaCache.get(key);
  if (v === undefined) { v = bytesSha256(n, seed); shaCache.set(key, v); }
  return v;
}

function send(res, status, body, type = 'text/plain; charset=utf-8', headers = {}) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** Who asked the lab DNS for `qname` (lower case, no trailing dot): each source address once, in order. */
function dnsAskers(qname) {
  let text = '';
  try {
    text = readFileSync(opts.dnsLog, 'utf8');
  } catch {
    return [];
  }
  const askers = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (rec.qname === qname && typeof rec.source === 'string' && !askers.includes(rec.source)) askers.push(rec.source);
  }
  return askers;
}

function parseCount(s) {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_BYTES ? n : undefined;
}

function handle(req, res) {
  const ip = callerOf(req);
  const url = new URL(req.url ?? '/', 'http://lab');
  try {
    appendFileSync(opts.log, JSON.stringify({ time: Date.now(), ip, method: req.method, url: req.url }) + '\n');
  } catch (err) {
    process.stderr.write(`echo-server: cannot write log: ${err}\n`);
  }
  const seed = url.searchParams.get('seed') ?? DEFAULT_SEED;
  const path = url.pathname;

  if (req.method === 'POST' && path === '/sha256') {
    const h = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk) => { h.update(chunk); bytes += chunk.length; });
    req.on('end', () => send(res, 200, h.digest('hex'), undefined, { 'x-bytes': String(bytes) }));
    req.on('error', () => res.destroy());
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  if (path === '/') return send(res, 200, ip);
  if (path === '/json') return send(res, 200, JSON.stringify({ ip }), 'application/json');
  if (path === '/redirect') {
    const to = url.searchParams.get('to');
    if (!to) return send(res, 400, 'give ?to=<url>');
    return send(res, 302, `redirect body from the lab echo server: ${ip}`, undefined, { location: to });
  }
  if (path === '/dns-askers') {
    if (!opts.dnsLog) return send(res, 404, 'no DNS log here');
    const name = (url.searchParams.get('name') ?? '').toLowerCase().replace(/\.$/, '');
    if (!name) return send(res, 400, 'give ?name=<qname>');
    return send(res, 200, JSON.stringify(dnsAskers(name)), 'application/json');
  }
  let m = /^\/sha256\/([^/]+)$/.exec(path);
  if (m) {
    const n = parseCount(m[1]);
    return n === undefined ? send(res, 400, 'bad count') : send(res, 200, sha(n, seed));
  }
  m = /^\/bytes\/([^/]+)$/.exec(path);
  if (m) {
    const n = parseCount(m[1]);
    if (n === undefined) return send(res, 400, 'bad count');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': n,
      'cache-control': 'no-store',
      'x-sha256': sha(n, seed),
    });
    if (req.method === 'HEAD') return res.end();
    const body = Readable.from(deterministicBytes(n, seed), { objectMode: false });
    body.pipe(res);
    res.on('close', () => body.destroy());
    return;
  }
  send(res, 404, 'not found');
}

let pending = opts.listen.length;
for (const host of opts.listen) {
  const s = createServer(handle);
  s.keepAliveTimeout = 2000;
  s.on('error', (err) => { process.stderr.write(`echo-server: ${host}:${opts.port}: ${err.message}\n`); process.exit(1); });
  s.listen({ host, port: opts.port, ipv6Only: host.includes(':') }, () => {
    if (--pending === 0) process.stdout.write('ready\n');
  });
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
