// IpcClient against the real server (fake handlers) and against hand-written misbehaving
// servers, all on Unix sockets in a temp dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeConnectError, IpcClient, IpcError } from './client.js';
import { ErrorCode, RpcError, type Handlers, type HelperEvent } from './schema.js';
import { startIpcServer, type IpcServerOptions } from './server.js';
import { disconnectedStatus, FakeHelper } from './testing/fake-helper.js';

let dir: string;
let seq = 0;
const cleanups: (() => unknown)[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-ipccli-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(opts: Omit<Partial<IpcServerOptions>, 'handlers'> & { handlers?: Partial<Handlers> } = {}) {
  const fake = new FakeHelper();
  const path = join(dir, `c${++seq}.sock`);
  const { handlers, ...rest } = opts;
  const server = await startIpcServer({ socketPath: path, handlers: { ...fake.handlers, ...handlers }, subscribe: fake.subscribe, group: 'nogroup', log: () => {}, ...rest });
  cleanups.push(() => server.close(), () => fake.dispose());
  return { server, path, fake };
}

async function connect(path: string, opts = {}): Promise<IpcClient> {
  const client = await IpcClient.connect(path, opts);
  cleanups.push(() => client.close());
  return client;
}

/** A server that answers every line with `reply(line)`. */
async function rawServer(reply: (line: string, socket: net.Socket) => void): Promise<string> {
  const path = join(dir, `r${++seq}.sock`);
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        reply(buf.slice(0, i), s);
        buf = buf.slice(i + 1);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return path;
}

describe('connecting', () => {
  it('says the helper is not running when there is no socket', async () => {
    const path = join(dir, 'missing.sock');
    const e = await IpcClient.connect(path).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IpcError);
    expect(e).toMatchObject({ kind: 'not-running', message: `the Umbra helper is not running (no socket at ${path})`, hint: 'start it with sudo systemctl start umbrad (in a source checkout: sudo npx umbrad serve)' });
  });

  it('says the helper is not running when nobody listens on a stale socket', async () => {
    const path = join(dir, `stale${++seq}.sock`);
    await new Promise<void>((resolve) => {
      spawn(process.execPath, ['-e', `require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`, path]).on('exit', () => resolve());
    });
    await expect(IpcClient.connect(path)).rejects.toMatchObject({ kind: 'not-running', message: expect.stringMatching(/nothing listens on /), hint: expect.stringMatching(/sudo systemctl start umbrad/) });
  });

  it('waits out a full listen queue (EAGAIN) instead of failing', async () => {
    const path = join(dir, `full${++seq}.sock`);
    // A listener that stops accepting: a child process, stopped (SIGSTOP) once it listens.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer(() => {}).listen({ path: process.argv[1], backlog: 1 }, () => console.log('ready'))`, path], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanups.push(() => child.kill('SIGKILL'));
    await new Promise((r) => child.stdout.once('data', r));
    process.kill(child.pid!, 'SIGSTOP');
    const held: net.Socket[] = [];
    cleanups.push(() => held.forEach((h) => h.destroy()));
    let code: string | undefined;
    for (let i = 0; i < 50 && code === undefined; i++) {
      const h = net.connect(path);
      held.push(h);
      code = await new Promise<string | undefined>((r) => {
        h.once('connect', () => r(undefined));
        h.once('error', (e: NodeJS.ErrnoException) => r(e.code));
      });
    }
    expect(code, 'the queue is full').toBe('EAGAIN');
    const connecting = IpcClient.connect(path, { timeoutMs: 10_000 });
    setTimeout(() => process.kill(child.pid!, 'SIGCONT'), 100);
    const client = await connecting;
    expect(client.closed).toBe(false);
    await client.close();
  });

  it('words each connect failure', () => {
    const err = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
    expect(describeConnectError(err('EACCES'), '/run/umbra/umbrad.sock')).toMatchObject({
      kind: 'permission-denied',
      message: 'permission denied on /run/umbra/umbrad.sock: only root and members of the umbra group may control Umbra. Add yourself: sudo usermod -aG umbra $USER, then log out and in',
    });
    expect(describeConnectError(err('ENOENT'), '/x').kind).toBe('not-running');
    expect(describeConnectError(err('ECONNREFUSED'), '/x').kind).toBe('not-running');
    expect(describeConnectError(err('EMFILE'), '/x')).toMatchObject({ kind: 'unreachable', message: 'cannot reach the Umbra helper at /x: connect EMFILE' });
  });
});

describe('calls', () => {
  it('resolve with the checked result; params may be left out when optional', async () => {
    const { path } = await start();
    const client = await connect(path);
    expect(await client.call('status')).toEqual(disconnectedStatus());
    expect(await client.call('version', {})).toEqual({ version: '0.1.0-fake', protocol: 1 });
    expect(await client.call('setSettings', { allowLan: true })).toMatchObject({ allowLan: true });
    const results = await Promise.all(Array.from({ length: 50 }, () => client.call('getSettings')));
    expect(results.every((r) => r.allowLan)).toBe(true);
  });

  it('are typed: params are required where the schema requires them', () => {
    const typeOnly = (c: IpcClient) => {
      // @ts-expect-error: loadCatalog needs a text or a url
      void c.call('loadCatalog');
      void c.call('loadCatalog', { text: '{}' });
      void c.call('status');
    };
    expect(typeOnly).toBeTypeOf('function');
  });

  it('reject with the RpcError the helper answered', async () => {
    const { path } = await start({ handlers: { connect: () => Promise.reject(new RpcError(ErrorCode.NoProfile, 'no profile: import a config first (umbra import FILE)', { reason: 'no-profile' })) } });
    const client = await connect(path);
    const e = await client.call('connect', {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ code: ErrorCode.NoProfile, message: 'no profile: import a config first (umbra import FILE)', data: { reason: 'no-profile' } });
  });

  it('check params before sending them', async () => {
    const { path, fake } = await start();
    const client = await connect(path);
    // @ts-expect-error: a wrong type is a compile error too
    const e = await client.call('connect', { serverId: 42 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: ErrorCode.InvalidParams, message: 'invalid params for connect: serverId: Invalid input: expected string, received number' });
    expect(fake.calls).toEqual([]);
  });

  it('reject a result that does not match the schema as a protocol error', async () => {
    const { path } = await start({ validateResults: false, handlers: { version: () => Promise.resolve({ version: 3 } as never) } });
    const client = await connect(path);
    await expect(client.call('version')).rejects.toMatchObject({ kind: 'protocol', message: expect.stringMatching(/reply to version does not match this client's schema \(version: .*protocol: .*\): are the helper and the client the same version\?/) });
    expect(await client.call('status')).toMatchObject({ state: 'disconnected' });
  });

  it('time out', async () => {
    const { path } = await start({ handlers: { status: () => new Promise(() => {}) } });
    const client = await connect(path, { callTimeoutMs: 100 });
    await expect(client.call('status')).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/did not answer status within 100 ms: check it with sudo systemctl status umbrad/) });
  });

  it('all fail with the error the helper sends to the connection as a whole (id null)', async () => {
    const { path } = await start({ maxClients: 1 });
    const first = await connect(path);
    await first.subscribe(() => {});
    const second = await connect(path);
    const closed = new Promise<Error | undefined>((r) => second.once('close', r));
    const e = await second.call('status').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ code: ErrorCode.Busy });
    expect(await closed).toBe(e);
    await expect(second.call('status')).rejects.toBe(e);
  });
});

describe('events', () => {
  it('arrive in order, after the snapshot continuation and the continuation of the call that caused them', async () => {
    const box = {} as { fake: FakeHelper };
    const { path, fake: f } = await start({
      handlers: {
        subscribe: () => {
          // Raised while the snapshot is made: the server sends them right after it.
          box.fake.emit({ type: 'status', status: disconnectedStatus({ rxBytes: 1 }) });
          box.fake.emit({ type: 'status', status: disconnectedStatus({ rxBytes: 2 }) });
          return Promise.resolve({ status: box.fake.status, settings: box.fake.settings, servers: box.fake.servers });
        },
      },
    });
    box.fake = f;
    const fake = f;
    const client = await connect(path);
    const order: string[] = [];
    const snapshot = await client.subscribe((e: HelperEvent) => order.push(e.type === 'status' ? `status ${e.status.rxBytes}` : e.type));
    order.push('snapshot');
    expect(snapshot.servers).toHaveLength(2);
    await expect.poll(() => order.length).toBe(3);
    expect(order).toEqual(['snapshot', 'status 1', 'status 2']);
    // setSettings raises its event before it returns: the event comes first.
    await client.call('setSettings', { killSwitch: true });
    order.push('setSettings returned');
    fake.emit({ type: 'status', status: disconnectedStatus({ rxBytes: 3 }) });
    await expect.poll(() => order.length).toBe(6);
    expect(order.slice(3)).toEqual(['settings', 'setSettings returned', 'status 3']);
  });

  it('a listener that throws is reported as an error event, the others still get it', async () => {
    const { path, fake } = await start();
    const client = await connect(path);
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const got: HelperEvent[] = [];
    await client.subscribe(() => {
      throw new Error('listener bug');
    });
    await client.subscribe((e) => got.push(e));
    fake.emit({ type: 'servers', servers: [] });
    await expect.poll(() => got.length).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['listener bug']);
  });
});

describe('closing', () => {
  it('close(): pending calls reject, "close" comes without a reason, later calls reject', async () => {
    const { path } = await start({ handlers: { status: () => new Promise(() => {}) } });
    const client = await connect(path);
    const reasons: (Error | undefined)[] = [];
    client.on('close', (r) => reasons.push(r));
    const pending = client.call('status');
    await client.close();
    await expect(pending).rejects.toMatchObject({ kind: 'closed' });
    await expect(client.call('version')).rejects.toMatchObject({ kind: 'closed' });
    expect(reasons).toEqual([undefined]);
    expect(client.closed).toBe(true);
    await client.close();
  });

  it('the helper going away: pending calls reject and "close" says why', async () => {
    const { path, server } = await start({ handlers: { status: () => new Promise(() => {}) } });
    const client = await connect(path);
    const closed = new Promise<Error | undefined>((r) => client.once('close', r));
    const pending = client.call('status');
    await new Promise((r) => setTimeout(r, 20));
    await server.close();
    await expect(pending).rejects.toMatchObject({ kind: 'closed', message: 'the Umbra helper closed the connection (did it stop or restart?)' });
    expect(await closed).toMatchObject({ kind: 'closed' });
  });

  it('garbage from the helper is an error event; a line over the limit closes the connection', async () => {
    const path = await rawServer((line, s) => {
      const req = JSON.parse(line) as { id: number; method: string };
      if (req.method === 'version') s.write(`not json\n{"jsonrpc":"2.0","id":${req.id},"result":{"version":"1","protocol":1}}\n`);
      else s.write(`{"jsonrpc":"2.0","id":${req.id},"result":"${'x'.repeat(2000)}"}\n`);
    });
    const client = await connect(path, { maxLineBytes: 1000 });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    expect(await client.call('version')).toEqual({ version: '1', protocol: 1 });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/sent something this client cannot read: not valid JSON/)]);
    await expect(client.call('status')).rejects.toMatchObject({ kind: 'protocol', message: 'the Umbra helper sent a line longer than 1000 bytes' });
    expect(client.closed).toBe(true);
  });
});
