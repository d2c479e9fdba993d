import { describe, expect, it } from 'vitest';
import { quoteExecArg } from './autostart.js';
import { desktopFileId, localeKeys, parseDesktopEntry, splitExec, unescapeValue } from './desktop-entry.js';

const entry = (...lines: string[]) => ['[Desktop Entry]', 'Type=Application', ...lines].join('\n');

describe('splitExec', () => {
  it('splits at unquoted spaces and drops field codes', () => {
    expect(splitExec('firefox --new-window %u')).toEqual(['firefox', '--new-window']);
    expect(splitExec('gimp-2.10  %U')).toEqual(['gimp-2.10']);
    expect(splitExec('app %f %F %i %c %k')).toEqual(['app']);
  });

  it('keeps quoted spaces and unescapes \\" \\` \\$ \\\\ inside quotes', () => {
    expect(splitExec('"/opt/My App/run" "a \\"b\\" \\$HOME \\`x\\` c\\\\d"')).toEqual(['/opt/My App/run', 'a "b" $HOME `x` c\\d']);
    expect(splitExec('app ""')).toEqual(['app', '']);
  });

  it('turns %% into a percent sign and removes a code inside an argument', () => {
    expect(splitExec('app --zoom=100%% --file=%f')).toEqual(['app', '--zoom=100%', '--file=']);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitExec('app "half')).toThrow(/unterminated quote/);
  });

  it("reads back what autostart's quoting writes", () => {
    const args = ['/opt/Umbra App/umbra', 'with "quotes"', '$dollar', 'back\\slash', '50%', '--hidden'];
    const written = args.map(quoteExecArg).join(' ');
    expect(splitExec(unescapeValue(written))).toEqual(args);
  });
});

describe('localeKeys', () => {
  it('tries lang_COUNTRY@MODIFIER, lang_COUNTRY, lang@MODIFIER, lang', () => {
    expect(localeKeys('sr_RS.UTF-8@latin')).toEqual(['sr_RS@latin', 'sr_RS', 'sr@latin', 'sr']);
    expect(localeKeys('de_AT.UTF-8')).toEqual(['de_AT', 'de']);
    expect(localeKeys('C.UTF-8')).toEqual([]);
    expect(localeKeys(undefined)).toEqual([]);
  });
});

describe('parseDesktopEntry', () => {
  it('takes the best localized Name, else Name', () => {
    const text = entry('Name=Files', 'Name[de]=Dateien', 'Name[de_CH]=Dateien (CH)', 'Exec=nautilus');
    expect(parseDesktopEntry(text, 'de_DE.UTF-8')).toMatchObject({ ok: true, entry: { name: 'Dateien' } });
    expect(parseDesktopEntry(text, 'de_CH.UTF-8')).toMatchObject({ ok: true, entry: { name: 'Dateien (CH)' } });
    expect(parseDesktopEntry(text, 'fr_FR.UTF-8')).toMatchObject({ ok: true, entry: { name: 'Files' } });
  });

  it('reads only the [Desktop Entry] group', () => {
    const text = `${entry('Name=Editor', 'Exec=editor %U')}\n[Desktop Action new]\nExec=other\nName=Other`;
    expect(parseDesktopEntry(text)).toEqual({ ok: true, entry: { name: 'Editor', exec: ['editor'] } });
  });

  it('keeps TryExec, Icon and an absolute Path, string escapes undone', () => {
    expect(parseDesktopEntry(entry('Name=A\\sB', 'Exec=ab', 'TryExec=ab', 'Icon=ab-icon', 'Path=/opt/a\\sb'))).toEqual({
      ok: true,
      entry: { name: 'A B', exec: ['ab'], tryExec: 'ab', icon: 'ab-icon', workingDir: '/opt/a b' },
    });
    expect(parseDesktopEntry(entry('Name=x', 'Exec=x', 'Path=relative'))).toEqual({ ok: true, entry: { name: 'x', exec: ['x'] } });
  });

  it.each([
    ['not an application', '[Desktop Entry]\nType=Link\nName=x\nURL=https://example.org', /not Application/],
    ['hidden', entry('Name=x', 'Exec=x', 'Hidden=true'), /Hidden/],
    ['not displayed', entry('Name=x', 'Exec=x', 'NoDisplay=true'), /NoDisplay/],
    ['run in a terminal', entry('Name=x', 'Exec=vim %F', 'Terminal=true'), /Terminal=true/],
    ['nameless', entry('Exec=x'), /no Name/],
    ['without Exec', entry('Name=x', 'DBusActivatable=true'), /no Exec/],
    ['with only field codes', entry('Name=x', 'Exec=%U'), /names no program/],
    ['with a broken Exec', entry('Name=x', 'Exec="x'), /unterminated/],
    ['not an entry at all', 'just some text\nName=x\nExec=x', /no \[Desktop Entry\]/],
  ])('says why it skips an entry %s', (_what, text, reason) => {
    const v = parseDesktopEntry(text);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(reason);
  });

  it('lists an entry whose Hidden or NoDisplay is false', () => {
    expect(parseDesktopEntry(entry('Name=x', 'Exec=x', 'Hidden=false', 'NoDisplay=false')).ok).toBe(true);
  });
});

describe('desktopFileId', () => {
  it('joins sub-folders with dashes', () => {
    expect(desktopFileId('kde4/kate.desktop')).toBe('kde4-kate.desktop');
    expect(desktopFileId('firefox.desktop')).toBe('firefox.desktop');
  });
});
