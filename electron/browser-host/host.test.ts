// The browser-mode host against the real IPC server with the fake helper: static files and
// their headers, what it refuses (Host, token, origin, traversal), the API, the event stream, and
// the page script's bridge (run here in Node with Node's fetch) across a helper restart.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type HelperEvent } from '../../helper/ipc/schema.js';
import { startIpcServer, type IpcServer } from '../../helper/ipc/server.js';
import { disconnectedStatus, FakeHelper } from '../../helper/ipc/testing/fake-helper.js';
import { createUmbraBridge, HOST_GONE_MESSAGE, takeToken, type BridgeWindow } from './bridge-client.js';
import { CONTENT_SECURITY_POLICY, startBrowserHost, type BrowserHost } from './host.js';
import type { StreamMessage } from './protocol.js';
import { injectBridge } from './static-files.js';

let dir: string;
let dist: string;
let seq = 0;
const cleanups: (() => unknown)[] = [];

const INDEX = `<!doctype html>
<html><head><meta charset="utf-8" /><title>Umbra</title>
<script type="module" crossorigin src="./assets/index-abc.js"></script>
<link rel="stylesheet" href="./assets/index-abc.css"></head>
<body><div id="root"></div></body></html>
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-bhost-'));
  dist = join(dir, 'dist');
  mkdirSync(join(dist, 'assets', 'sub'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log("app");\n');
  writeFileSync(join(dist, 'assets', 'index-abc.css'), 'body{}\n');
  writeFileSync(join(dist, 'assets', 'data.bin'), 'xx');
  writeFileSync(join(dist, '.secret'), 'dot file');
  writeFileSync(join(dir, 'outside.txt'), 'outside the dist folder');
  symlinkSync(join(dir, 'outside.txt'), join(dist, 'assets', 'link.txt'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function helper(path: string, fake = new FakeHelper({ connectDelayMs: 10 })): Promise<{ server: IpcServer; fake: FakeHelper }> {
  const server = await startIpcServer({ socketPath: path, handlers: fake.handlers, subscribe: fake.subscribe, group: 'nogroup', log: () => {} });
  cleanups.push(() => server.close(), () => fake.dispose());
  return { server, fake };
}

async function setup(opts: { helperRunning?: boolean } = {}) {
  const socketPath = join(dir, `h${++seq}.sock`);
  const h = opts.helperRunning === false ? undefined : await helper(socketPath);
  const host = await startBrowserHost({ socketPath, distDir: dist, host: '127.0.0.1', port: 0, backoffMs: [20, 40], firstContactMs: 500 });
  cleanups.push(() => host.close());
  return { socketPath, host, ...h };
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request exactly as given (path not normalised, any Host header). */
function raw(host: BrowserHost, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${host.port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const callApi = (host: BrowserHost, body: unknown, headers: Record<string, string> = {}) =>
  raw(host, '/api/call', { method: 'POST', headers: { 'content-type': 'application/json', 'x-umbra-token': host.token, ...headers }, body: JSON.stringify(body) });

interface StreamReader {
  msgs: StreamMessage[];
  /** Reads until pred holds (or throws after ms). */
  until(pred: (msgs: StreamMessage[]) => boolean, ms?: number): Promise<void>;
  stop(): void;
}

async function openStream(host: BrowserHost): Promise<StreamReader> {
  const abort = new AbortController();
  const res = await fetch(`${host.origin}/api/events`, { headers: { 'x-umbra-token': host.token }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const msgs: StreamMessage[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  cleanups.push(() => abort.abort());
  return {
    msgs,
    async until(pred, ms = 4000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`stream: timed out with ${JSON.stringify(msgs.map((m) => m.type))}`)), ms);
      });
      try {
        while (!pred(msgs)) {
          const { done, value } = await Promise.race([reader.read(), timeout]);
          if (done) throw new Error('stream ended');
          buf += decoder.decode(value, { stream: true });
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
            buf = buf.slice(i + 2);
            if (data) msgs.push(JSON.parse(data.slice(6)) as StreamMessage);
          }
        }
      } finally {
        clearTimeout(timer);
      }
    },
    stop: () => abort.abort(),
  };
}

const waitUntil = async (pred: () => boolean, ms = 3000, what = 'condition') => {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('injectBridge', () => {
  it('puts the page script before the app\'s first script, else before </head>', () => {
    const out = injectBridge(INDEX, './umbra-bridge.js');
    expect(out.indexOf('<script type="module" src="./umbra-bridge.js"></script>')).toBeLessThan(out.indexOf('index-abc.js'));
    expect(injectBridge('<html><head></head></html>', './b.js')).toContain('<script type="module" src="./b.js"></script>\n    </head>');
    expect(() => injectBridge('<p>hi</p>', './b.js')).toThrow(/built renderer/);
  });
});

describe('the browser-mode host', () => {
  it('listens on 127.0.0.1 only and refuses any other address', async () => {
    const { host } = await setup();
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    await expect(startBrowserHost({ socketPath: '/x', distDir: dist, host: '0.0.0.0' })).rejects.toThrow(/127\.0\.0\.1 only/);
    await expect(startBrowserHost({ socketPath: '/x', distDir: join(dir, 'nope') })).rejects.toThrow(/no built renderer/);
  });

  it('serves index.html with the page script injected, the CSP and hardening headers', async () => {
    const { host } = await setup();
    for (const path of ['/', '/index.html', '/?x=1']) {
      const r = await raw(host, path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body).toMatch(/<script type="module" src="\.\/umbra-bridge\.js"><\/script>\s*<script type="module" crossorigin src="\.\/assets\/index-abc\.js">/);
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control'))).toEqual([]);
    }
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
  });

  it('serves the page script as JavaScript (transpiled from bridge-client.ts here)', async () => {
    const { host } = await setup();
    const r = await raw(host, '/umbra-bridge.js');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(r.body).toContain('export function createUmbraBridge');
    expect(r.body).not.toMatch(/^import /m);
    expect(r.body).not.toContain('sourceMappingURL');
  });

  it('serves files with their MIME types, and nothing else', async () => {
    const { host } = await setup();
    expect((await raw(host, '/assets/index-abc.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await raw(host, '/assets/index-abc.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw(host, '/assets/data.bin')).headers['content-type']).toBe('application/octet-stream');
    const head = await raw(host, '/assets/index-abc.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    for (const path of [
      '/assets', '/assets/', '/assets/sub', '/assets/sub/', // folders: no listing
      '/nope.js', '/.secret', '/assets/%2e%2e/.secret',
      '/../outside.txt', '/assets/../../outside.txt', '/%2e%2e/outside.txt', '/assets/..%2f..%2foutside.txt', '/assets/..%5c..%5coutside.txt',
      '/assets/link.txt', // a symlink out of the folder
      '/assets/%00.js', '/%E0%A4%A',
    ]) {
      const r = await raw(host, path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('outside the dist folder');
      expect(r.body, path).not.toContain('dot file');
    }
    expect((await raw(host, '/assets/index-abc.js', { method: 'POST' })).status).toBe(405);
    expect((await raw(host, '/x', { method: 'DELETE' })).status).toBe(405);
  });

  it('refuses a wrong Host header (DNS rebinding), for pages and the API alike', async () => {
    const { host } = await setup();
    expect((await raw(host, '/', { headers: { host: `localhost:${host.port}` } })).status).toBe(200);
    for (const h of [`evil.example:${host.port}`, 'evil.example', `127.0.0.1:${host.port + 1}`, `127.0.0.1`]) {
      expect((await raw(host, '/', { headers: { host: h } })).status, h).toBe(403);
      expect((await callApi(host, { method: 'version', params: {} }, { host: h })).status, h).toBe(403);
    }
  });

  it('answers /api only with the token, from its own origin, without CORS', async () => {
    const { host } = await setup();
    expect((await callApi(host, { method: 'version', params: {} }, { 'x-umbra-token': '' })).status).toBe(403);
    expect((await callApi(host, { method: 'version', params: {} }, { 'x-umbra-token': host.token.slice(1) + 'A' })).status).toBe(403);
    const noHeader = await raw(host, '/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"method":"version"}' });
    expect(noHeader.status).toBe(403);
    expect((await raw(host, `/api/call?token=${host.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"method":"version"}' })).status).toBe(403);
    expect((await raw(host, '/api/events')).status).toBe(403);
    expect((await callApi(host, { method: 'version', params: {} }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await callApi(host, { method: 'version', params: {} }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const preflight = await raw(host, '/api/call', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-umbra-token' } });
    expect(preflight.status).toBe(403);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control'))).toEqual([]);

    const ok = await callApi(host, { method: 'version', params: {} }, { origin: host.origin, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ result: { version: '0.1.0-fake', protocol: 1 } });
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(Object.keys(ok.headers).filter((h) => h.startsWith('access-control'))).toEqual([]);
    expect((await raw(host, '/api/nope', { headers: { 'x-umbra-token': host.token } })).status).toBe(404);
  });

  it('/api/call: the helper\'s answers and errors as values; bad requests as HTTP errors', async () => {
    const { host } = await setup();
    expect(JSON.parse((await callApi(host, { method: 'removeServer', params: { id: 'nope' } })).body)).toEqual({ error: { code: ErrorCode.NotFound, message: 'no server "nope": see umbra servers' } });
    expect(JSON.parse((await callApi(host, { method: 'connect', params: { serverId: 'BAD ID' } })).body).error.code).toBe(ErrorCode.InvalidParams);
    expect(JSON.parse((await callApi(host, { method: 'connect', params: { serverId: 'se-sto', extra: 1 } })).body).error.code).toBe(ErrorCode.InvalidParams);
    expect(JSON.parse((await callApi(host, { method: 'shutdown', params: {} })).body).error.code).toBe(ErrorCode.MethodNotFound);
    expect(JSON.parse((await callApi(host, { method: '__proto__' })).body).error.code).toBe(ErrorCode.MethodNotFound);
    expect(JSON.parse((await callApi(host, { method: 'status' })).body).result.state).toBe('disconnected');
    const h = { 'x-umbra-token': host.token };
    expect((await raw(host, '/api/call', { method: 'POST', headers: { ...h, 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await raw(host, '/api/call', { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '{nope' })).status).toBe(400);
    expect((await raw(host, '/api/call', { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: 'x'.repeat(300 * 1024) })).status).toBe(413);
    expect((await raw(host, '/api/call', { headers: h })).status).toBe(405);
  });

  it('/api/events: reachable, a snapshot, then the helper\'s events in order; and a helper restart', async () => {
    const { host, fake, server, socketPath } = await setup();
    const s = await openStream(host);
    await s.until((m) => m.some((x) => x.type === 'snapshot'));
    expect(s.msgs[0]).toEqual({ type: 'reachable', reachable: true, host: { install: 'checkout', socket: socketPath } });
    expect(s.msgs[1]).toMatchObject({ type: 'snapshot', snapshot: { status: { state: 'disconnected' }, settings: { killSwitch: false } } });
    await callApi(host, { method: 'connect', params: { serverId: 'de-fra' } });
    await s.until((m) => m.some((x) => x.type === 'event' && x.event.type === 'status' && x.event.status.state === 'connected'));
    expect(s.msgs.slice(2).map((m) => (m.type === 'event' && m.event.type === 'status' ? m.event.status.state : m.type))).toEqual(['connecting', 'connected']);

    await server!.close();
    fake!.dispose();
    await s.until((m) => m.some((x) => x.type === 'reachable' && !x.reachable));
    const second = new FakeHelper();
    second.status = disconnectedStatus({ rxBytes: 5 });
    await helper(socketPath, second);
    await s.until((m) => m.filter((x) => x.type === 'snapshot').length === 2);
    const tail = s.msgs.slice(4);
    expect(tail.filter((m) => m.type === 'reachable').at(-1)).toMatchObject({ type: 'reachable', reachable: true });
    expect(tail.at(-1)).toMatchObject({ type: 'snapshot', snapshot: { status: { rxBytes: 5 } } });
    expect(tail.some((m) => m.type === 'reachable' && !m.reachable && /not running|closed/.test(m.message ?? ''))).toBe(true);
    // While it was away the page heard how to restart it and what its last status said of a block.
    const lastStatus = s.msgs.filter((m) => m.type === 'event' && m.event.type === 'status').at(-1);
    const lastBlocked = lastStatus?.type === 'event' && lastStatus.event.type === 'status' ? lastStatus.event.status.blocked : undefined;
    expect(typeof lastBlocked).toBe('boolean');
    const away = tail.find((m) => m.type === 'reachable' && !m.reachable);
    expect(away).toMatchObject({ host: { install: 'checkout', socket: socketPath, lastBlocked } });
    s.stop();
  });

  it('the page script\'s bridge: subscribe, events, calls, and a helper that restarts', async () => {
    const { host, fake, server, socketPath } = await setup();
    const bridge = createUmbraBridge({ baseUrl: `${host.origin}/`, token: host.token, retryMs: [20, 40] });
    cleanups.push(() => bridge.close());
    const changes: [boolean, string | undefined][] = [];
    bridge.onConnectionChange((r, m) => changes.push([r, m]));
    await waitUntil(() => changes.length > 0, 3000, 'the first reachability');
    expect(changes).toEqual([[true, undefined]]);

    const events: HelperEvent[] = [];
    const snap = await bridge.subscribe((e) => events.push(e));
    expect(snap.servers.map((s) => s.id)).toEqual(['se-sto', 'de-fra']);
    const st = await bridge.call('connect', { serverId: 'se-sto' });
    expect(st.state).toBe('connecting');
    await waitUntil(() => events.some((e) => e.type === 'status' && e.status.state === 'connected'), 3000, 'connected');
    expect(events.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.status.state : ''))).toEqual(['connecting', 'connected']);
    expect(await bridge.call('removeServer', { id: 'nope' }).catch((e: unknown) => e)).toEqual({ code: ErrorCode.NotFound, message: 'no server "nope": see umbra servers' });

    // The helper goes away: the page hears it in plain words, and calls fail as values.
    await server!.close();
    fake!.dispose();
    await waitUntil(() => changes.at(-1)?.[0] === false, 3000, 'unreachable');
    await waitUntil(() => /not running/.test(changes.at(-1)?.[1] ?? ''), 3000, 'the "not running" message');
    expect(changes.at(-1)?.[1]).toMatch(/not running \((no socket at|nothing listens on) /);
    expect(await bridge.call('status', {}).catch((e: unknown) => e)).toMatchObject({ code: 'not-running' });
    await expect(bridge.subscribe(() => {})).rejects.toMatchObject({ code: 'not-running' });

    // It comes back with another state: reachable again, and a new subscribe sees the new state.
    const second = new FakeHelper();
    second.status = disconnectedStatus({ txBytes: 99 });
    await helper(socketPath, second);
    await waitUntil(() => changes.at(-1)?.[0] === true, 3000, 'reachable again');
    const events2: HelperEvent[] = [];
    const snap2 = await bridge.subscribe((e) => events2.push(e));
    expect(snap2.status.txBytes).toBe(99);
    second.setStatus(disconnectedStatus({ txBytes: 100 }));
    await waitUntil(() => events2.length === 1, 3000, 'an event after the restart');
    expect(events.length).toBe(2); // the replaced listener hears nothing more

    bridge.unsubscribe();
    second.setStatus(disconnectedStatus({ txBytes: 101 }));
    await new Promise((r) => setTimeout(r, 50));
    expect(events2.length).toBe(1);
  });

  it('the bridge says so when the host itself goes away, or refuses its token', async () => {
    const { host } = await setup();
    const bridge = createUmbraBridge({ baseUrl: host.origin, token: host.token, retryMs: [20] });
    cleanups.push(() => bridge.close());
    const changes: [boolean, string | undefined][] = [];
    bridge.onConnectionChange((r, m) => changes.push([r, m]));
    await bridge.subscribe(() => {});
    await host.close();
    await waitUntil(() => changes.at(-1)?.[0] === false, 3000, 'host gone');
    expect(changes.at(-1)?.[1]).toBe(HOST_GONE_MESSAGE);
    expect(await bridge.call('status', {}).catch((e: unknown) => e)).toEqual({ code: 'host-unreachable', message: HOST_GONE_MESSAGE });

    const other = await setup();
    const wrong = createUmbraBridge({ baseUrl: other.host.origin, token: 'x'.repeat(43) });
    cleanups.push(() => wrong.close());
    expect(await wrong.call('status', {}).catch((e: unknown) => e)).toMatchObject({ code: 'forbidden' });
    await expect(wrong.subscribe(() => {})).rejects.toMatchObject({ code: 'forbidden' });
    const none = createUmbraBridge({ baseUrl: other.host.origin, token: null });
    expect(await none.call('status', {}).catch((e: unknown) => e)).toMatchObject({ code: 'no-token' });
  });

  it('the host starts before the helper and reports it once it runs', async () => {
    const { host, socketPath } = await setup({ helperRunning: false });
    expect(host.link.reachable).toBe(false);
    const s = await openStream(host);
    await s.until((m) => m.length >= 1);
    expect(s.msgs[0]).toMatchObject({ type: 'reachable', reachable: false, code: 'not-running', message: expect.stringMatching(/not running/) });
    await helper(socketPath);
    await s.until((m) => m.some((x) => x.type === 'snapshot'));
    expect(s.msgs.filter((m) => m.type === 'reachable').at(-1)).toMatchObject({ type: 'reachable', reachable: true });
    expect(host.link.reachable).toBe(true);
    s.stop();
  });
});

describe('takeToken', () => {
  function fakeWindow(hash: string, stored: string | null = null) {
    const store = new Map<string, string>(stored ? [['umbra.browserHostToken', stored]] : []);
    const replaced: string[] = [];
    const win = {
      location: { href: `http://127.0.0.1:1/${hash}`, hash, pathname: '/', search: '' },
      history: { state: null, replaceState: (_d: unknown, _u: string, url?: string) => replaced.push(url ?? '') },
      sessionStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) },
      fetch,
      dispatchEvent: () => true,
    } satisfies BridgeWindow;
    return { win, store, replaced };
  }
  it('takes the token out of the address bar into sessionStorage', () => {
    const t = 'A'.repeat(43);
    const { win, store, replaced } = fakeWindow(`#token=${t}`);
    expect(takeToken(win)).toBe(t);
    expect(store.get('umbra.browserHostToken')).toBe(t);
    expect(replaced).toEqual(['/']);
  });
  it('after a reload, reads it from sessionStorage', () => {
    const { win, replaced } = fakeWindow('', 'B'.repeat(43));
    expect(takeToken(win)).toBe('B'.repeat(43));
    expect(replaced).toEqual([]);
  });
  it('ignores what is not a token', () => {
    expect(takeToken(fakeWindow('#token=<script>').win)).toBeNull();
  });
});
