// The real preload, run as a sandboxed preload would run it (CommonJS, only 'electron' to require),
// against main's real side (RendererBridge, StateMirror) wired by the channel names in
// ipc-contract.ts: the two agree, the page sees only window.umbra, errors arrive as values.
import { afterEach, describe, expect, it } from 'vitest';
import type { HelperEvent } from '../../helper/ipc/schema.js';
import { CHANNELS } from '../main/ipc-contract.js';
import { RendererBridge } from '../main/renderer-bridge.js';
import { StateMirror } from '../main/state-mirror.js';
import { connected, FakeLink, flush, snapshot, status, STOCKHOLM } from '../main/testing/fakes.js';
import { loadPreload, type PreloadWorld } from '../main/testing/preload-harness.js';
import { testSplitApps } from '../main/testing/split-apps.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Waits until `cond` holds (the pipes deliver one message per macrotask). */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await flush();
  }
  throw new Error(`timed out waiting for ${what}`);
}

function setup() {
  const link = new FakeLink();
  const mirror = new StateMirror(link);
  const world = loadPreload();
  let launchAtLogin = false;
  const split = testSplitApps();
  cleanups.push(split.cleanup);
  const bridge = new RendererBridge({
    link,
    mirror,
    host: { install: 'checkout', socket: '/tmp/umbra-test.sock' },
    app: {
      getLaunchAtLogin: async () => launchAtLogin,
      setLaunchAtLogin: async (enabled) => (launchAtLogin = enabled),
    },
    splitApps: split.apps,
    sendTo: (id, channel, payload) => {
      if (id === world.senderId) world.send(channel, payload);
    },
    broadcast: (channel, ...args) => world.send(channel, ...args),
    readyTimeoutMs: 2000,
  });
  wire(world, bridge);
  mirror.start();
  bridge.start();
  cleanups.push(() => {
    bridge.stop();
    mirror.stop();
  });
  return { link, mirror, bridge, world, split, umbra: world.umbra };
}

/** What index.ts does with ipcMain, minus the sender check. */
function wire(world: PreloadWorld, bridge: RendererBridge): void {
  world.handle(CHANNELS.call, (_sender, req) => bridge.call(req));
  world.handle(CHANNELS.subscribe, (sender) => bridge.subscribe(sender));
  world.handle(CHANNELS.getReachable, () => bridge.reachable());
  world.handle(CHANNELS.app, (_sender, req) => bridge.app(req));
  world.on(CHANNELS.unsubscribe, (sender) => bridge.unsubscribe(sender));
}

describe('the preload in a sandbox', () => {
  it('requires only electron and exposes only window.umbra, with the UmbraApi methods', () => {
    const { world } = setup();
    expect(world.required).toEqual(['electron']);
    expect(Object.keys(world.exposed)).toEqual(['umbra']);
    expect(Object.keys(world.umbra).sort()).toEqual(['app', 'call', 'onConnectionChange', 'splitApps', 'subscribe', 'unsubscribe']);
    expect(Object.keys(world.umbra.app!).sort()).toEqual(['getLaunchAtLogin', 'setLaunchAtLogin']);
    expect(Object.keys(world.umbra.splitApps!).sort()).toEqual(['add', 'launch', 'listExcluded', 'listInstalled', 'remove']);
  });
});

describe('window.umbra against main', () => {
  it('subscribes: the snapshot first, then events in order, without the IPC event object', async () => {
    const { link, umbra, world, bridge } = setup();
    link.autoSnapshot = snapshot({ status: status() });
    link.setReachable(true);
    const events: unknown[][] = [];
    const snap = await umbra.subscribe((...args: unknown[]) => events.push(args));
    expect(snap.status.state).toBe('disconnected');
    expect(bridge.subscriberCount).toBe(1);
    link.push({ type: 'status', status: status({ state: 'connecting', server: STOCKHOLM }) });
    link.push({ type: 'status', status: connected() });
    await until(() => events.length === 2, 'two events');
    expect(events.map((a) => a.length)).toEqual([1, 1]);
    expect(events.map((a) => (a[0] as HelperEvent & { type: 'status' }).status.state)).toEqual(['connecting', 'connected']);
    expect(world.ipcEvents.length).toBeGreaterThan(0);
    for (const a of events) expect(world.ipcEvents).not.toContain(a[0]);
  });

  it('waits for the first picture when the helper is reachable but has not answered yet', async () => {
    const { link, umbra } = setup();
    link.autoSnapshot = undefined;
    link.setReachable(true);
    const p = umbra.subscribe(() => {});
    await until(() => link.snapshotRequests.length === 1);
    link.snapshotRequests[0]!.resolve(snapshot({ status: connected() }));
    await expect(p).resolves.toMatchObject({ status: { state: 'connected' } });
  });

  it('rejects subscribe with an UmbraError value when the helper is not running', async () => {
    const { link, umbra } = setup();
    link.setReachable(false, 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock): start it with sudo systemctl start umbrad');
    const err = await umbra.subscribe(() => {}).then(() => undefined, (e: unknown) => e);
    expect(err).toEqual({ code: 'not-running', message: 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock): start it with sudo systemctl start umbrad' });
    expect(err).not.toBeInstanceOf(Error);
  });

  it('forwards calls after checking them; errors keep their code', async () => {
    const { link, umbra } = setup();
    link.setReachable(true);
    link.answer = () => connected();
    await expect(umbra.call('connect', { serverId: 'se-sto-1' })).resolves.toMatchObject({ state: 'connected' });
    expect(link.calls).toEqual([{ method: 'connect', params: { serverId: 'se-sto-1' } }]);

    await expect(umbra.call('connect', { serverId: 'NOT OK' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/^invalid params for connect/) });
    await expect(umbra.call('shutdown' as never, {} as never)).rejects.toMatchObject({ code: -32601 });
    await expect(umbra.call('subscribe', {})).rejects.toMatchObject({ code: -32601 });
    expect(link.calls).toHaveLength(1);

    link.callError = { code: -32004, message: 'no profile yet: import a WireGuard config first' };
    await expect(umbra.call('connect', {})).rejects.toEqual({ code: -32004, message: 'no profile yet: import a WireGuard config first' });
  });

  it('reports reachability now and on every change, until the callback is removed', async () => {
    const { link, umbra } = setup();
    link.setReachable(true);
    const seen: [boolean, string | undefined][] = [];
    const off = umbra.onConnectionChange((r, m) => seen.push([r, m]));
    await until(() => seen.length === 1);
    expect(seen).toEqual([[true, undefined]]);
    link.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)');
    link.setReachable(false, 'the Umbra helper is not running (nothing listens on /x): start it');
    link.setReachable(true);
    await until(() => seen.length === 4);
    expect(seen.slice(1)).toEqual([
      [false, 'the Umbra helper closed the connection (did it stop or restart?)'],
      [false, 'the Umbra helper is not running (nothing listens on /x): start it'],
      [true, undefined],
    ]);
    off();
    link.setReachable(false, 'gone');
    await flush();
    await flush();
    expect(seen).toHaveLength(4);
  });

  it('tells a window opened after the helper went whether its last status held a block, and how this copy restarts it', async () => {
    const { link, umbra } = setup();
    link.autoSnapshot = snapshot({ status: status({ blocked: true }) });
    link.setReachable(true);
    await flush();
    link.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)');
    // A window that opens now never saw a status: main's last one answers for it.
    const seen: [boolean, unknown][] = [];
    umbra.onConnectionChange((r, _m, host) => seen.push([r, host]));
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual([false, { install: 'checkout', socket: '/tmp/umbra-test.sock', lastBlocked: true }]);
    // Back, and gone again with no block in its last status: the window hears the new verdict.
    link.autoSnapshot = snapshot();
    link.setReachable(true);
    await until(() => seen.length === 2);
    link.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)');
    await until(() => seen.length === 3);
    expect(seen[2]).toEqual([false, { install: 'checkout', socket: '/tmp/umbra-test.sock', lastBlocked: false }]);
  });

  it('says nothing at once while the first connection attempt is under way', async () => {
    const { link, umbra } = setup();
    const seen: boolean[] = [];
    umbra.onConnectionChange((r) => seen.push(r));
    for (let i = 0; i < 5; i++) await flush();
    expect(seen).toEqual([]);
    link.setReachable(true);
    await until(() => seen.length === 1);
    expect(seen).toEqual([true]);
  });

  it('stops events on unsubscribe, and when the helper goes away (subscribe again for a fresh picture)', async () => {
    const { link, umbra, bridge } = setup();
    link.setReachable(true);
    const got: HelperEvent[] = [];
    await umbra.subscribe((e) => got.push(e));
    umbra.unsubscribe();
    await until(() => bridge.subscriberCount === 0, 'unsubscribe to reach main');
    link.push({ type: 'status', status: connected() });
    await flush();
    await flush();
    expect(got).toEqual([]);

    await umbra.subscribe((e) => got.push(e));
    expect(bridge.subscriberCount).toBe(1);
    link.setReachable(false, 'gone');
    expect(bridge.subscriberCount).toBe(0);
    link.setReachable(true);
    await umbra.subscribe((e) => got.push(e));
    link.push({ type: 'settings', settings: snapshot().settings });
    await until(() => got.length === 1);
    expect(got[0]!.type).toBe('settings');
  });

  it('a second subscribe replaces the first listener', async () => {
    const { link, umbra } = setup();
    link.setReachable(true);
    const a: HelperEvent[] = [];
    const b: HelperEvent[] = [];
    await umbra.subscribe((e) => a.push(e));
    await umbra.subscribe((e) => b.push(e));
    link.push({ type: 'status', status: connected() });
    await until(() => b.length === 1);
    expect(a).toEqual([]);
  });

  it('launch at login goes to main, checked', async () => {
    const { umbra } = setup();
    await expect(umbra.app!.getLaunchAtLogin()).resolves.toBe(false);
    await expect(umbra.app!.setLaunchAtLogin(true)).resolves.toBe(true);
    await expect(umbra.app!.getLaunchAtLogin()).resolves.toBe(true);
    await expect(umbra.app!.setLaunchAtLogin('yes' as never)).rejects.toMatchObject({ code: -32602 });
  });

  it("split tunnelling's apps go to main, by id, checked", async () => {
    const { umbra, split } = setup();
    const apps = umbra.splitApps!;
    expect((await apps.listInstalled()).map((a) => a.id)).toContain('editor.desktop');
    await expect(apps.add('editor.desktop')).resolves.toMatchObject([{ id: 'editor.desktop', name: 'Texteditor', installed: true }]);
    await expect(apps.listExcluded()).resolves.toMatchObject([{ id: 'editor.desktop' }]);
    const { pid } = await apps.launch('editor.desktop');
    expect(split.launches).toEqual([expect.objectContaining({ command: 'editor', args: ['--new-window'] })]);
    expect(split.moved).toEqual([pid]);
    await expect(apps.launch('quoted.desktop')).rejects.toMatchObject({ code: 'not-on-list' });
    await expect(apps.add('sh -c id' as never)).rejects.toMatchObject({ code: -32602 });
    await expect(apps.remove('editor.desktop')).resolves.toEqual([]);
  });

  it('turns a missing handler or a broken reply into an UmbraError', async () => {
    const { umbra, world } = setup();
    world.handle(CHANNELS.call, () => 'not a reply');
    await expect(umbra.call('status', {})).rejects.toEqual({ code: 'ipc', message: "the app's main process sent a reply this window cannot read" });
    world.handle(CHANNELS.call, () => {
      throw new Error('boom');
    });
    await expect(umbra.call('status', {})).rejects.toMatchObject({ code: 'ipc', message: expect.stringContaining('boom') });
  });
});
