import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autostart, autostartDir, desktopEntry, entryEnabled, HIDDEN_FLAG, quoteExecArg } from './autostart.js';

const root = mkdtempSync(path.join(tmpdir(), 'umbra-autostart-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const home = () => path.join(root, `home${++n}`);

describe('where the entry goes', () => {
  it('uses $XDG_CONFIG_HOME when it is absolute, else ~/.config', () => {
    expect(autostartDir({ XDG_CONFIG_HOME: '/cfg' }, '/home/ann')).toBe('/cfg/autostart');
    expect(autostartDir({}, '/home/ann')).toBe('/home/ann/.config/autostart');
    expect(autostartDir({ XDG_CONFIG_HOME: '' }, '/home/ann')).toBe('/home/ann/.config/autostart');
    expect(autostartDir({ XDG_CONFIG_HOME: 'relative/cfg' }, '/home/ann')).toBe('/home/ann/.config/autostart');
  });
});

describe('the desktop entry', () => {
  it('starts the app hidden, enabled for GNOME', () => {
    const text = desktopEntry({ command: ['/opt/Umbra/umbra'] });
    expect(text.split('\n')).toEqual([
      '[Desktop Entry]',
      'Type=Application',
      'Name=Umbra',
      'Comment=Start Umbra VPN in the tray',
      `Exec=/opt/Umbra/umbra ${HIDDEN_FLAG}`,
      'Icon=umbra',
      'Terminal=false',
      'Categories=Network;',
      'X-GNOME-Autostart-enabled=true',
      '',
    ]);
  });

  it('quotes arguments per the Desktop Entry spec', () => {
    expect(quoteExecArg('/usr/bin/electron')).toBe('/usr/bin/electron');
    expect(quoteExecArg('/home/ann/My Apps/umbra')).toBe('"/home/ann/My Apps/umbra"');
    expect(quoteExecArg('100%')).toBe('100%%');
    // $ and " escaped inside quotes; every backslash doubled once more for the string value.
    expect(quoteExecArg('/a$b')).toBe('"/a\\\\$b"');
    expect(quoteExecArg('say "hi"')).toBe('"say \\\\"hi\\\\""');
    expect(quoteExecArg('back\\slash')).toBe('"back\\\\\\\\slash"');
    expect(quoteExecArg('')).toBe('""');
    expect(() => quoteExecArg('a\nb')).toThrow(/control character/);
    expect(desktopEntry({ command: ['/usr/lib/electron/electron', '/home/ann/src/umbra app'], icon: '/x/icon.png' })).toContain(
      'Exec=/usr/lib/electron/electron "/home/ann/src/umbra app" --hidden\nIcon=/x/icon.png\n',
    );
  });

  it('reads whether an entry is enabled', () => {
    expect(entryEnabled(desktopEntry({ command: ['/x'] }))).toBe(true);
    expect(entryEnabled('[Desktop Entry]\nExec=/x\nHidden=true\n')).toBe(false);
    expect(entryEnabled('[Desktop Entry]\nExec=/x\nX-GNOME-Autostart-enabled=false\n')).toBe(false);
    expect(entryEnabled('[Desktop Entry]\nExec=/x\n[Desktop Action y]\nHidden=true\n')).toBe(true);
  });
});

describe('Autostart in a temp home', () => {
  it('enables, reports, and disables', async () => {
    const h = home();
    const a = new Autostart({ homedir: h, env: {}, command: ['/opt/Umbra/umbra'] });
    expect(a.file).toBe(path.join(h, '.config', 'autostart', 'umbra.desktop'));
    expect(await a.isEnabled()).toBe(false);
    expect(await a.set(true)).toBe(true);
    expect(readFileSync(a.file, 'utf8')).toContain('Exec=/opt/Umbra/umbra --hidden\n');
    expect(readdirSync(path.dirname(a.file))).toEqual(['umbra.desktop']);
    expect(await a.set(true)).toBe(true);
    expect(await a.set(false)).toBe(false);
    expect(readdirSync(path.dirname(a.file))).toEqual([]);
    await a.disable();
  });

  it('honours XDG_CONFIG_HOME', async () => {
    const h = home();
    const cfg = path.join(h, 'cfg');
    const a = new Autostart({ homedir: h, env: { XDG_CONFIG_HOME: cfg }, command: ['/x'] });
    await a.enable();
    expect(readdirSync(path.join(cfg, 'autostart'))).toEqual(['umbra.desktop']);
  });

  it('replaces an entry the user switched off', async () => {
    const h = home();
    const a = new Autostart({ homedir: h, env: {}, command: ['/x'] });
    mkdirSync(path.dirname(a.file), { recursive: true });
    writeFileSync(a.file, '[Desktop Entry]\nExec=/x\nX-GNOME-Autostart-enabled=false\n');
    expect(await a.isEnabled()).toBe(false);
    expect(await a.set(true)).toBe(true);
  });
});
