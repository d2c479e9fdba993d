import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateMirror, type MirrorState } from './state-mirror.js';
import { connected, FakeLink, flush, FRANKFURT, SERVERS, SETTINGS, snapshot, status, STOCKHOLM } from './testing/fakes.js';

function setup(opts: { manualSnapshots?: boolean } = {}) {
  const link = new FakeLink();
  if (opts.manualSnapshots) link.autoSnapshot = undefined;
  const mirror = new StateMirror(link, { retryMs: 1000 });
  const changes: MirrorState[] = [];
  mirror.on('change', (s) => changes.push(s));
  mirror.start();
  return { link, mirror, changes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StateMirror', () => {
  it('knows nothing before the link has a verdict', () => {
    const { mirror } = setup();
    expect(mirror.state).toEqual({ reachable: undefined, message: undefined, status: undefined, settings: undefined, servers: undefined });
    expect(mirror.snapshot()).toBeUndefined();
  });

  it('takes a snapshot when the helper becomes reachable, and shows nothing before it arrives', async () => {
    const { link, mirror, changes } = setup({ manualSnapshots: true });
    link.setReachable(true);
    expect(mirror.state.reachable).toBe(true);
    expect(mirror.state.status).toBeUndefined();
    expect(mirror.snapshot()).toBeUndefined();
    expect(link.snapshotRequests).toHaveLength(1);
    link.snapshotRequests[0]!.resolve(snapshot({ status: connected() }));
    await flush();
    expect(mirror.snapshot()).toEqual({ status: connected(), settings: SETTINGS, servers: SERVERS });
    expect(changes.at(-1)?.status?.state).toBe('connected');
  });

  it('applies pushed events in order and passes them on', async () => {
    const { link, mirror } = setup();
    link.setReachable(true);
    await flush();
    const seen: string[] = [];
    mirror.on('event', (e) => seen.push(e.type));
    link.push({ type: 'status', status: status({ state: 'connecting', server: FRANKFURT }) });
    link.push({ type: 'settings', settings: { ...SETTINGS, killSwitch: true } });
    link.push({ type: 'servers', servers: [FRANKFURT] });
    expect(seen).toEqual(['status', 'settings', 'servers']);
    expect(mirror.state.status?.state).toBe('connecting');
    expect(mirror.state.settings?.killSwitch).toBe(true);
    expect(mirror.state.servers).toEqual([FRANKFURT]);
  });

  it('forgets everything when the helper goes away, and ignores events until it is back', async () => {
    const { link, mirror } = setup();
    link.setReachable(true);
    await flush();
    link.setReachable(false, 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock): start it with …');
    expect(mirror.state).toMatchObject({ reachable: false, status: undefined, settings: undefined, servers: undefined });
    expect(mirror.state.message).toContain('not running');
    link.push({ type: 'status', status: connected() });
    expect(mirror.state.status).toBeUndefined();
  });

  it('keeps the last status the helper sent while it is away (a block outlives it), and drops it when it is back', async () => {
    const { link, mirror } = setup();
    link.setReachable(true);
    await flush();
    const blocked = connected(STOCKHOLM, { blocked: true });
    link.push({ type: 'status', status: blocked });
    link.setReachable(false, 'the connection to the Umbra helper was closed');
    expect(mirror.state.lastStatus).toEqual(blocked);
    link.setReachable(false, 'the Umbra helper is not running (no socket at /x): start it');
    expect(mirror.state.lastStatus).toEqual(blocked);
    link.setReachable(true);
    expect(mirror.state.lastStatus).toBeUndefined();
  });

  it('drops a late snapshot of an earlier connection', async () => {
    const { link, mirror } = setup({ manualSnapshots: true });
    link.setReachable(true);
    link.setReachable(false, 'gone');
    link.setReachable(true);
    expect(link.snapshotRequests).toHaveLength(2);
    link.snapshotRequests[0]!.resolve(snapshot({ status: connected(FRANKFURT) }));
    await flush();
    expect(mirror.state.status).toBeUndefined();
    link.snapshotRequests[1]!.resolve(snapshot({ status: connected(STOCKHOLM) }));
    await flush();
    expect(mirror.state.status?.server?.id).toBe(STOCKHOLM.id);
  });

  it('asks again when a snapshot fails while the helper stays reachable', async () => {
    vi.useFakeTimers();
    const { link, mirror } = setup({ manualSnapshots: true });
    link.setReachable(true);
    link.snapshotRequests[0]!.reject({ code: 'timeout', message: 'slow' });
    await vi.advanceTimersByTimeAsync(999);
    expect(link.snapshotRequests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(link.snapshotRequests).toHaveLength(2);
    link.snapshotRequests[1]!.resolve(snapshot());
    await vi.advanceTimersByTimeAsync(0);
    expect(mirror.snapshot()).toBeDefined();
  });

  it('fetches at start when the link is already connected', async () => {
    const link = new FakeLink();
    link.reachable = true;
    const mirror = new StateMirror(link);
    mirror.start();
    await flush();
    expect(mirror.snapshot()?.status.state).toBe('disconnected');
    mirror.stop();
  });

  describe('whenReady', () => {
    it('resolves once the picture is complete', async () => {
      const { link, mirror } = setup({ manualSnapshots: true });
      const ready = mirror.whenReady(1000);
      link.setReachable(true);
      link.snapshotRequests[0]!.resolve(snapshot({ status: connected() }));
      await expect(ready).resolves.toMatchObject({ status: { state: 'connected' } });
    });

    it('rejects with a code when the helper is not running (now or later)', async () => {
      const { link, mirror } = setup();
      const later = mirror.whenReady(1000);
      link.setReachable(false, 'the Umbra helper is not running (no socket at /x): start it');
      await expect(later).rejects.toEqual({ code: 'not-running', message: 'the Umbra helper is not running (no socket at /x): start it' });
      await expect(mirror.whenReady()).rejects.toMatchObject({ code: 'not-running' });
      link.setReachable(false, 'permission denied on /x: only root and members of the umbra group …');
      await expect(mirror.whenReady()).rejects.toMatchObject({ code: 'permission-denied' });
    });

    it('gives up after the timeout', async () => {
      vi.useFakeTimers();
      const { mirror } = setup();
      const p = mirror.whenReady(500);
      const check = expect(p).rejects.toMatchObject({ code: 'timeout' });
      await vi.advanceTimersByTimeAsync(500);
      await check;
    });

    it('rejects waiters on stop', async () => {
      const { mirror } = setup();
      const p = mirror.whenReady(10_000);
      mirror.stop();
      await expect(p).rejects.toMatchObject({ code: 'closed' });
    });
  });
});
