// The installed applications, as the desktop's menus list them: the .desktop files under each
// data directory's applications/ folder ($XDG_DATA_HOME first, then $XDG_DATA_DIRS), the first
// file of a desktop file id winning (so a user's Hidden=true copy hides the system's), minus the
// ones that are not shown or whose TryExec program is missing. Each with its icon as a small
// data: URL, since the sandboxed page may load nothing from the disk. A file that cannot be read
// or parsed is left out; nothing here throws for one bad file.
import { constants } from 'node:fs';
import { access, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { desktopFileId, parseDesktopEntry, type DesktopEntry } from './desktop-entry.js';

export interface DesktopApp extends DesktopEntry {
  /** The desktop file id, e.g. org.gnome.Calculator.desktop. */
  id: string;
  /** data:image/png or data:image/svg+xml, when the icon was found and small enough. */
  iconUrl?: string;
}

/** Largest icon file sent to the page; bigger ones are shown without an icon. */
export const MAX_ICON_BYTES = 32 * 1024;
/** Largest .desktop file read; a bigger one is not an entry anyone wrote by hand. */
const MAX_ENTRY_BYTES = 256 * 1024;
/** How deep under applications/ entries are looked for (vendors use one or two levels). */
const MAX_DEPTH = 4;

const absolute = (p: string | undefined) => (p && path.isAbsolute(p) ? p : undefined);

/** The data directories, most important first (XDG Base Directory spec, with its defaults). */
export function dataDirs(env: NodeJS.ProcessEnv, homedir: string): string[] {
  const home = absolute(env.XDG_DATA_HOME) ?? path.join(homedir, '.local', 'share');
  const system = (env.XDG_DATA_DIRS ?? '').split(':').filter((d) => absolute(d));
  return [...new Set([home, ...(system.length > 0 ? system : ['/usr/local/share', '/usr/share'])])];
}

/** The .desktop files under `dir`, as paths relative to it, in a stable order. */
async function entryFiles(dir: string, depth = 0, prefix = ''): Promise<string[]> {
  let names;
  try {
    names = await readdir(path.join(dir, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const d of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rel = prefix === '' ? d.name : `${prefix}/${d.name}`;
    if (d.isDirectory() && depth < MAX_DEPTH) out.push(...(await entryFiles(dir, depth + 1, rel)));
    else if ((d.isFile() || d.isSymbolicLink()) && d.name.endsWith('.desktop')) out.push(rel);
  }
  return out;
}

/** At most `max` bytes of a regular file, or undefined if it is larger, missing or not a file. */
async function readCapped(file: string, max: number): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
    const st = await fh.stat();
    if (!st.isFile() || st.size > max) return undefined;
    return await fh.readFile();
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Whether a TryExec program is there: an absolute path as given, else a name on PATH. */
async function programExists(program: string, pathVar: string | undefined): Promise<boolean> {
  if (program.includes('/')) return path.isAbsolute(program) && executable(program);
  for (const dir of (pathVar ?? '').split(':').filter((d) => absolute(d))) {
    if (await executable(path.join(dir, program))) return true;
  }
  return false;
}

const ICON_TYPES = { png: 'image/png', svg: 'image/svg+xml' } as const;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The file's bytes as a data: URL, if they are what the name says (PNG magic, or an <svg> element). */
export function iconDataUrl(file: string, bytes: Buffer): string | undefined {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (ext !== 'png' && ext !== 'svg') return undefined;
  if (bytes.length === 0 || bytes.length > MAX_ICON_BYTES) return undefined;
  if (ext === 'png' && !bytes.subarray(0, 8).equals(PNG_MAGIC)) return undefined;
  if (ext === 'svg' && !/<svg[\s>]/.test(bytes.subarray(0, 4096).toString('utf8'))) return undefined;
  return `data:${ICON_TYPES[ext]};base64,${bytes.toString('base64')}`;
}

/**
 * Where an Icon key's file may be, best first: an absolute path as it is; a name in the hicolor
 * theme of each data directory (48 px, 64 px, scalable) and then /usr/share/pixmaps.
 */
export function iconCandidates(icon: string, dirs: readonly string[]): string[] {
  if (path.isAbsolute(icon)) return [icon];
  if (icon.includes('/')) return [];
  // Some entries write the file name (Icon=foo.png); the theme lookup wants the bare name.
  const name = icon.replace(/\.(png|svg|xpm)$/i, '');
  const out: string[] = [];
  for (const dir of dirs) {
    for (const size of ['48x48', '64x64', 'scalable']) {
      for (const ext of Object.keys(ICON_TYPES)) out.push(path.join(dir, 'icons', 'hicolor', size, 'apps', `${name}.${ext}`));
    }
  }
  for (const ext of Object.keys(ICON_TYPES)) out.push(path.join('/usr/share/pixmaps', `${name}.${ext}`));
  return out;
}

async function resolveIcon(icon: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const file of iconCandidates(icon, dirs)) {
    const bytes = await readCapped(file, MAX_ICON_BYTES);
    const url = bytes && iconDataUrl(file, bytes);
    if (url) return url;
  }
  return undefined;
}

export interface ScanOptions {
  env: NodeJS.ProcessEnv;
  homedir: string;
  /** Look up each icon (default true); a launch needs none. */
  icons?: boolean;
}

/** The installed applications, sorted by name; `skipped` says which files were left out and why. */
export async function scanDesktopApps({ env, homedir, icons = true }: ScanOptions): Promise<{ apps: DesktopApp[]; skipped: { file: string; reason: string }[] }> {
  const dirs = dataDirs(env, homedir);
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG;
  const seen = new Set<string>();
  const apps: DesktopApp[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const dir of dirs) {
    const appsDir = path.join(dir, 'applications');
    for (const rel of await entryFiles(appsDir)) {
      const id = desktopFileId(rel);
      if (seen.has(id)) continue;
      seen.add(id);
      const file = path.join(appsDir, rel);
      const bytes = await readCapped(file, MAX_ENTRY_BYTES);
      if (!bytes) {
        skipped.push({ file, reason: 'cannot be read, or larger than an entry should be' });
        continue;
      }
      const verdict = parseDesktopEntry(bytes.toString('utf8'), locale);
      if (!verdict.ok) {
        skipped.push({ file, reason: verdict.reason });
        continue;
      }
      const { entry } = verdict;
      if (entry.tryExec && !(await programExists(entry.tryExec, env.PATH))) {
        skipped.push({ file, reason: `TryExec ${entry.tryExec} is not installed` });
        continue;
      }
      const iconUrl = icons && entry.icon ? await resolveIcon(entry.icon, dirs) : undefined;
      apps.push({ id, ...entry, ...(iconUrl ? { iconUrl } : {}) });
    }
  }
  apps.sort((a, b) => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
  return { apps, skipped };
}

/** One installed app by its id, read afresh (what is launched is what is on disk now). */
export async function findDesktopApp(id: string, opts: ScanOptions): Promise<DesktopApp | undefined> {
  return (await scanDesktopApps({ ...opts, icons: false })).apps.find((a) => a.id === id);
}
