// Who can use browser mode besides the page it was opened for: the launch page keeps the token out
// of other programs' argv and out of other users' reach, and a request from another local account
// is refused even with the right token (the host looks its uid up in /proc/net/tcp). As root the
// "other account" is nobody (65534), in a child process; elsewhere those cases are skipped.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startIpcServer } from '../../helper/ipc/server.js';
import { FakeHelper } from '../../helper/ipc/testing/fake-helper.js';
import { startBrowserHost, type BrowserHostOptions } from './host.js';
import { launchPage } from './launch-file.js';

const root = process.getuid?.() === 0;
const NOBODY = 65534;
let dir: string;
let seq = 0;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-bhost-access-'));
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><html><head><title>Umbra</title></head><body></body></html>\n');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup(extra: Partial<BrowserHostOptions> = {}) {
  const socketPath = join(dir, `h${++seq}.sock`);
  const fake = new FakeHelper({ connectDelayMs: 10 });
  const server = await startIpcServer({ socketPath, handlers: fake.handlers, subscribe: fake.subscribe, group: 'nogroup', log: () => {} });
  cleanups.push(() => server.close(), () => fake.dispose());
  const host = await startBrowserHost({ socketPath, distDir: join(dir, 'dist'), host: '127.0.0.1', port: 0, backoffMs: [20, 40], firstContactMs: 500, ...extra });
  cleanups.push(() => host.close());
  return host;
}

/** POST /api/call {status} from a child process, as `uid` when given; resolves to status and body. */
function callFrom(port: number, token: string, uid?: number): Promise<{ status: number; body: string }> {
  const script = `
    const http = require('node:http');
    const req = http.request({ host: '127.0.0.1', port: ${port}, path: '/api/call', method: 'POST',
      headers: { host: '127.0.0.1:${port}', 'content-type': 'application/json', 'x-umbra-token': ${JSON.stringify(token)} } }, (res) => {
      let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d));
      res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body })));
    });
    req.on('error', (e) => process.stdout.write(JSON.stringify({ status: 0, body: e.message })));
    req.end(JSON.stringify({ method: 'status', params: {} }));`;
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], ...(uid === undefined ? {} : { uid, gid: uid }) });
  let out = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => c.once('exit', () => (out ? resolve(JSON.parse(out) as { status: number; body: string }) : reject(new Error('the child printed nothing')))));
}

describe('the launch page', () => {
  it('is a file:// address without the token; the file, 0600 in a 0700 directory of ours, forwards to the token address', async () => {
    const host = await setup();
    expect(host.openUrl).toMatch(/^file:\/\//);
    expect(host.openUrl).not.toContain(host.token);
    const path = fileURLToPath(host.openUrl);
    const file = statSync(path);
    const folder = statSync(dirname(path));
    expect(file.mode & 0o777).toBe(0o600);
    expect(folder.mode & 0o777).toBe(0o700);
    expect(file.uid).toBe(process.getuid!());
    expect(readFileSync(path, 'utf8')).toContain(JSON.stringify(host.url));
    await host.close();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(dirname(path))).toBe(false);
  });

  it('escapes the address it forwards to', () => {
    const page = launchPage('http://127.0.0.1:1/#token=a"b<c&d');
    expect(page).not.toContain('a"b<c');
    expect(page).toContain('a&quot;b&lt;c&amp;d');
    expect(page).toContain('"http://127.0.0.1:1/#token=a\\"b\\u003cc&d"');
  });
});

describe('connections from other local accounts', () => {
  it('our own uid, in another process, gets in with the token', async () => {
    const host = await setup();
    const r = await callFrom(host.port, host.token);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toHaveProperty('result');
  });

  it.skipIf(!root)('another uid is refused even with the right token', async () => {
    const host = await setup();
    const r = await callFrom(host.port, host.token, NOBODY);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/another local account/);
  });

  it.skipIf(!root)('the browser user named by the host gets in, and owns the launch page', async () => {
    const host = await setup({ browserUser: { uid: NOBODY, gid: NOBODY } });
    expect((await callFrom(host.port, host.token, NOBODY)).status).toBe(200);
    const path = fileURLToPath(host.openUrl);
    expect(statSync(path).uid).toBe(NOBODY);
    expect(statSync(dirname(path)).uid).toBe(NOBODY);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
