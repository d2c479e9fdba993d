// How the browser gets browser mode's address without anyone else seeing the token: a page in a
// private directory (0700, the browser's user's) that forwards to http://127.0.0.1:PORT/#token=….
// `xdg-open file:///run/user/1000/umbra-browser-…/open.html` puts only that path in argv, which
// every local user can read in /proc/<pid>/cmdline; the file itself only its owner can read.
import { chownSync, closeSync, constants, existsSync, lstatSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface LaunchFile {
  /** The page to open (file://…); holds no secret itself. */
  url: string;
  path: string;
  /** Removes the page and its directory (idempotent). */
  remove(): void;
}

export interface LaunchOwner {
  uid: number;
  gid: number;
}

/** The forwarding page; `target` is the address with the token. */
export function launchPage(target: string): string {
  const json = JSON.stringify(target).replaceAll('<', '\\u003c');
  const attr = target.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${attr}">
<title>Umbra</title></head>
<body><p>Opening Umbra… <a href="${attr}" rel="noreferrer">continue</a></p>
<script>location.replace(${json});</script></body></html>
`;
}

/**
 * The user's runtime directory ($XDG_RUNTIME_DIR, else /run/user/<uid>) when it is really theirs
 * and private (a directory, not a link, owned by them, mode 0700); otherwise the system's temp
 * directory, in which mkdtemp makes a private directory all the same.
 */
function privateBase(owner: LaunchOwner, env: NodeJS.ProcessEnv = process.env, self = process.getuid?.()): string {
  const candidates = [owner.uid === self ? env.XDG_RUNTIME_DIR : undefined, `/run/user/${owner.uid}`];
  for (const dir of candidates) {
    if (!dir || !existsSync(dir)) continue;
    const st = lstatSync(dir);
    if (st.isDirectory() && st.uid === owner.uid && (st.mode & 0o077) === 0) return dir;
  }
  return tmpdir();
}

/** Writes the forwarding page for `target`, readable by `owner` only. */
export function writeLaunchFile(target: string, owner: LaunchOwner, base = privateBase(owner)): LaunchFile {
  const dir = mkdtempSync(join(base, 'umbra-browser-'));
  const path = join(dir, 'open.html');
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, launchPage(target));
    } finally {
      closeSync(fd);
    }
    const self = process.getuid?.();
    if (self === 0 && owner.uid !== 0) {
      chownSync(path, owner.uid, owner.gid);
      chownSync(dir, owner.uid, owner.gid);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { url: pathToFileURL(path).href, path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
