// Signed catalogs and where catalogs come from: the signature rules (valid, wrong key, one changed
// byte, unsigned refused from a URL, unsigned with the user's consent, a file's text), and the
// download through the safe fetch (refused addresses, errors that quote nothing).
import { ed25519 } from '@noble/curves/ed25519.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../../ipc/schema.js';
import { validateParams } from '../../ipc/validation.js';
import { createSafeFetch } from '../../platform/net/safe-fetch.js';
import { keyFingerprint } from './catalog-signature.js';
import { readCatalog } from './catalog-source.js';
import { catalogEntry } from './testdata/configs.js';

const secret = new Uint8Array(32).fill(7);
const other = new Uint8Array(32).fill(9);
const pub = (sk: Uint8Array) => Buffer.from(ed25519.getPublicKey(sk)).toString('base64');
const KEY = pub(secret);
const CATALOG = JSON.stringify({ servers: [catalogEntry()] });

function envelope(text: string, sk = secret): string {
  const signature = Buffer.from(ed25519.sign(new TextEncoder().encode(text), sk)).toString('base64');
  return JSON.stringify({ catalog: text, signature });
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('expected an RpcError');
}

let server: Server;
let base: string;
let body: string;
let hits: string[];
const get = createSafeFetch({ lab: true, localNetworks: () => [], dialOverride: () => ({ address: '127.0.0.1', family: 4 }) });

beforeEach(async () => {
  hits = [];
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect-home') {
      res.writeHead(302, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/catalog.json` });
      res.end();
    } else if (req.url?.startsWith('/missing')) {
      res.writeHead(404);
      res.end('<html>SECRET 404 PAGE</html>');
    } else res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://203.0.113.20:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('signatures', () => {
  it('a valid signature by the pinned key: the inner catalog, signed by that key\'s fingerprint', async () => {
    body = envelope(CATALOG);
    const doc = await readCatalog({ url: `${base}/catalog.json`, signingKey: KEY }, get);
    expect(doc.json).toEqual(JSON.parse(CATALOG));
    expect(doc.trust).toEqual({ signed: true, keyFingerprint: keyFingerprint(ed25519.getPublicKey(secret)) });
    expect(doc.trust.keyFingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
  });

  it('a signature by another key is refused', async () => {
    body = envelope(CATALOG, other);
    const e = await rpcError(readCatalog({ url: `${base}/catalog.json`, signingKey: KEY }, get));
    expect(e.code).toBe(ErrorCode.InvalidConfig);
    expect(e.message).toMatch(/signature does not match the signing key you pinned/);
  });

  it('one changed byte of the catalog is refused, and so is a changed signature', async () => {
    const good = JSON.parse(envelope(CATALOG)) as { catalog: string; signature: string };
    body = JSON.stringify({ ...good, catalog: good.catalog.replace('51820', '51821') });
    expect((await rpcError(readCatalog({ url: `${base}/c.json`, signingKey: KEY }, get))).message).toMatch(/does not match/);
    const sig = Buffer.from(good.signature, 'base64');
    sig[10] = sig[10]! ^ 1;
    body = JSON.stringify({ ...good, signature: sig.toString('base64') });
    expect((await rpcError(readCatalog({ url: `${base}/c.json`, signingKey: KEY }, get))).message).toMatch(/does not match/);
    body = JSON.stringify({ ...good, signature: 'not base64!' });
    expect((await rpcError(readCatalog({ url: `${base}/c.json`, signingKey: KEY }, get))).message).toMatch(/does not match/);
  });

  it('a pinned key refuses an unsigned catalog, whatever allowUnsigned says, and a file too', async () => {
    body = CATALOG;
    expect((await rpcError(readCatalog({ url: `${base}/c.json`, signingKey: KEY, allowUnsigned: true }, get))).message).toMatch(/not signed, but you pinned/);
    expect((await rpcError(readCatalog({ text: CATALOG, signingKey: KEY }, get))).message).toMatch(/not signed, but you pinned/);
    expect((await readCatalog({ text: envelope(CATALOG), signingKey: KEY }, get)).trust.signed).toBe(true);
  });

  it('an unsigned remote catalog is refused unless the user says so', async () => {
    body = CATALOG;
    const e = await rpcError(readCatalog({ url: `${base}/c.json` }, get));
    expect(e.code).toBe(ErrorCode.InvalidParams);
    expect(e.message).toMatch(/not signed.*--unsigned/);
    expect(await readCatalog({ url: `${base}/c.json`, allowUnsigned: true }, get)).toEqual({ json: JSON.parse(CATALOG), trust: { signed: false } });
    // A signature without a pinned key proves nothing: unsigned, by the same rule.
    body = envelope(CATALOG);
    expect((await rpcError(readCatalog({ url: `${base}/c.json` }, get))).message).toMatch(/signed, but you pinned no key/);
    expect((await readCatalog({ url: `${base}/c.json`, allowUnsigned: true }, get)).trust).toEqual({ signed: false });
  });

  it('a file the user chose may be unsigned', async () => {
    expect(await readCatalog({ text: `\uFEFF${CATALOG}` }, get)).toEqual({ json: JSON.parse(CATALOG), trust: { signed: false } });
  });

  it('a malformed key or envelope is a clear error; the schema holds the key\'s shape and the flags', async () => {
    expect((await rpcError(readCatalog({ text: CATALOG, signingKey: 'abc' }, get))).code).toBe(ErrorCode.InvalidParams);
    expect((await rpcError(readCatalog({ text: JSON.stringify({ catalog: { servers: [] }, signature: 'x' }) }, get))).message).toMatch(/a signed catalog is/);
    expect(validateParams('loadCatalog', { url: 'https://c.example/x.json', signingKey: KEY, allowUnsigned: false }).ok).toBe(true);
    expect(validateParams('loadCatalog', { url: 'https://c.example/x.json', signingKey: 'short' }).ok).toBe(false);
    expect(validateParams('loadCatalog', { text: CATALOG, allowUnsigned: true }).ok).toBe(false);
  });
});

describe('downloads', () => {
  it('go through the safe fetch: a catalog URL at a refused address, or redirected to one, never arrives', async () => {
    body = CATALOG;
    const port = (server.address() as AddressInfo).port;
    const direct = await rpcError(readCatalog({ url: `http://127.0.0.1:${port}/catalog.json`, allowUnsigned: true }));
    expect(direct.code).toBe(ErrorCode.InvalidParams);
    expect(direct.message).toMatch(/refused: 127\.0\.0\.1 is a loopback address/);
    const meta = await rpcError(readCatalog({ url: 'https://169.254.169.254/latest/meta-data/', allowUnsigned: true }));
    expect(meta.message).toMatch(/link-local/);
    const redirected = await rpcError(readCatalog({ url: `${base}/redirect-home`, allowUnsigned: true }, get));
    expect(redirected.message).toMatch(/refused: 127\.0\.0\.1/);
    expect(hits).toEqual(['/redirect-home']);
  });

  it('http:// is refused without the lab allowance', async () => {
    const noLab = createSafeFetch({ lab: false, localNetworks: () => [], resolve: async () => [{ address: '93.184.216.34', family: 4 }], dialOverride: () => ({ address: '127.0.0.1', family: 4 }) });
    const e = await rpcError(readCatalog({ url: 'http://catalog.example/servers.json', allowUnsigned: true }, noLab));
    expect(e.code).toBe(ErrorCode.InvalidParams);
    expect(e.message).toMatch(/only https/);
    expect(hits).toEqual([]);
  });

  it('errors quote nothing the server sent', async () => {
    const e404 = await rpcError(readCatalog({ url: `${base}/missing?token=s3cret`, allowUnsigned: true }, get));
    expect(e404.code).toBe(ErrorCode.NotFound);
    expect(e404.message).not.toMatch(/SECRET|s3cret/);
    body = '<html>SECRET ROUTER PAGE</html>';
    const notJson = await rpcError(readCatalog({ url: `${base}/c.json`, allowUnsigned: true }, get));
    expect(notJson.message).toBe('the downloaded catalog is not valid JSON; a catalog is a JSON file');
  });
});
