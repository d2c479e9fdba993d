// One .desktop file, read as the freedesktop Desktop Entry Specification (1.5) says: the
// [Desktop Entry] group's keys, string escapes, localized names, and the Exec key split into
// a program and its arguments. Pure: text in, an entry or the reason it is not an app out.

/** What the app list needs of an entry that is a launchable application. */
export interface DesktopEntry {
  name: string;
  /** The program and its arguments, field codes (%f, %U, …) removed. */
  exec: string[];
  tryExec?: string;
  /** An icon name of the theme, or an absolute path. */
  icon?: string;
  /** The Path key: the folder to start the program in. */
  workingDir?: string;
}

export type EntryVerdict = { ok: true; entry: DesktopEntry } | { ok: false; reason: string };

const MAIN_GROUP = '[Desktop Entry]';

/** The main group's keys (Name[de] kept as written); later groups (actions) are not read. */
function mainGroup(text: string): Map<string, string> | undefined {
  const keys = new Map<string, string>();
  let group: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (group === MAIN_GROUP) break;
      group = line;
      continue;
    }
    if (group !== MAIN_GROUP) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    // The first of a repeated key counts; the spec forbids repeats, so either choice is a guess.
    if (!keys.has(key)) keys.set(key, line.slice(eq + 1).trim());
  }
  return group === MAIN_GROUP ? keys : undefined;
}

/** A string value's escapes: \s \n \t \r \\ (others are kept as written). */
export function unescapeValue(value: string): string {
  return value.replace(/\\([sntr\\])/g, (_, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

/**
 * The keys to try for a localized value, best first, from a POSIX locale such as de_AT.UTF-8@euro:
 * lang_COUNTRY@MODIFIER, lang_COUNTRY, lang@MODIFIER, lang (the spec's matching rules).
 */
export function localeKeys(locale: string | undefined): string[] {
  const m = /^([a-z]{2,3})(?:_([A-Za-z]{2,3}))?(?:\.[^@]*)?(?:@(\w+))?$/.exec(locale ?? '');
  if (!m) return [];
  const [, lang, country, modifier] = m;
  const out: string[] = [];
  if (country && modifier) out.push(`${lang}_${country}@${modifier}`);
  if (country) out.push(`${lang}_${country}`);
  if (modifier) out.push(`${lang}@${modifier}`);
  out.push(lang!);
  return out;
}

/** Field codes the launcher fills in (and deprecated ones); with no file or URL to open, each is dropped. */
const FIELD_CODES = 'fFuUdDnNickvm';

/**
 * The Exec key (already string-unescaped) as arguments: split at unquoted spaces; inside double
 * quotes \" \` \$ \\ stand for the character; field codes removed, %% is a percent sign.
 * Throws on an unterminated quote or a stray reserved character's escape outside quotes.
 */
export function splitExec(exec: string): string[] {
  const args: string[] = [];
  let cur = '';
  let started = false;
  let quoted = false;
  for (let i = 0; i < exec.length; i++) {
    const c = exec[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < exec.length && '"`$\\'.includes(exec[i + 1]!)) cur += exec[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      started = true;
    } else if (c === ' ' || c === '\t') {
      if (started) args.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (quoted) throw new Error('the Exec key has an unterminated quote');
  if (started) args.push(cur);
  const out: string[] = [];
  for (const arg of args) {
    if (arg.length === 2 && arg[0] === '%' && FIELD_CODES.includes(arg[1]!)) continue;
    out.push(arg.replace(/%(.)/g, (code, c: string) => (c === '%' ? '%' : FIELD_CODES.includes(c) ? '' : code)));
  }
  return out;
}

const isTrue = (v: string | undefined) => v === 'true';

/** An entry's text, as an application to list, or why it is not one. */
export function parseDesktopEntry(text: string, locale?: string): EntryVerdict {
  const keys = mainGroup(text);
  if (!keys) return { ok: false, reason: 'no [Desktop Entry] group' };
  if (keys.get('Type') !== 'Application') return { ok: false, reason: `Type is ${keys.get('Type') ?? 'missing'}, not Application` };
  if (isTrue(keys.get('Hidden'))) return { ok: false, reason: 'Hidden=true (the entry was deleted)' };
  if (isTrue(keys.get('NoDisplay'))) return { ok: false, reason: 'NoDisplay=true' };
  // Started detached, with no terminal to run in, such a program would exit at once.
  if (isTrue(keys.get('Terminal'))) return { ok: false, reason: 'Terminal=true (Umbra opens no terminal to run it in)' };
  const nameKey = [...localeKeys(locale).map((l) => `Name[${l}]`), 'Name'].find((k) => (keys.get(k) ?? '') !== '');
  if (!nameKey) return { ok: false, reason: 'no Name' };
  const rawExec = keys.get('Exec');
  if (!rawExec) return { ok: false, reason: 'no Exec (D-Bus activation only)' };
  let exec: string[];
  try {
    exec = splitExec(unescapeValue(rawExec));
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (exec.length === 0 || exec[0] === '') return { ok: false, reason: 'the Exec key names no program' };
  const entry: DesktopEntry = { name: unescapeValue(keys.get(nameKey)!), exec };
  const tryExec = keys.get('TryExec');
  if (tryExec) entry.tryExec = unescapeValue(tryExec);
  const icon = keys.get('Icon');
  if (icon) entry.icon = unescapeValue(icon);
  const dir = keys.get('Path');
  if (dir && dir.startsWith('/')) entry.workingDir = unescapeValue(dir);
  return { ok: true, entry };
}

/** The desktop file id of a file under an applications folder: subdir/name.desktop is subdir-name.desktop. */
export function desktopFileId(relativePath: string): string {
  return relativePath.split('/').filter((p) => p !== '').join('-');
}
