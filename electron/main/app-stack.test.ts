// The main process without Electron, end to end: the real IPC server with the in-memory fake
// helper on a Unix socket in a temp dir, the real HelperLink, StateMirror, RendererBridge and
// AppController, and the real preload (sandbox-style) as the window. Only Electron's objects
// (tray, notifications, ipcMain) are stand-ins.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HelperEvent } from '../../helper/ipc/schema.js';
import { startIpcServer } from '../../helper/ipc/server.js';
import { FakeHelper } from '../../helper/ipc/testing/fake-helper.js';
import { AppController } from './controller.js';
import { HelperLink } from './helper-link.js';
import { CHANNELS } from './ipc-contract.js';
import type { Notice } from './notifications.js';
import { RecentStore } from './recent.js';
import { RendererBridge } from './renderer-bridge.js';
import { StateMirror } from './state-mirror.js';
import { loadPreload } from './testing/preload-harness.js';
import type { TrayModel } from './tray-model.js';

const dir = mkdtempSync(path.join(tmpdir(), 'umbra-stack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let seq = 0;

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stack(opts: { serve?: boolean } = {}) {
  const socketPath = path.join(dir, `s${++seq}.sock`);
  const fake = new FakeHelper({ connectDelayMs: 30 });
  const serve = async () => {
    const server = await startIpcServer({ socketPath, handlers: fake.handlers, subscribe: fake.subscribe, group: 'nogroup', log: () => {} });
    cleanups.push(() => server.close());
    return server;
  };
  const server = opts.serve !== false ? await serve() : undefined;
  cleanups.push(() => fake.dispose());

  const link = new HelperLink({ socketPath, backoffMs: [20, 40] });
  const mirror = new StateMirror(link);
  const recent = new RecentStore(path.join(dir, `recent${seq}`, 'recent-locations.json'));
  await recent.load();
  const trays: TrayModel[] = [];
  const notices: Notice[] = [];
  const controller = new AppController({
    link, mirror, recent,
    tray: { render: (m) => trays.push(m) },
    notifier: { show: (n) => notices.push(n) },
    panel: () => 'dark',
    showWindow: () => {},
    quit: () => {},
  });
  const world = loadPreload();
  const bridge = new RendererBridge({
    link, mirror,
    host: { install: 'package', socket: '/run/umbra/umbrad.sock' },
    app: { getLaunchAtLogin: async () => false, setLaunchAtLogin: async (e) => e },
    splitApps: { answer: async () => ({ ok: false, error: { code: 'unused', message: 'not in this test' } }) },
    sendTo: (id, channel, payload) => id === world.senderId && world.send(channel, payload),
    broadcast: (channel, ...args) => world.send(channel, ...args),
    onCall: (req) => controller.noteCall(req),
  });
  world.handle(CHANNELS.call, (_s, req) => bridge.call(req));
  world.handle(CHANNELS.subscribe, (s) => bridge.subscribe(s));
  world.handle(CHANNELS.getReachable, () => bridge.reachable());
  world.handle(CHANNELS.app, (_s, req) => bridge.app(req));
  world.on(CHANNELS.unsubscribe, (s) => bridge.unsubscribe(s));

  mirror.start();
  bridge.start();
  controller.start();
  link.start();
  cleanups.push(async () => {
    controller.stop();
    bridge.stop();
    mirror.stop();
    await link.stop();
  });
  return { fake, link, mirror, recent, trays, notices, umbra: world.umbra, serve, server };
}

describe('the main process against a helper on a socket', () => {
  it('connects from the window: tray, recent list and window all follow the helper', async () => {
    const s = await stack();
    const events: HelperEvent[] = [];
    const snap = await s.umbra.subscribe((e) => events.push(e));
    expect(snap.status.state).toBe('disconnected');
    expect(snap.servers.map((x) => x.id)).toEqual(['se-sto', 'de-fra']);
    await until(() => s.trays.at(-1)?.tooltip === 'Umbra: Disconnected', 'tray disconnected');
    expect(s.trays.at(-1)?.items[0]).toMatchObject({ label: 'Connect to Stockholm, Sweden', action: { type: 'connect', serverId: 'se-sto' } });

    await s.umbra.call('setSettings', { killSwitch: true });
    await s.umbra.call('connect', { serverId: 'de-fra' });
    await until(() => s.trays.at(-1)?.tooltip === 'Umbra: Connected to Frankfurt, Germany', 'tray connected');
    await until(() => events.some((e) => e.type === 'status' && e.status.state === 'connected'), 'window event');
    expect(s.trays.at(-1)?.iconName).toBe('connected-light');
    expect(s.trays.at(-1)?.items.find((i) => i.kind === 'checkbox')).toMatchObject({ checked: true });
    expect(s.recent.list()).toEqual(['de-fra']);
    expect(s.notices).toEqual([]);
    expect(s.fake.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['setSettings', 'connect']));
  });

  it('a drop the user did not cause is notified; the helper going away shows in tray and window', async () => {
    const s = await stack();
    const reach: boolean[] = [];
    s.umbra.onConnectionChange((r) => reach.push(r));
    await s.umbra.call('connect', {});
    await until(() => s.mirror.state.status?.state === 'connected', 'connected');
    s.fake.setStatus({ ...s.fake.status, state: 'connecting', attempt: 1, blocked: true, firewallActive: true });
    await until(() => s.notices.length === 1, 'notice');
    expect(s.notices[0]!.body).toBe('Umbra: the VPN connection dropped — reconnecting; your traffic is blocked');

    await until(() => reach.includes(true), 'reachable');
    await s.server!.close();
    await until(() => reach.at(-1) === false, 'window told');
    // The last status had the block in the kernel, and a block outlives the helper.
    await until(() => s.trays.at(-1)?.tooltip === 'Umbra: helper not running · your traffic is blocked by the kill switch', 'tray says not running, blocked');
    expect(s.trays.at(-1)?.iconState).toBe('error');
    expect(s.mirror.state.status).toBeUndefined();
  });

  it('starts before the helper and catches up when it appears', async () => {
    const s = await stack({ serve: false });
    const reach: [boolean, string | undefined][] = [];
    s.umbra.onConnectionChange((r, m) => reach.push([r, m]));
    await until(() => s.trays.at(-1)?.tooltip === 'Umbra: helper not running', 'tray says not running');
    await expect(s.umbra.subscribe(() => {})).rejects.toMatchObject({ code: 'not-running', message: expect.stringContaining('not running') });
    await s.serve();
    await until(() => reach.at(-1)?.[0] === true, 'reachable again');
    await expect(s.umbra.subscribe(() => {})).resolves.toMatchObject({ status: { state: 'disconnected' } });
    await until(() => s.trays.at(-1)?.tooltip === 'Umbra: Disconnected', 'tray disconnected');
  });
});
