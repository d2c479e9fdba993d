// HelperLink against the real IPC server with the in-memory fake helper, on Unix sockets in a
// temp dir: not running at start, calls and their errors, events, a helper that restarts, stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IpcClient, IpcError } from '../../helper/ipc/client.js';
import { ErrorCode, type HelperEvent } from '../../helper/ipc/schema.js';
import { startIpcServer, type IpcServer } from '../../helper/ipc/server.js';
import { disconnectedStatus, FakeHelper } from '../../helper/ipc/testing/fake-helper.js';
import { HelperLink, toLinkError } from './helper-link.js';

let dir: string;
let seq = 0;
const cleanups: (() => unknown)[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-link-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const socketPath = () => join(dir, `h${++seq}.sock`);

async function serve(path: string, fake = new FakeHelper()): Promise<{ server: IpcServer; fake: FakeHelper }> {
  const server = await startIpcServer({ socketPath: path, handlers: fake.handlers, subscribe: fake.subscribe, group: 'nogroup', log: () => {} });
  cleanups.push(() => server.close(), () => fake.dispose());
  return { server, fake };
}

function link(path: string, backoffMs = [20, 40, 80]): HelperLink {
  const l = new HelperLink({ socketPath: path, backoffMs });
  cleanups.push(() => l.stop());
  return l;
}

/** Resolves with the next 'reachable' report that matches. */
function nextReachable(l: HelperLink, want: boolean, ms = 3000): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      l.off('reachable', on);
      reject(new Error(`no reachable=${want} within ${ms} ms`));
    }, ms);
    const on = (r: boolean, message: string | undefined) => {
      if (r !== want) return;
      clearTimeout(timer);
      l.off('reachable', on);
      resolve(message);
    };
    l.on('reachable', on);
  });
}

function nextEvent(l: HelperLink, pred: (e: HelperEvent) => boolean = () => true, ms = 3000): Promise<HelperEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      l.off('event', on);
      reject(new Error(`no matching event within ${ms} ms`));
    }, ms);
    const on = (e: HelperEvent) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      l.off('event', on);
      resolve(e);
    };
    l.on('event', on);
  });
}

describe('HelperLink', () => {
  it('connects, calls, and returns a snapshot', async () => {
    const path = socketPath();
    const { fake } = await serve(path);
    const l = link(path);
    const up = nextReachable(l, true);
    l.start();
    expect(await up).toBeUndefined();
    expect(l.reachable).toBe(true);
    expect(l.error).toBeUndefined();
    expect(await l.call('version', {})).toEqual({ version: '0.1.0-fake', protocol: 1 });
    const snap = await l.snapshot();
    expect(snap.status.state).toBe('disconnected');
    expect(snap.servers.map((s) => s.id)).toEqual(['se-sto', 'de-fra']);
    expect(fake.calls.map((c) => c.method)).toEqual(['subscribe', 'version', 'subscribe']);
  });

  it('a call made right after start waits for the first connection', async () => {
    const path = socketPath();
    await serve(path);
    const l = link(path);
    l.start();
    await expect(l.call('getSettings', {})).resolves.toMatchObject({ killSwitch: false });
  });

  it('rejects with plain {code, message} values: the helper\'s code, or the schema\'s', async () => {
    const path = socketPath();
    await serve(path);
    const l = link(path);
    l.start();
    await nextReachable(l, true);
    const notFound = await l.call('removeServer', { id: 'nope' }).catch((e: unknown) => e);
    expect(notFound).toEqual({ code: ErrorCode.NotFound, message: 'no server "nope": see umbra servers' });
    expect(notFound).not.toBeInstanceOf(Error);
    const bad = await l.call('connect', { serverId: 'Not An Id!' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: ErrorCode.InvalidParams });
    expect(typeof (bad as { message: unknown }).message).toBe('string');
  });

  it('pushes the helper\'s events in order', async () => {
    const path = socketPath();
    const { fake } = await serve(path, new FakeHelper({ connectDelayMs: 10 }));
    const l = link(path);
    const seen: string[] = [];
    l.on('event', (e) => seen.push(e.type === 'status' ? e.status.state : e.type));
    l.start();
    await nextReachable(l, true);
    const connected = nextEvent(l, (e) => e.type === 'status' && e.status.state === 'connected');
    await l.call('connect', { serverId: 'se-sto' });
    await connected;
    // The helper pushes the settings event before it answers: it is here once the call resolves.
    await l.call('setSettings', { killSwitch: true });
    expect(seen).toEqual(['connecting', 'connected', 'settings']);
    expect(fake.listenerCount).toBe(1);
  });

  it('when the helper is not running at start: says so in plain words, retries, and connects once it runs', async () => {
    const path = socketPath();
    const l = link(path);
    const down = nextReachable(l, false);
    l.start();
    const message = await down;
    expect(message).toMatch(/^the Umbra helper is not running \((no socket at|nothing listens on) /);
    // How to start it is the window's to say (it knows how this copy was installed): not in the message.
    expect(message).not.toMatch(/start it with/);
    expect(l.reachable).toBe(false);
    expect(l.error).toEqual({ code: 'not-running', message });
    expect(await l.call('status', {}).catch((e: unknown) => e)).toEqual({ code: 'not-running', message });
    const up = nextReachable(l, true);
    const { fake } = await serve(path);
    await up;
    expect((await l.call('status', {})).state).toBe('disconnected');
    // It subscribed by itself: events flow without a snapshot() call.
    const ev = nextEvent(l);
    fake.setStatus(disconnectedStatus({ rxBytes: 42 }));
    expect(await ev).toMatchObject({ type: 'status', status: { rxBytes: 42 } });
  });

  it('a helper that restarts: unreachable, then reachable again, and events keep flowing', async () => {
    const path = socketPath();
    const first = await serve(path);
    const l = link(path);
    const reports: [boolean, string | undefined][] = [];
    l.on('reachable', (r, m) => reports.push([r, m]));
    l.start();
    await nextReachable(l, true);
    await l.snapshot();

    const down = nextReachable(l, false);
    await first.server.close();
    expect(await down).toMatch(/closed the connection|not running/);
    await new Promise((r) => setTimeout(r, 100));
    expect(reports.at(-1)?.[0]).toBe(false);
    expect(reports.at(-1)?.[1]).toMatch(/not running \((no socket at|nothing listens on) /);
    const failed = await l.call('status', {}).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'not-running' });

    const up = nextReachable(l, true);
    const second = new FakeHelper();
    second.status = disconnectedStatus({ txBytes: 7 });
    await serve(path, second);
    await up;
    const ev = nextEvent(l);
    second.setStatus(disconnectedStatus({ txBytes: 8 }));
    expect(await ev).toMatchObject({ type: 'status', status: { txBytes: 8 } });
    expect((await l.snapshot()).status.txBytes).toBe(8);
    expect(reports.map((r) => r[0])).toEqual([true, false, false, true]);
  });

  it('backs off between attempts and stops retrying after stop()', async () => {
    let attempts = 0;
    const times: number[] = [];
    const l = new HelperLink({
      socketPath: '/nonexistent/umbrad.sock',
      backoffMs: [30, 60],
      connect: (p) => {
        attempts++;
        times.push(Date.now());
        return Promise.reject(new IpcError('not-running', `the Umbra helper is not running (no socket at ${p}): start it`));
      },
    });
    const reports: boolean[] = [];
    l.on('reachable', (r) => reports.push(r));
    l.start();
    await new Promise((r) => setTimeout(r, 260));
    await l.stop();
    const n = attempts;
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThanOrEqual(6);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(25);
    for (const g of gaps.slice(1)) expect(g).toBeGreaterThanOrEqual(55);
    expect(reports).toEqual([false]); // one report: the message did not change
    await new Promise((r) => setTimeout(r, 120));
    expect(attempts).toBe(n);
    expect(await l.call('status', {}).catch((e: unknown) => e)).toMatchObject({ code: 'closed' });
  });

  it('stop() closes the connection', async () => {
    const path = socketPath();
    const { server } = await serve(path);
    let client: IpcClient | undefined;
    const l = new HelperLink({
      socketPath: path,
      connect: async (p) => (client = await IpcClient.connect(p)),
    });
    l.start();
    await nextReachable(l, true);
    expect(server.clientCount).toBe(1);
    await l.stop();
    expect(client?.closed).toBe(true);
    expect(l.listenerCount('reachable')).toBe(0);
  });

  it('toLinkError keeps codes and messages', () => {
    expect(toLinkError(new IpcError('timeout', 'too slow'))).toEqual({ code: 'timeout', message: 'too slow' });
    expect(toLinkError({ code: 5, message: 'x' })).toEqual({ code: 5, message: 'x' });
    expect(toLinkError(new Error('boom'))).toEqual({ code: 'error', message: 'boom' });
    expect(toLinkError('odd')).toEqual({ code: 'error', message: 'odd' });
  });
});

