// Launch at login on Linux desktops: an XDG autostart entry, $XDG_CONFIG_HOME/autostart/umbra.desktop
// (~/.config when unset), that starts the app in the tray (--hidden). Enabling writes it
// atomically; disabling removes it.
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { configHome } from './paths.js';

export const HIDDEN_FLAG = '--hidden';
const AUTOSTART_FILE_NAME = 'umbra.desktop';

/** The autostart folder the XDG Base Directory spec names (a relative XDG_CONFIG_HOME is ignored). */
export function autostartDir(env: NodeJS.ProcessEnv, homedir: string): string {
  return path.join(configHome(env, homedir), 'autostart');
}

const RESERVED = /[\s"'\\><~|&;$*?#()`]/;

/**
 * One argument of an Exec key (Desktop Entry spec, "The Exec key"): quoted when it holds a
 * reserved character, with `"` `` ` `` `$` `\` escaped inside the quotes, `%` doubled, and then
 * backslashes escaped once more because the value is itself a string value.
 */
export function quoteExecArg(arg: string): string {
  if (arg === '') return '""';
  // eslint-disable-next-line no-control-regex -- control characters cannot appear in a desktop entry
  if (/[\u0000-\u001f\u007f]/.test(arg)) throw new Error(`cannot put a control character in an autostart entry: ${JSON.stringify(arg)}`);
  let out = arg.replaceAll('%', '%%');
  if (RESERVED.test(arg)) out = `"${out.replace(/["`$\\]/g, (c) => `\\${c}`)}"`;
  return out.replaceAll('\\', '\\\\');
}

export interface EntryOptions {
  /** The program and its arguments; HIDDEN_FLAG is added. */
  command: readonly string[];
  /** Icon name (installed in the icon theme) or an absolute path. */
  icon?: string;
}

export function desktopEntry({ command, icon = 'umbra' }: EntryOptions): string {
  if (command.length === 0) throw new Error('autostart needs the command that starts Umbra');
  const exec = [...command, HIDDEN_FLAG].map(quoteExecArg).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Umbra',
    'Comment=Start Umbra VPN in the tray',
    `Exec=${exec}`,
    `Icon=${icon.replace(/[\r\n]/g, '')}`,
    'Terminal=false',
    'Categories=Network;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** Whether an entry's text starts the app: not Hidden, not switched off in GNOME's key. */
export function entryEnabled(text: string): boolean {
  let inMain = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inMain = line === '[Desktop Entry]';
      continue;
    }
    if (!inMain) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim().toLowerCase();
    if (key === 'Hidden' && value === 'true') return false;
    if (key === 'X-GNOME-Autostart-enabled' && value === 'false') return false;
  }
  return true;
}

export interface AutostartOptions extends EntryOptions {
  env?: NodeJS.ProcessEnv;
  homedir: string;
}

export class Autostart {
  readonly file: string;
  private readonly entry: EntryOptions;

  constructor(opts: AutostartOptions) {
    this.file = path.join(autostartDir(opts.env ?? process.env, opts.homedir), AUTOSTART_FILE_NAME);
    this.entry = { command: opts.command, icon: opts.icon };
  }

  async isEnabled(): Promise<boolean> {
    try {
      return entryEnabled(await readFile(this.file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async enable(): Promise<void> {
    await writeFileAtomic(this.file, desktopEntry(this.entry), 0o644);
  }

  async disable(): Promise<void> {
    try {
      await unlink(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /** Turns it on or off; resolves with the value now in effect. */
  async set(enabled: boolean): Promise<boolean> {
    if (enabled) await this.enable();
    else await this.disable();
    return this.isEnabled();
  }
}
