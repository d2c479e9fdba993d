// Browser mode's split-tunnelling apps: the page script's `splitApps` over POST /api/app, answered
// by the host as Electron's main answers them, and only those of the app methods.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../helper/ipc/schema.js';
import { testSplitApps, type TestSplitApps } from '../main/testing/split-apps.js';
import { createUmbraBridge } from './bridge-client.js';
import { splitAppsRefusal, startBrowserHost, type BrowserHost } from './host.js';

let dir: string;
let host: BrowserHost;
let split: TestSplitApps;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-bhost-split-'));
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><html><head><title>Umbra</title></head><body></body></html>');
  split = testSplitApps();
  // No helper runs: the apps are the host's own business, the launch double stands in for the move.
  host = await startBrowserHost({ socketPath: join(dir, 'none.sock'), distDir: join(dir, 'dist'), backoffMs: [1000], firstContactMs: 50, splitApps: () => split.apps });
});
afterAll(async () => {
  await host?.close();
  split?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const post = (body: unknown) =>
  fetch(`${host.origin}/api/app`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-umbra-token': host.token }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));

describe('browser mode: split tunnelling apps', () => {
  it('the page script lists, adds, launches and removes apps by id', async () => {
    const bridge = createUmbraBridge({ baseUrl: `${host.origin}/`, token: host.token, retryMs: [1000] });
    const apps = bridge.splitApps!;
    try {
      expect((await apps.listInstalled()).map((a) => a.name)).toEqual(["Chess (user's)", 'Fake Tool', 'Quoted App', 'Texteditor']);
      await expect(apps.add('tryexec-ok.desktop')).resolves.toMatchObject([{ id: 'tryexec-ok.desktop', name: 'Fake Tool', installed: true }]);
      const { pid } = await apps.launch('tryexec-ok.desktop');
      expect(split.moved).toContain(pid);
      expect(split.launches.at(-1)).toMatchObject({ command: 'umbra-fake-tool', args: ['--run'] });
      await expect(apps.launch('editor.desktop')).rejects.toMatchObject({ code: 'not-on-list' });
      await expect(apps.remove('tryexec-ok.desktop')).resolves.toEqual([]);
    } finally {
      bridge.close();
    }
  });

  it('answers split tunnelling only: no launch at login, no command lines, no token no answer', async () => {
    expect(await post({ method: 'setLaunchAtLogin', params: { enabled: true } })).toEqual({ status: 200, body: { error: { code: ErrorCode.MethodNotFound, message: expect.any(String) } } });
    expect(await post({ method: 'launchExcludedApp', params: { id: 'x.desktop', command: '/bin/sh' } })).toMatchObject({ body: { error: { code: ErrorCode.InvalidParams } } });
    const r = await fetch(`${host.origin}/api/app`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"method":"listInstalledApps","params":{}}' });
    expect(r.status).toBe(403);
  });

  it('reads and starts no apps where it runs as another account than the browser, or apart from the helper', async () => {
    expect(splitAppsRefusal({ selfUid: 0, browserUid: 1000, helperElsewhere: false })).toMatch(/another account than your browser/);
    expect(splitAppsRefusal({ selfUid: 0, browserUid: 0, helperElsewhere: true })).toMatch(/another network namespace/);
    expect(splitAppsRefusal({ selfUid: 1000, browserUid: 1000, helperElsewhere: false })).toBeUndefined();
    const apart = await startBrowserHost({ socketPath: join(dir, 'none.sock'), distDir: join(dir, 'dist'), backoffMs: [1000], firstContactMs: 50, helperElsewhere: true });
    try {
      const bridge = createUmbraBridge({ baseUrl: `${apart.origin}/`, token: apart.token, retryMs: [1000] });
      await expect(bridge.splitApps!.listInstalled()).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/another network namespace/) });
      bridge.close();
    } finally {
      await apart.close();
    }
  });
});
