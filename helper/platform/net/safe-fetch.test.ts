// The safe fetch against a local HTTP server that stands in for "internet" hosts: names resolve
// through a fake resolver to addresses the policy judges, and a dial override (a test-only seam)
// sends the checked address's connection to the local server. Every refusal must happen before
// any byte reaches a server, so the server's request log is the witness.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalNetwork } from './address-policy.js';
import { createSafeFetch, labNetworksFromEnv, SafeFetchError, type Resolved, type SafeGet } from './safe-fetch.js';

const SECRET = 'SECRET-BODY-BYTES-7f3a';

let server: Server;
let port: number;
let requests: { url: string; host: string | undefined }[];
let route: (req: IncomingMessage, res: ServerResponse) => void;

beforeEach(async () => {
  requests = [];
  route = (_req, res) => res.end('hello');
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', host: req.headers.host });
    route(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** A fetch whose names resolve from `names`, and whose every checked address dials the local server. */
function fetcher(names: Record<string, string[]>, opts: { lab?: boolean; lan?: LocalNetwork[] } = {}): { get: SafeGet; dialed: string[]; lookups: string[] } {
  const dialed: string[] = [];
  const lookups: string[] = [];
  const get = createSafeFetch({
    lab: opts.lab ?? true,
    localNetworks: () => opts.lan ?? [],
    resolve: async (host) => {
      lookups.push(host);
      const list = names[host];
      if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return list.map((address): Resolved => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    dialOverride: (checked) => {
      dialed.push(checked.address);
      return { address: '127.0.0.1', family: 4 };
    },
  });
  return { get, dialed, lookups };
}

const OPTS = { timeoutMs: 3000, maxBytes: 1024 };

async function failure(p: Promise<unknown>): Promise<SafeFetchError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SafeFetchError);
    return e as SafeFetchError;
  }
  throw new Error('expected the fetch to fail');
}

describe('safe fetch: where it connects', () => {
  it('connects to the address it checked, with the name as Host, resolving once', async () => {
    const { get, dialed, lookups } = fetcher({ 'svc.lab.test': ['203.0.113.250'] });
    const r = await get(`http://svc.lab.test:${port}/x?token=t`, OPTS);
    expect(r.body.toString()).toBe('hello');
    expect(r.url).toBe(`http://svc.lab.test:${port}/x`);
    expect(dialed).toEqual(['203.0.113.250']);
    expect(lookups).toEqual(['svc.lab.test']);
    expect(requests).toEqual([{ url: '/x?token=t', host: `svc.lab.test:${port}` }]);
  });

  it('refuses http:// to a public address, and the lab ranges without the lab allowance', async () => {
    const pub = fetcher({ 'catalog.example': ['93.184.216.34'] });
    expect((await failure(pub.get(`http://catalog.example:${port}/`, OPTS))).message).toMatch(/only https/);
    const noLab = fetcher({ 'svc.lab.test': ['203.0.113.250'] }, { lab: false });
    expect((await failure(noLab.get(`http://svc.lab.test:${port}/`, OPTS))).message).toMatch(/documentation address \(only the test lab/);
    expect((await failure(noLab.get(`ftp://svc.lab.test/`, OPTS))).code).toBe('bad-url');
    expect(pub.dialed).toEqual([]);
    expect(noLab.dialed).toEqual([]);
    expect(requests).toEqual([]);
  });

  it.each([
    ['127.0.0.1', /loopback/],
    ['169.254.169.254', /link-local/],
    ['10.1.2.3', /private/],
    ['192.168.0.1', /private/],
    ['100.64.0.1', /tunnel/],
    ['::1', /loopback/],
    ['::ffff:127.0.0.1', /IPv4-mapped/],
    ['fd00::1', /unique local/],
  ])('refuses a literal %s, even in the lab', async (address, why) => {
    const { get, dialed } = fetcher({});
    const host = address.includes(':') ? `[${address}]` : address;
    const e = await failure(get(`http://${host}:${port}/`, OPTS));
    expect(e.code).toBe('refused');
    expect(e.message).toMatch(why);
    expect(dialed).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('refuses a public-looking name whose DNS answers a private address (or any one private answer)', async () => {
    const { get, dialed } = fetcher({ 'api.public-looking.example': ['10.0.0.5'], 'mixed.example': ['93.184.216.34', '169.254.169.254'] });
    const e = await failure(get(`https://api.public-looking.example:${port}/`, OPTS));
    expect(e.message).toMatch(/api\.public-looking\.example resolves to 10\.0\.0\.5, a private/);
    expect((await failure(get(`https://mixed.example:${port}/`, OPTS))).message).toMatch(/169\.254\.169\.254, a link-local/);
    expect(dialed).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('refuses an address on this machine\'s own network, even one numbered from public or lab space', async () => {
    const lan = [{ name: 'eth0', cidr: '198.51.100.2/24' }, { name: 'eth0', cidr: '2001:db8:c::2/64' }, { name: 'wlan0', cidr: '81.2.69.10/28' }];
    const { get, dialed } = fetcher({ 'router.lan': ['198.51.100.1'], 'svc.lab.test': ['203.0.113.250'] }, { lan });
    expect((await failure(get(`http://198.51.100.1:${port}/`, OPTS))).message).toMatch(/198\.51\.100\.1 is on this machine's own network \(eth0 198\.51\.100\.2\/24\)/);
    expect((await failure(get(`http://router.lan:${port}/`, OPTS))).message).toMatch(/router\.lan resolves to 198\.51\.100\.1, on this machine's own network/);
    expect((await failure(get(`http://[2001:db8:c::1]:${port}/`, OPTS))).message).toMatch(/own network \(eth0 2001:db8:c::2\/64\)/);
    expect((await failure(get(`https://81.2.69.1:${port}/`, OPTS))).message).toMatch(/own network \(wlan0/);
    expect((await failure(get(`http://[::ffff:198.51.100.1]:${port}/`, OPTS))).message).toMatch(/own network/);
    expect(dialed).toEqual([]);
    expect((await get(`http://svc.lab.test:${port}/`, OPTS)).body.toString()).toBe('hello');
  });

  it('a wanted family: only that family\'s answers, and a literal of the other family is refused', async () => {
    const { get, dialed } = fetcher({ 'svc.lab.test': ['203.0.113.250', '2001:db8:f::250'] });
    await get(`http://svc.lab.test:${port}/`, { ...OPTS, family: 6 });
    expect(dialed).toEqual(['2001:db8:f::250']);
    expect((await failure(get(`http://203.0.113.250:${port}/`, { ...OPTS, family: 6 }))).message).toMatch(/not an IPv6 address/);
  });
});

describe('safe fetch: redirects', () => {
  const redirectTo = (location: string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/start') {
      res.writeHead(302, { location });
      res.end(SECRET);
    } else res.end('arrived');
  };

  it('follows a redirect to an allowed address, checking it again', async () => {
    const { get, dialed, lookups } = fetcher({ 'a.lab.test': ['203.0.113.250'], 'b.lab.test': ['198.51.100.77'] });
    route = (req, res) => redirectTo(`http://b.lab.test:${port}/end`)(req, res);
    const r = await get(`http://a.lab.test:${port}/start`, OPTS);
    expect(r.body.toString()).toBe('arrived');
    expect(r.url).toBe(`http://b.lab.test:${port}/end`);
    expect(dialed).toEqual(['203.0.113.250', '198.51.100.77']);
    expect(lookups).toEqual(['a.lab.test', 'b.lab.test']);
  });

  it.each([
    ['http://127.0.0.1:PORT/admin', /127\.0\.0\.1 is a loopback/],
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://[::ffff:169.254.169.254]/', /IPv4-mapped/],
    ['http://internal.example:PORT/', /resolves to 192\.168\.1\.1/],
    ['http://192.0.2.1/', /documentation/],
  ])('refuses a redirect to %s, and the body of the redirect stays out of the error', async (target, why) => {
    const { get, dialed } = fetcher({ 'a.lab.test': ['203.0.113.250'], 'internal.example': ['192.168.1.1'] });
    route = (req, res) => redirectTo(target.replace('PORT', String(port)))(req, res);
    const e = await failure(get(`http://a.lab.test:${port}/start`, OPTS));
    expect(e.code).toBe('refused');
    expect(e.message).toMatch(why);
    expect(e.message).not.toContain(SECRET);
    expect(dialed).toEqual(['203.0.113.250']);
    expect(requests.map((r) => r.url)).toEqual(['/start']);
  });

  it('stops after maxRedirects', async () => {
    const { get } = fetcher({ 'a.lab.test': ['203.0.113.250'] });
    route = (req, res) => {
      res.writeHead(302, { location: `/again${req.url}` });
      res.end();
    };
    const e = await failure(get(`http://a.lab.test:${port}/`, { ...OPTS, maxRedirects: 2 }));
    expect(e.code).toBe('redirects');
    expect(requests).toHaveLength(3);
  });
});

describe('safe fetch: caps and errors', () => {
  it('refuses an answer over maxBytes, declared or streamed', async () => {
    const { get } = fetcher({ 'a.lab.test': ['203.0.113.250'] });
    route = (req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': '5000' });
        res.end('x'.repeat(5000));
      } else {
        res.writeHead(200); // chunked, no length
        for (let i = 0; i < 10; i++) res.write('y'.repeat(500));
        res.end();
      }
    };
    expect((await failure(get(`http://a.lab.test:${port}/declared`, OPTS))).code).toBe('too-large');
    const e = await failure(get(`http://a.lab.test:${port}/streamed`, OPTS));
    expect(e.code).toBe('too-large');
    expect(e.message).not.toMatch(/yyy/);
  });

  it('gives up after timeoutMs, for a server that never answers and one that answers slowly', async () => {
    const { get } = fetcher({ 'a.lab.test': ['203.0.113.250'] });
    route = (req, res) => {
      if (req.url === '/trickle') {
        res.writeHead(200);
        const t = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(t));
      } // else: never answer
    };
    const started = Date.now();
    expect((await failure(get(`http://a.lab.test:${port}/hang`, { ...OPTS, timeoutMs: 200 }))).code).toBe('timeout');
    expect((await failure(get(`http://a.lab.test:${port}/trickle`, { ...OPTS, timeoutMs: 300 }))).code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2900); // generous: two timeouts of 0.2 and 0.3 s
  });

  it('an error status says the status and nothing of the body, nor the URL\'s query or credentials', async () => {
    const { get } = fetcher({ 'a.lab.test': ['203.0.113.250'] });
    route = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html>${SECRET}</html>`);
    };
    const e = await failure(get(`http://a.lab.test:${port}/p?key=hunter2`, OPTS));
    expect(e.code).toBe('status');
    expect(e.status).toBe(500);
    expect(e.message).toBe(`http://a.lab.test:${port}/p: the server answered HTTP 500`);
    expect((await failure(get(`http://user:pw@a.lab.test:${port}/`, OPTS))).message).not.toMatch(/pw/);
  });

  it('a name that does not resolve, and a port nobody listens on, are errors of their own', async () => {
    const { get } = fetcher({ 'a.lab.test': ['203.0.113.250'] });
    expect((await failure(get('http://nowhere.lab.test/', OPTS))).message).toMatch(/cannot resolve nowhere\.lab\.test \(ENOTFOUND\)/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await failure(get(`http://a.lab.test:${dead}/`, OPTS))).code).toBe('network');
  });
});

describe('the lab allowance', () => {
  it('comes from the helper\'s own environment, and only as UMBRA_LAB_NETWORKS=1', () => {
    expect(labNetworksFromEnv({ UMBRA_LAB_NETWORKS: '1' })).toBe(true);
    expect(labNetworksFromEnv({ UMBRA_LAB_NETWORKS: 'yes' })).toBe(false);
    expect(labNetworksFromEnv({})).toBe(false);
  });
});
