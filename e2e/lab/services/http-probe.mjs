// A tiny HTTP client that runs inside a lab namespace (curl is not guaranteed to be installed):
//   node http-probe.mjs URL [--method GET|POST] [--upload-bytes N] [--seed S] [--hash] [--timeout MS]
// Prints one JSON line on stdout: {status, headers, bytes, sha256, body, ms} (body omitted with --hash,
// the sha256 of the response body is always computed). With --upload-bytes N it POSTs N deterministic
// bytes (same generator as /bytes/<n>). On failure prints {error} and exits 2.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { deterministicBytes, DEFAULT_SEED } from './bytes.mjs';

const args = process.argv.slice(2);
let url = '';
let method = 'GET';
let upload = -1;
let seed = DEFAULT_SEED;
let hashOnly = false;
let timeout = 10_000;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1] ?? '';
  if (a === '--method') { method = v; i++; }
  else if (a === '--upload-bytes') { upload = Number(v); i++; }
  else if (a === '--seed') { seed = v; i++; }
  else if (a === '--hash') hashOnly = true;
  else if (a === '--timeout') { timeout = Number(v); i++; }
  else url = a;
}

function fail(error) {
  process.stdout.write(JSON.stringify({ error: String(error) }) + '\n');
  process.exit(2);
}

const started = Date.now();
const timer = setTimeout(() => fail(`timeout after ${timeout} ms`), timeout);
const headers = upload >= 0 ? { 'content-type': 'application/octet-stream', 'content-length': upload } : {};
const req = http.request(url, { method, headers, agent: false }, (res) => {
  const h = createHash('sha256');
  const chunks = [];
  let bytes = 0;
  res.on('data', (chunk) => {
    h.update(chunk);
    bytes += chunk.length;
    if (!hashOnly) chunks.push(chunk);
  });
  res.on('end', () => {
    clearTimeout(timer);
    const out = { status: res.statusCode, headers: res.headers, bytes, sha256: h.digest('hex'), ms: Date.now() - started };
    if (!hashOnly) out.body = Buffer.concat(chunks).toString('utf8');
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  });
  res.on('error', fail);
});
req.on('error', fail);
if (upload >= 0) Readable.from(deterministicBytes(upload, seed), { objectMode: false }).pipe(req);
else req.end();
