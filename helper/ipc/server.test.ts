// The IPC server on real Unix sockets in a temp dir, with a fake helper behind it: what a good
// client gets, and every way a bad or unlucky client can misbehave, each answered with an
// error a person can act on while the server keeps serving everyone else.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from './framing.js';
import { ErrorCode, MAX_LINE_BYTES, METHOD_NAMES, RpcError, type Handlers, type HelperEvent } from './schema.js';
import { startIpcServer, type IpcServer, type IpcServerOptions } from './server.js';
import { disconnectedStatus, FAKE_SERVERS, FakeHelper } from './testing/fake-helper.js';
import { RawClient } from './testing/raw-client.js';

let dir: string;
let seq = 0;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-ipc-'));
  chmodSync(dir, 0o755); // the group reaches the sockets through it (else the server logs a note)
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  server: IpcServer;
  path: string;
  fake: FakeHelper;
  logs: string[];
  client(): Promise<RawClient>;
}

async function start(opts: Omit<Partial<IpcServerOptions>, 'handlers'> & { handlers?: Partial<Handlers> } = {}): Promise<Harness> {
  const fake = new FakeHelper();
  const logs: string[] = [];
  const path = join(dir, `s${++seq}.sock`);
  const { handlers, ...rest } = opts;
  const server = await startIpcServer({
    socketPath: path,
    handlers: { ...fake.handlers, ...handlers },
    subscribe: fake.subscribe,
    group: 'nogroup',
    log: (l) => logs.push(l),
    ...rest,
  });
  cleanups.push(() => server.close(), () => fake.dispose());
  const client = async () => {
    const c = await RawClient.connect(path);
    cleanups.push(() => c.destroy());
    return c;
  };
  return { server, path, fake, logs, client };
}

const errorOf = (line: unknown) => (line as { error: { code: number; message: string; data?: unknown } }).error;

describe('a well-behaved client', () => {
  it('gets results with its own ids, numbers or strings', async () => {
    const h = await start();
    const c = await h.client();
    expect(await c.call(1, 'version', {})).toEqual({ jsonrpc: '2.0', id: 1, result: { version: '0.1.0-fake', protocol: 1 } });
    expect(await c.call('abc', 'status')).toEqual({ jsonrpc: '2.0', id: 'abc', result: disconnectedStatus() });
    expect(await c.call(3, 'setSettings', { killSwitch: true })).toMatchObject({ id: 3, result: { killSwitch: true, allowLan: false } });
  });

  it('passes the caller from SO_PEERCRED to the handler', async () => {
    const h = await start();
    const c = await h.client();
    await c.call(1, 'status');
    expect(h.fake.calls.at(-1)?.caller).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  });

  it('answers pipelined requests; a slow one does not hold up the others', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const h = await start({ handlers: { version: async () => (await slow, { version: 'slow', protocol: 1 }) } });
    const c = await h.client();
    c.write(encodeRequest(1, 'version', {}) + encodeRequest(2, 'status', {}));
    expect(await c.next()).toMatchObject({ id: 2 });
    release();
    expect(await c.next()).toMatchObject({ id: 1, result: { version: 'slow' } });
  });

  it('processes notifications (no id) without answering them', async () => {
    const h = await start();
    const c = await h.client();
    c.write('{"jsonrpc":"2.0","method":"setSettings","params":{"allowLan":true}}\n');
    c.write('{"jsonrpc":"2.0","method":"nosuchmethod"}\n');
    c.write('{"jsonrpc":"2.0","method":"connect","params":{"serverId":"BAD ID"}}\n');
    expect(await c.call(9, 'getSettings')).toMatchObject({ id: 9, result: { allowLan: true } });
    expect(h.fake.calls.map((x) => x.method)).toEqual(['setSettings', 'getSettings']);
  });
});

describe('bad requests: each gets an error to act on, and the server keeps serving', () => {
  it.each([
    ['invalid JSON', '{"jsonrpc": "2.0", "id": 1, "method": "status"', ErrorCode.ParseError, null, /parse error: the line is not valid JSON/],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"method":"status"}]', ErrorCode.InvalidRequest, null, /batch requests are not supported: send one request per line/],
    ['not an object', '42', ErrorCode.InvalidRequest, null, /not a JSON-RPC request: a request is one JSON object per line/],
    ['no jsonrpc member', '{"id":5,"method":"status"}', ErrorCode.InvalidRequest, 5, /"jsonrpc" must be "2.0"/],
    ['a bad id', '{"jsonrpc":"2.0","id":[1],"method":"status"}', ErrorCode.InvalidRequest, null, /"id" must be a string, a number or null/],
    ['no method', '{"jsonrpc":"2.0","id":6}', ErrorCode.InvalidRequest, 6, /"method" must be a non-empty string/],
  ])('%s', async (_name, line, code, id, message) => {
    const h = await start();
    const c = await h.client();
    const other = await h.client();
    c.write(`${line}\n`);
    const reply = await c.next();
    expect(reply).toMatchObject({ jsonrpc: '2.0', id, error: { code } });
    expect(errorOf(reply).message).toMatch(message);
    // Same connection and another one still work.
    expect(await c.call(2, 'status')).toMatchObject({ id: 2, result: { state: 'disconnected' } });
    expect(await other.call(3, 'version')).toMatchObject({ id: 3, result: { protocol: 1 } });
  });

  it('an unknown method: MethodNotFound naming it and listing the valid ones', async () => {
    const h = await start();
    const c = await h.client();
    const reply = await c.call(1, 'conect', {});
    expect(errorOf(reply)).toEqual({
      code: ErrorCode.MethodNotFound,
      message: `unknown method "conect"; valid methods: ${METHOD_NAMES.join(', ')}`,
      data: { reason: 'method-not-found', methods: METHOD_NAMES },
    });
    // Names inherited from Object.prototype are not methods.
    expect(errorOf(await c.call(2, 'toString'))).toMatchObject({ code: ErrorCode.MethodNotFound });
    expect(errorOf(await c.call(3, '__proto__'))).toMatchObject({ code: ErrorCode.MethodNotFound });
    expect(await c.call(4, 'status')).toMatchObject({ id: 4, result: {} });
  });

  it('wrong params: InvalidParams with "path: problem", and the handler is not called', async () => {
    const h = await start();
    const c = await h.client();
    const cases: [unknown, RegExp][] = [
      [{ serverId: 'Stockholm!' }, /^invalid params for connect: serverId: ids are lowercase letters/],
      [{ serverId: 7 }, /^invalid params for connect: serverId: Invalid input: expected string, received number$/],
      [{ server: 'se-sto' }, /^invalid params for connect: params: Unrecognized key: "server"$/],
      [[1, 2], /^invalid params for connect: params: Invalid input: expected object, received array$/],
    ];
    let id = 0;
    for (const [params, message] of cases) {
      const reply = await c.call(++id, 'connect', params);
      expect(reply).toMatchObject({ id, error: { code: ErrorCode.InvalidParams, data: { reason: 'invalid-params' } } });
      expect(errorOf(reply).message).toMatch(message);
    }
    expect(h.fake.calls).toEqual([]);
    expect(await c.call(99, 'connect', {})).toMatchObject({ id: 99, result: { state: 'connecting' } });
  });

  it('a handler throwing RpcError: its code, message and data', async () => {
    const h = await start({ handlers: { removeServer: () => Promise.reject(new RpcError(ErrorCode.NotFound, 'no server "xx": see umbra servers', { reason: 'not-found' })) } });
    const c = await h.client();
    expect(await c.call(1, 'removeServer', { id: 'xx' })).toEqual({ jsonrpc: '2.0', id: 1, error: { code: ErrorCode.NotFound, message: 'no server "xx": see umbra servers', data: { reason: 'not-found' } } });
  });

  it('a handler throwing anything else: a generic Internal error, the detail only in the log, never the params', async () => {
    const h = await start({
      handlers: {
        importConfig: () => Promise.reject(new Error('parser exploded at line 3')),
        status: () => {
          throw new TypeError('sync boom');
        },
      },
    });
    const c = await h.client();
    const secret = '[Interface]\nPrivateKey = c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n';
    const reply = await c.call(1, 'importConfig', { text: secret, name: 'x' });
    expect(errorOf(reply)).toEqual({ code: ErrorCode.Internal, message: 'internal error in the helper: see its log (journalctl -u umbrad) and report it', data: { reason: 'internal' } });
    expect(JSON.stringify(reply)).not.toContain('exploded');
    expect(errorOf(await c.call(2, 'status'))).toMatchObject({ code: ErrorCode.Internal });
    expect(h.logs.join('\n')).toMatch(/importConfig failed for pid \d+ \(uid 0\): Error: parser exploded at line 3/);
    expect(h.logs.join('\n')).toMatch(/status failed .*sync boom/);
    // Invalid importConfig params: the error names the problem, not the text.
    const bad = await c.call(3, 'importConfig', { text: secret, name: '' });
    expect(JSON.stringify(bad)).not.toContain('c2VjcmV0');
    expect(h.logs.join('\n')).not.toContain('c2VjcmV0');
  });
});

describe('result validation', () => {
  it('turns a result that fails the schema into an Internal error and a BUG log line', async () => {
    const bad = { state: 'sideways', blocked: false } as unknown as ReturnType<FakeHelper['handlers']['status']>;
    const h = await start({ handlers: { status: () => bad, version: () => Promise.resolve({ version: 'x', protocol: 1, extra: true } as never) } });
    const c = await h.client();
    const reply = await c.call(1, 'status');
    expect(errorOf(reply)).toMatchObject({ code: ErrorCode.Internal, message: expect.stringMatching(/its reply to status failed validation/), data: { reason: 'invalid-result' } });
    expect(errorOf(await c.call(2, 'version'))).toMatchObject({ code: ErrorCode.Internal });
    expect(h.logs).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ipc: BUG: status returned an invalid result: state: Invalid option.*firewallActive: Invalid input/),
      expect.stringMatching(/^ipc: BUG: version returned an invalid result: result: Unrecognized key: "extra"/),
    ]));
  });

  it('can be turned off', async () => {
    const h = await start({ validateResults: false, handlers: { version: () => Promise.resolve({ version: 'x', protocol: 1, extra: true } as never) } });
    const c = await h.client();
    expect(await c.call(1, 'version')).toMatchObject({ result: { extra: true } });
  });

  it('a result JSON cannot hold is an Internal error, not a crash', async () => {
    const h = await start({ validateResults: false, handlers: { version: () => Promise.resolve({ version: 'x', protocol: 1n } as never) } });
    const c = await h.client();
    expect(errorOf(await c.call(1, 'version'))).toMatchObject({ code: ErrorCode.Internal });
    expect(await c.call(2, 'status')).toMatchObject({ id: 2 });
  });
});

describe('abuse of the connection', () => {
  it('a line over the limit: one error, the connection closed, others unaffected', async () => {
    const h = await start();
    const bad = await h.client();
    const good = await h.client();
    expect(await good.call(1, 'status')).toMatchObject({ id: 1 });
    // No newline at all: the server must not wait for one.
    bad.write(`{"jsonrpc":"2.0","id":1,"method":"importConfig","params":{"text":"${'A'.repeat(MAX_LINE_BYTES + 10)}`);
    const reply = await bad.next();
    expect(reply).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: `request line longer than ${MAX_LINE_BYTES} bytes: the connection is closed`, data: { reason: 'line-too-long', maxBytes: MAX_LINE_BYTES } } });
    await bad.closed;
    expect(await good.call(2, 'status')).toMatchObject({ id: 2 });
    expect(h.logs.join('\n')).toMatch(/sent a line longer than 262144 bytes: closing its connection/);
    expect(h.fake.calls.map((c) => c.method)).toEqual(['status', 'status']);
  });

  it('a client vanishing mid-call: the handler still completes and the server serves others', async () => {
    let release!: () => void;
    let finished = false;
    const gate = new Promise<void>((r) => (release = r));
    const h = await start({
      handlers: {
        connect: async () => {
          await gate;
          finished = true;
          return disconnectedStatus({ state: 'connecting' });
        },
      },
    });
    const gone = await h.client();
    gone.request(1, 'connect', {});
    // Several pending calls and a subscription on the vanishing connection.
    gone.request(2, 'connect', {});
    gone.request(3, 'subscribe', {});
    await expect.poll(() => h.fake.calls.some((c) => c.method === 'subscribe')).toBe(true);
    gone.destroy();
    await gone.closed;
    await expect.poll(() => h.server.clientCount).toBe(0);
    release();
    await expect.poll(() => finished).toBe(true);
    h.fake.emit({ type: 'status', status: disconnectedStatus() });
    const other = await h.client();
    expect(await other.call(4, 'status')).toMatchObject({ id: 4 });
    expect(h.logs.filter((l) => !/no "nogroup"/.test(l))).toEqual([]);
  });

  it('a hundred clients at once, each with several pipelined calls: all answered correctly', async () => {
    const h = await start();
    const clients = await Promise.all(Array.from({ length: 100 }, () => h.client()));
    await expect.poll(() => h.server.clientCount).toBe(100);
    await Promise.all(clients.map(async (c, i) => {
      const calls: [number, string, unknown][] = [
        [i * 10 + 1, 'version', {}],
        [i * 10 + 2, 'status', undefined],
        [i * 10 + 3, 'setSettings', { autoConnect: i % 2 === 0 }],
        [i * 10 + 4, 'listServers', {}],
        [i * 10 + 5, 'connect', { serverId: 'NOT VALID' }],
        [i * 10 + 6, 'nope', {}],
      ];
      c.write(calls.map(([id, m, p]) => encodeRequest(id, m, p)).join(''));
      const replies = new Map<number, Record<string, unknown>>();
      for (let k = 0; k < calls.length; k++) {
        const r = (await c.next(10_000)) as Record<string, unknown>;
        replies.set(r.id as number, r);
      }
      expect(replies.get(i * 10 + 1)).toMatchObject({ result: { version: '0.1.0-fake' } });
      expect(replies.get(i * 10 + 2)).toMatchObject({ result: { state: 'disconnected' } });
      expect(replies.get(i * 10 + 3)).toMatchObject({ result: { killSwitch: false } });
      expect((replies.get(i * 10 + 4)!.result as { servers: unknown[] }).servers).toHaveLength(2);
      expect(replies.get(i * 10 + 5)).toMatchObject({ error: { code: ErrorCode.InvalidParams } });
      expect(replies.get(i * 10 + 6)).toMatchObject({ error: { code: ErrorCode.MethodNotFound } });
    }));
    expect(h.fake.calls).toHaveLength(400);
  });

  it('a reply larger than the pending-output limit still reaches a client that reads', async () => {
    const servers = Array.from({ length: 6500 }, (_, i) => ({ ...FAKE_SERVERS[0]!, id: `s-${i}`, name: `Server ${i} ${'x'.repeat(86)}`, endpoint: `198.51.100.${i % 250}:${10_000 + i}` }));
    const h = await start({ handlers: { listServers: () => Promise.resolve({ servers }) } });
    const c = await h.client();
    const reply = (await c.call(1, 'listServers', {})) as { result: { servers: unknown[] } };
    expect(JSON.stringify(reply).length).toBeGreaterThan(2 * 1024 * 1024);
    expect(reply.result.servers).toHaveLength(6500);
    expect(await c.call(2, 'status')).toMatchObject({ id: 2 });
    expect(h.logs.filter((l) => l.includes('dropping'))).toEqual([]);
  });

  it('stops reading from a client with too many calls in flight, and catches up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let running = 0;
    let most = 0;
    const h = await start({
      maxInFlightPerClient: 4,
      handlers: {
        version: async () => {
          most = Math.max(most, ++running);
          await gate;
          running--;
          return { version: 'v', protocol: 1 };
        },
      },
    });
    const c = await h.client();
    c.write(Array.from({ length: 50 }, (_, i) => encodeRequest(i, 'version', {})).join(''));
    await expect.poll(() => running).toBe(4);
    release();
    const ids = new Set<unknown>();
    for (let i = 0; i < 50; i++) ids.add(((await c.next()) as { id: unknown }).id);
    expect(ids.size).toBe(50);
    expect(most).toBe(4);
  });
});

describe('slots: nobody can hold the socket hostage', () => {
  /** Opens `n` connections that send nothing, one after another (each accepted before the next). */
  async function flood(h: Harness, n: number): Promise<RawClient[]> {
    const out: RawClient[] = [];
    for (let i = 0; i < n; i++) out.push(await h.client());
    return out;
  }
  const reasonOf = (line: unknown) => (errorOf(line).data as { reason?: string } | undefined)?.reason;

  it('while 1,000 idle connections are open, the app keeps its subscription and a new client gets status', async () => {
    const h = await start();
    const app = await h.client();
    expect(await app.call(1, 'subscribe')).toMatchObject({ id: 1, result: { status: { state: 'disconnected' } } });
    const hostile = await flood(h, 1000);
    expect(h.server.clientCount).toBeLessThanOrEqual(256);
    // The subscribed app was never evicted: it still gets events.
    h.fake.emit({ type: 'status', status: disconnectedStatus({ rxBytes: 7 }) });
    expect(await app.next()).toMatchObject({ method: 'event', params: { status: { rxBytes: 7 } } });
    const cli = await h.client();
    expect(await cli.call(2, 'status')).toEqual({ jsonrpc: '2.0', id: 2, result: disconnectedStatus() });
    // Those that made room were told why, with id null, and closed.
    const evicted = hostile.filter((c) => c.isClosed);
    expect(evicted.length).toBeGreaterThanOrEqual(1000 - 256);
    expect(await evicted[0]!.next()).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: ErrorCode.Busy, data: { reason: 'evicted' } }) });
    // ... and the flood did not become a flood of log lines.
    expect(h.logs.filter((l) => /closing idle/.test(l)).length).toBeLessThanOrEqual(2);
    for (const c of hostile) c.destroy();
  }, 60_000);

  it('when full, the least recently active idle connection makes room; busy and subscribed ones stay', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let handling = 0;
    const h = await start({ maxClients: 4, handlers: { version: async () => (handling++, await gate, { version: 'v', protocol: 1 }) } });
    const subscribed = await h.client();
    await subscribed.call(1, 'subscribe');
    const busy = await h.client();
    busy.request(1, 'version');
    const older = await h.client();
    await older.call(1, 'status');
    const newer = await h.client();
    await newer.call(1, 'status');
    await expect.poll(() => handling).toBe(1);

    const first = await h.client();
    expect(await first.call(1, 'status')).toMatchObject({ id: 1, result: { state: 'disconnected' } });
    expect(reasonOf(await older.next())).toBe('evicted');
    await older.closed;
    expect(newer.isClosed).toBe(false);
    const second = await h.client();
    expect(await second.call(1, 'status')).toMatchObject({ id: 1 });
    expect(reasonOf(await newer.next())).toBe('evicted');

    // Now every slot is subscribed or busy: a newcomer is refused, with a reason, and closed.
    await first.call(2, 'subscribe');
    await second.call(2, 'subscribe');
    const refused = await h.client();
    expect(errorOf(await refused.next())).toMatchObject({ code: ErrorCode.Busy, message: expect.stringMatching(/too many clients \(4\)/), data: { reason: 'too-many-clients' } });
    await refused.closed;
    expect(subscribed.isClosed || busy.isClosed).toBe(false);
    release();
    expect(await busy.next()).toMatchObject({ id: 1, result: { version: 'v' } });
  });

  it('closes a connection that is quiet and not subscribed after idleTimeoutMs; a subscribed or busy one stays', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await start({ idleTimeoutMs: 150, handlers: { version: async () => (await gate, { version: 'late', protocol: 1 }) } });
    const quiet = await h.client();
    const sub = await h.client();
    await sub.call(1, 'subscribe');
    const busy = await h.client();
    busy.request(1, 'version');
    expect(errorOf(await quiet.next(5000))).toMatchObject({ code: ErrorCode.Busy, message: expect.stringMatching(/without a request/), data: { reason: 'idle', idleMs: 150 } });
    await quiet.closed;
    await new Promise((r) => setTimeout(r, 400));
    expect(sub.isClosed).toBe(false);
    expect(await sub.call(2, 'status')).toMatchObject({ id: 2 });
    expect(busy.isClosed).toBe(false);
    release();
    expect(await busy.next()).toMatchObject({ id: 1, result: { version: 'late' } });
  });

  it('a connection that keeps sending requests is not idle; blank lines do not count', async () => {
    const h = await start({ idleTimeoutMs: 300 });
    const talker = await h.client();
    const blank = await h.client();
    const started = Date.now();
    while (Date.now() - started < 900) {
      expect(await talker.call(1, 'version')).toMatchObject({ id: 1 });
      blank.write('\n');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(talker.isClosed).toBe(false);
    expect(reasonOf(await blank.next())).toBe('idle');
  });
});

describe('subscriptions', () => {
  const status = (n: number): HelperEvent => ({ type: 'status', status: disconnectedStatus({ rxBytes: n }) });

  it('pushes events in order after the snapshot, only to subscribers', async () => {
    const h = await start();
    const sub = await h.client();
    const plain = await h.client();
    expect(await sub.call(1, 'subscribe')).toMatchObject({ id: 1, result: { status: { state: 'disconnected' }, settings: { killSwitch: false }, servers: [{}, {}] } });
    for (let i = 0; i < 100; i++) h.fake.emit(status(i));
    for (let i = 0; i < 100; i++) expect(await sub.next()).toEqual({ jsonrpc: '2.0', method: 'event', params: status(i) });
    // The non-subscriber got none: its next line is its own answer.
    expect(await plain.call(5, 'version')).toMatchObject({ id: 5 });
    // Events caused by a call come with it, in order.
    expect(await sub.call(2, 'setSettings', { killSwitch: true })).toMatchObject({ method: 'event', params: { type: 'settings', settings: { killSwitch: true } } });
    expect(await sub.next()).toMatchObject({ id: 2, result: { killSwitch: true } });
  });

  it('says how many connections subscribe whenever that changes', async () => {
    const counts: number[] = [];
    const h = await start({ onSubscribers: (n) => counts.push(n) });
    const a = await h.client();
    const b = await h.client();
    await a.call(1, 'subscribe');
    await a.call(2, 'subscribe'); // again: still one
    await b.call(1, 'version'); // not a subscriber
    await b.call(2, 'subscribe');
    expect(counts).toEqual([1, 2]);
    a.destroy();
    await expect.poll(() => counts).toEqual([1, 2, 1]);
  });

  it('holds events raised while the snapshot is being made until it is sent', async () => {
    const box = {} as { fake: FakeHelper };
    const h = await start({
      handlers: {
        subscribe: async () => {
          box.fake.emit(status(1));
          await new Promise((r) => setTimeout(r, 10));
          box.fake.emit(status(2));
          return { status: box.fake.status, settings: box.fake.settings, servers: box.fake.servers };
        },
      },
    });
    box.fake = h.fake;
    const sub = await h.client();
    sub.request(1, 'subscribe');
    expect(await sub.next()).toMatchObject({ id: 1, result: { status: {} } });
    expect(await sub.next()).toMatchObject({ params: status(1) });
    expect(await sub.next()).toMatchObject({ params: status(2) });
  });

  it('a failed subscribe does not subscribe', async () => {
    const h = await start({ handlers: { subscribe: () => Promise.reject(new RpcError(ErrorCode.Unavailable, 'not now')) } });
    const c = await h.client();
    expect(errorOf(await c.call(1, 'subscribe'))).toMatchObject({ code: ErrorCode.Unavailable, message: 'not now' });
    h.fake.emit(status(1));
    expect(await c.call(2, 'version')).toMatchObject({ id: 2 });
  });

  it('does not push an event that fails the schema, and logs it', async () => {
    const h = await start();
    const c = await h.client();
    await c.call(1, 'subscribe');
    h.fake.emit({ type: 'status', status: { state: 'confused' } } as unknown as HelperEvent);
    h.fake.emit(status(7));
    expect(await c.next()).toMatchObject({ params: status(7) });
    expect(h.logs).toContainEqual(expect.stringMatching(/^ipc: BUG: an invalid status event was not pushed: status\.state: /));
  });

  it('drops a subscriber that does not read, without hurting the others', async () => {
    const h = await start();
    const slow = await h.client();
    const fast = await h.client();
    await slow.call(1, 'subscribe');
    await fast.call(1, 'subscribe');
    slow.socket.pause();
    const received: number[] = [];
    let next = 0;
    const reading = (async () => {
      for (;;) {
        const line = (await fast.next(10_000)) as { params: { status: { rxBytes: number } } };
        received.push(line.params.status.rxBytes);
        if (line.params.status.rxBytes === -1) return;
      }
    })();
    const padding = { type: 'status', status: disconnectedStatus({ dns: Array.from({ length: 20 }, (_, i) => `2001:db8::${i}`) }) } as const;
    while (h.server.clientCount === 2 && next < 200_000) {
      for (let k = 0; k < 50; k++) h.fake.emit({ ...padding, status: { ...padding.status, rxBytes: next++ } });
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(h.server.clientCount).toBe(1);
    expect(h.logs).toContainEqual(expect.stringMatching(/^ipc: dropping pid \d+ \(uid 0\): it does not read what the helper sends \(\d+ bytes waiting\)/));
    h.fake.emit({ ...padding, status: { ...padding.status, rxBytes: -1 } });
    await reading;
    expect(received).toEqual([...Array.from({ length: next }, (_, i) => i), -1]);
    expect(h.fake.listenerCount).toBe(1);
  }, 30_000);
});

describe('the socket file', () => {
  it('close() removes it and ends the connections', async () => {
    const h = await start();
    const c = await h.client();
    await h.server.close();
    await c.closed;
    const { existsSync } = await import('node:fs');
    expect(existsSync(h.path)).toBe(false);
    expect(h.fake.listenerCount).toBe(0);
  });
});
