import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../../helper/ipc/schema.js';
import { parseExcludedApps } from './excluded-apps.js';
import { checkAppRequest, SPLIT_APP_METHODS } from './ipc-contract.js';
import { testSplitApps, type TestSplitApps } from './testing/split-apps.js';

let t: TestSplitApps;
afterEach(() => t?.cleanup());

describe('split tunnelling apps', () => {
  it('lists the installed apps by id, name and icon, nothing of their command line', async () => {
    t = testSplitApps();
    const apps = await t.apps.installedApps();
    expect(apps.map((a) => a.name)).toEqual(["Chess (user's)", 'Fake Tool', 'Quoted App', 'Texteditor']);
    expect(Object.keys(apps.find((a) => a.id === 'editor.desktop')!).sort()).toEqual(['iconUrl', 'id', 'name']);
  });

  it('keeps the list in its file, in the order added, once each', async () => {
    t = testSplitApps();
    expect(await t.apps.excludedApps()).toEqual([]);
    await t.apps.add('editor.desktop');
    await t.apps.add('games-chess.desktop');
    const list = await t.apps.add('editor.desktop');
    expect(list.map((a) => [a.id, a.name, a.installed])).toEqual([['editor.desktop', 'Texteditor', true], ['games-chess.desktop', "Chess (user's)", true]]);
    expect(JSON.parse(readFileSync(t.file, 'utf8'))).toEqual({ version: 1, apps: ['editor.desktop', 'games-chess.desktop'] });
    expect((await t.apps.remove('editor.desktop')).map((a) => a.id)).toEqual(['games-chess.desktop']);
    expect(JSON.parse(readFileSync(t.file, 'utf8')).apps).toEqual(['games-chess.desktop']);
  });

  it('refuses to add what is not an installed, shown app', async () => {
    t = testSplitApps();
    await expect(t.apps.add('calc.desktop')).rejects.toMatchObject({ code: 'not-installed' });
    await expect(t.apps.add('nodisplay.desktop')).rejects.toMatchObject({ code: 'not-installed' });
  });

  it('shows an app that was uninstalled by its id, so it can be removed', async () => {
    t = testSplitApps();
    writeFileSync(t.file, JSON.stringify({ version: 1, apps: ['gone.desktop', 'editor.desktop', '../etc/passwd', 7] }));
    expect(await t.apps.excludedApps()).toEqual([
      { id: 'gone.desktop', name: 'gone', installed: false },
      expect.objectContaining({ id: 'editor.desktop', installed: true }),
    ]);
    await expect(t.apps.launch('gone.desktop')).rejects.toMatchObject({ code: 'not-installed' });
  });

  it('launches an app on the list with the command line of its .desktop file, detached, in its Path', async () => {
    t = testSplitApps();
    await t.apps.add('quoted.desktop');
    const { pid } = await t.apps.launch('quoted.desktop');
    expect(t.moved).toEqual([pid]);
    expect(t.launches).toEqual([{ command: '/opt/My App/run', args: ['--title', 'say "hi" for 100%', '--icon='], opts: expect.objectContaining({ detached: true, cwd: '/tmp' }) }]);
  });

  it('launches nothing that is not on the list', async () => {
    t = testSplitApps();
    await expect(t.apps.launch('editor.desktop')).rejects.toMatchObject({ code: 'not-on-list' });
    expect(t.launches).toEqual([]);
  });

  it("says which app was not started when the helper refuses, with the helper's code", async () => {
    t = testSplitApps();
    await t.apps.add('editor.desktop');
    t.refuse.error = new RpcError(ErrorCode.Unavailable, 'no cgroup v2 here');
    const r = await t.apps.answer({ method: 'launchExcludedApp', params: { id: 'editor.desktop' } });
    expect(r).toEqual({ ok: false, error: { code: ErrorCode.Unavailable, message: 'Texteditor was not started: no cgroup v2 here' } });
    expect(t.launches).toEqual([]);
  });

  it('answers each checked request', async () => {
    t = testSplitApps();
    const req = checkAppRequest({ method: 'addExcludedApp', params: { id: 'editor.desktop' } });
    expect(req.ok).toBe(true);
    if (!req.ok || !SPLIT_APP_METHODS.has(req.value.method)) throw new Error('not a split-app request');
    await expect(t.apps.answer(req.value as never)).resolves.toMatchObject({ ok: true, value: [{ id: 'editor.desktop' }] });
  });
});

describe('checkAppRequest for split tunnelling', () => {
  it.each([
    [{ method: 'launchExcludedApp', params: { id: '/usr/bin/xterm' } }],
    [{ method: 'launchExcludedApp', params: { id: 'editor.desktop', exec: 'sh -c evil' } }],
    [{ method: 'addExcludedApp', params: { id: '../../x.desktop' } }],
  ])('refuses %j', (req) => {
    expect(checkAppRequest(req)).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
  });

  it('limits a host to the methods it answers', () => {
    expect(checkAppRequest({ method: 'setLaunchAtLogin', params: { enabled: true } }, SPLIT_APP_METHODS)).toMatchObject({ ok: false, error: { code: ErrorCode.MethodNotFound } });
    expect(checkAppRequest({ method: 'listExcludedApps', params: {} }, SPLIT_APP_METHODS).ok).toBe(true);
  });
});

describe('parseExcludedApps', () => {
  it('keeps desktop ids only, each once', () => {
    expect(parseExcludedApps({ apps: ['a.desktop', 'a.desktop', 'b', 'x/y.desktop', 'c.desktop'] })).toEqual(['a.desktop', 'c.desktop']);
    expect(parseExcludedApps(['a.desktop'])).toEqual([]);
    expect(parseExcludedApps(null)).toEqual([]);
  });
});
