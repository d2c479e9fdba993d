import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirs, findDesktopApp, iconCandidates, iconDataUrl, MAX_ICON_BYTES, scanDesktopApps } from './desktop-apps.js';
import { DESKTOP_ENV } from './testing/split-apps.js';

const T = path.join(import.meta.dirname, 'testdata', 'desktop');
const opts = { env: DESKTOP_ENV, homedir: '/nonexistent' };

describe('dataDirs', () => {
  it('takes the XDG defaults, ignoring relative entries', () => {
    expect(dataDirs({}, '/home/u')).toEqual(['/home/u/.local/share', '/usr/local/share', '/usr/share']);
    expect(dataDirs({ XDG_DATA_HOME: 'rel', XDG_DATA_DIRS: 'x:/opt/share' }, '/home/u')).toEqual(['/home/u/.local/share', '/opt/share']);
  });
});

describe('scanDesktopApps', () => {
  it('lists the shown applications, first id winning, localized and sorted by name', async () => {
    const { apps } = await scanDesktopApps(opts);
    expect(apps.map((a) => [a.id, a.name])).toEqual([
      ['games-chess.desktop', "Chess (user's)"],
      ['tryexec-ok.desktop', 'Fake Tool'],
      ['quoted.desktop', 'Quoted App'],
      ['editor.desktop', 'Texteditor'],
    ]);
  });

  it('splits Exec as the spec says', async () => {
    const { apps } = await scanDesktopApps(opts);
    expect(apps.find((a) => a.id === 'quoted.desktop')!.exec).toEqual(['/opt/My App/run', '--title', 'say "hi" for 100%', '--icon=']);
    expect(apps.find((a) => a.id === 'editor.desktop')!.exec).toEqual(['editor', '--new-window']);
  });

  it("says why each file was left out, the user's Hidden copy hiding the system's", async () => {
    const { skipped } = await scanDesktopApps(opts);
    const why = Object.fromEntries(skipped.map((s) => [path.relative(T, s.file), s.reason]));
    expect(why).toEqual({
      'home/applications/broken.desktop': expect.stringMatching(/no \[Desktop Entry\]/),
      'home/applications/calc.desktop': expect.stringMatching(/Hidden/),
      'sys1/applications/link.desktop': expect.stringMatching(/not Application/),
      'sys1/applications/nodisplay.desktop': expect.stringMatching(/NoDisplay/),
      'sys1/applications/terminal.desktop': expect.stringMatching(/Terminal=true/),
      'sys1/applications/tryexec-missing.desktop': expect.stringMatching(/TryExec umbra-test-no-such-program/),
    });
  });

  it('sends png and svg icons as data: URLs, and none for a file that is not what it says', async () => {
    const { apps } = await scanDesktopApps(opts);
    const icon = (id: string) => apps.find((a) => a.id === id)!.iconUrl;
    expect(icon('editor.desktop')).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    expect(Buffer.from(icon('quoted.desktop')!.split(',')[1]!, 'base64').toString()).toContain('<svg');
    expect(icon('tryexec-ok.desktop')).toBeUndefined();
    expect(icon('games-chess.desktop')).toBeUndefined();
  });

  it('finds nothing, without throwing, where there are no data directories', async () => {
    const { apps } = await scanDesktopApps({ env: { XDG_DATA_HOME: '/nonexistent/a', XDG_DATA_DIRS: '/nonexistent/b' }, homedir: '/nonexistent' });
    expect(apps).toEqual([]);
  });

  it('finds one app by id, without its icon', async () => {
    expect(await findDesktopApp('editor.desktop', opts)).toEqual({ id: 'editor.desktop', name: 'Texteditor', exec: ['editor', '--new-window'], icon: 'editor' });
    expect(await findDesktopApp('calc.desktop', opts)).toBeUndefined();
  });
});

describe('icons', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'umbra-icons-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('looks in hicolor 48, 64, scalable of each data dir, then pixmaps; an absolute path as it is', () => {
    const c = iconCandidates('foo.png', ['/a']);
    expect(c.slice(0, 6)).toEqual([
      '/a/icons/hicolor/48x48/apps/foo.png', '/a/icons/hicolor/48x48/apps/foo.svg',
      '/a/icons/hicolor/64x64/apps/foo.png', '/a/icons/hicolor/64x64/apps/foo.svg',
      '/a/icons/hicolor/scalable/apps/foo.png', '/a/icons/hicolor/scalable/apps/foo.svg',
    ]);
    expect(c.slice(6)).toEqual(['/usr/share/pixmaps/foo.png', '/usr/share/pixmaps/foo.svg']);
    expect(iconCandidates('/opt/x/icon.png', ['/a'])).toEqual(['/opt/x/icon.png']);
    expect(iconCandidates('../escape', ['/a'])).toEqual([]);
  });

  it('resolves an absolute Icon path, and drops one over the size cap', async () => {
    const small = path.join(dir, 'small.svg');
    const big = path.join(dir, 'big.svg');
    writeFileSync(small, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(big, `<svg xmlns="http://www.w3.org/2000/svg">${' '.repeat(MAX_ICON_BYTES)}</svg>`);
    const apps = path.join(dir, 'share', 'applications');
    mkdirSync(apps, { recursive: true });
    writeFileSync(path.join(apps, 'small.desktop'), `[Desktop Entry]\nType=Application\nName=Small\nExec=s\nIcon=${small}\n`);
    writeFileSync(path.join(apps, 'big.desktop'), `[Desktop Entry]\nType=Application\nName=Big\nExec=b\nIcon=${big}\n`);
    const { apps: found } = await scanDesktopApps({ env: { XDG_DATA_HOME: path.join(dir, 'share'), XDG_DATA_DIRS: '/nonexistent' }, homedir: dir });
    expect(found.map((a) => [a.name, a.iconUrl?.slice(0, 19)])).toEqual([['Big', undefined], ['Small', 'data:image/svg+xml;']]);
  });

  it('takes only png and svg files whose bytes say so', () => {
    expect(iconDataUrl('x.xpm', Buffer.from('/* XPM */'))).toBeUndefined();
    expect(iconDataUrl('x.svg', Buffer.from('<html><script>1</script></html>'))).toBeUndefined();
    expect(iconDataUrl('x.png', Buffer.from('GIF89a'))).toBeUndefined();
    expect(iconDataUrl('x.svg', Buffer.from('<?xml version="1.0"?><svg width="1"/>'))).toBe(`data:image/svg+xml;base64,${Buffer.from('<?xml version="1.0"?><svg width="1"/>').toString('base64')}`);
  });
});
