// Who may connect, tested for real: child processes running as uid/gid 65534 (nobody/nogroup)
// connect to the server; and how the server sets up its socket file. The group is an option so
// the tests use groups that exist (adm, nogroup) and never touch /etc/group.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readGroupGid } from './permissions.js';
import { ErrorCode } from './schema.js';
import { startIpcServer, type IpcServer, type IpcServerOptions } from './server.js';
import { FakeHelper } from './testing/fake-helper.js';
import { RawClient } from './testing/raw-client.js';

const isRoot = process.getuid?.() === 0;
let dir: string;
let seq = 0;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-ipcperm-'));
  chmodSync(dir, 0o755); // nobody must be able to reach the sockets inside
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(opts: Partial<IpcServerOptions> = {}): Promise<{ server: IpcServer; path: string; logs: string[] }> {
  const fake = new FakeHelper();
  const logs: string[] = [];
  const path = opts.socketPath ?? join(dir, `p${++seq}.sock`);
  const server = await startIpcServer({ socketPath: path, handlers: fake.handlers, subscribe: fake.subscribe, log: (l) => logs.push(l), ...opts });
  cleanups.push(() => server.close());
  return { server, path, logs };
}

/** A node child as uid/gid 65534 that connects, optionally sends one request, and reports what it saw. */
function childAsNobody(path: string, send: boolean): Promise<{ pid: number; lines: unknown[]; closedByServer: boolean; error?: string }> {
  const script = `
    const net = require('node:net');
    const s = net.connect(process.argv[1]);
    let buf = '';
    let done = false;
    const report = (closedByServer, error) => {
      if (done) return;
      done = true;
      const lines = buf.split('\\n').filter(Boolean).map((l) => JSON.parse(l));
      process.stdout.write(JSON.stringify({ lines, closedByServer, error }));
      process.exit(0);
    };
    s.on('connect', () => { if (process.argv[2] === 'send') s.write('{"jsonrpc":"2.0","id":42,"method":"status"}\\n'); });
    s.on('data', (d) => { buf += d; if (buf.includes('\\n')) setTimeout(() => report(false), 500); });
    s.on('close', () => report(true));
    s.on('error', (e) => report(false, e.code));
    setTimeout(() => report(false, 'timeout'), 8000);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, path, send ? 'send' : 'wait'], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve({ pid: child.pid!, ...(JSON.parse(out) as { lines: unknown[]; closedByServer: boolean; error?: string }) });
      } catch {
        reject(new Error(`child printed ${JSON.stringify(out)}`));
      }
    });
  });
}

describe.skipIf(!isRoot)('a caller outside the group (a real process as uid 65534)', () => {
  it('gets ONE PermissionDenied answer to its first request, with its id, and is disconnected', async () => {
    // nobody (65534) is not in adm.
    const { path, logs } = await start({ group: 'adm', socketMode: 0o666 });
    const seen = await childAsNobody(path, true);
    expect(seen.closedByServer).toBe(true);
    expect(seen.lines).toEqual([{
      jsonrpc: '2.0',
      id: 42,
      error: {
        code: ErrorCode.PermissionDenied,
        message: 'permission denied: only root and members of the adm group may control Umbra. Add yourself: sudo usermod -aG adm $USER, then log out and in',
        data: { reason: 'permission-denied', group: 'adm' },
      },
    }]);
    expect(logs).toContainEqual(`ipc: refused pid ${seen.pid} (uid 65534): uid 65534 (pid ${seen.pid}) is not in the "adm" group`);
  });

  it('that sends nothing gets the error with id null after the grace period', async () => {
    const { path } = await start({ group: 'adm', socketMode: 0o666, refusedGraceMs: 200 });
    const seen = await childAsNobody(path, false);
    expect(seen.closedByServer).toBe(true);
    expect(seen.lines).toEqual([{ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: ErrorCode.PermissionDenied }) }]);
  });

  it('is refused when the group does not exist (only root may call)', async () => {
    const { path } = await start({ group: 'umbra-no-such-group', socketMode: 0o666 });
    const seen = await childAsNobody(path, true);
    expect(seen.closedByServer).toBe(true);
    expect(seen.lines).toEqual([{ jsonrpc: '2.0', id: 42, error: expect.objectContaining({ code: ErrorCode.PermissionDenied, message: expect.stringMatching(/only root may control Umbra on this machine \(there is no "umbra-no-such-group" group\)/) }) }]);
  });

  it('while a member of the group (here by its primary gid) is served', async () => {
    const { path } = await start({ group: 'nogroup', socketMode: 0o666 });
    const seen = await childAsNobody(path, true);
    expect(seen.closedByServer).toBe(false);
    expect(seen.lines).toEqual([{ jsonrpc: '2.0', id: 42, result: expect.objectContaining({ state: 'disconnected' }) }]);
  });

  it('the default socket mode keeps others out at connect (EACCES)', async () => {
    const { path } = await start({ group: 'adm' });
    const seen = await childAsNobody(path, true);
    expect(seen.error).toBe('EACCES');
    expect(seen.lines).toEqual([]);
  });
});

describe('the socket file', () => {
  it.skipIf(!isRoot)('is mode 0660, owned by root and the group when it exists', async () => {
    const { path } = await start({ group: 'nogroup' });
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.uid).toBe(0);
    expect(st.gid).toBe(readGroupGid('nogroup'));
    const adm = await start({ group: 'adm' });
    expect(statSync(adm.path).gid).toBe(readGroupGid('adm'));
  });

  it('stays root-only, with a log line, when the group does not exist', async () => {
    const { path, logs } = await start({ group: 'umbra-no-such-group' });
    const st = statSync(path);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(process.getgid!());
    expect(logs).toContainEqual(`ipc: there is no "umbra-no-such-group" group: only root may use ${path}`);
  });

  it('gets its parent directory created, 0755', async () => {
    const path = join(dir, 'run', 'umbra', 'umbrad.sock');
    await start({ socketPath: path });
    expect(statSync(join(dir, 'run', 'umbra')).mode & 0o777).toBe(0o755);
    const c = await RawClient.connect(path);
    expect(await c.call(1, 'version')).toMatchObject({ result: { protocol: 1 } });
    c.destroy();
  });

  it('replaces a stale socket nobody answers on', async () => {
    const path = join(dir, `stale${++seq}.sock`);
    // A process that listens and dies without cleaning up leaves a stale socket behind.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`, path]);
      child.on('error', reject);
      child.on('exit', () => resolve());
    });
    expect(statSync(path).isSocket()).toBe(true);
    const { logs } = await start({ socketPath: path });
    expect(logs).toContain(`ipc: removed the stale socket ${path}`);
    const c = await RawClient.connect(path);
    expect(await c.call(1, 'status')).toMatchObject({ id: 1 });
    c.destroy();
  });

  it('refuses to start while another helper answers on it, which keeps serving', async () => {
    const first = await start();
    await expect(start({ socketPath: first.path })).rejects.toThrow(`another Umbra helper is already running on ${first.path}: stop it first (sudo systemctl stop umbrad)`);
    const c = await RawClient.connect(first.path);
    expect(await c.call(1, 'status')).toMatchObject({ id: 1 });
    c.destroy();
  });

  it('refuses a path that is not a socket, and leaves it alone', async () => {
    const path = join(dir, 'regular-file');
    writeFileSync(path, 'keep me');
    await expect(start({ socketPath: path })).rejects.toThrow(`${path} exists and is not a socket: move it away, or give the helper another socket path`);
    expect(existsSync(path)).toBe(true);
  });

  it('refuses to start with a handler missing', async () => {
    const fake = new FakeHelper();
    const { status: _status, ...handlers } = fake.handlers;
    await expect(startIpcServer({ socketPath: join(dir, 'x.sock'), handlers: handlers as typeof fake.handlers, subscribe: fake.subscribe, log: () => {} })).rejects.toThrow('no handler for status');
  });
});
