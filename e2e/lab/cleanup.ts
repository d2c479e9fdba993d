// Best-effort cleanup when a test process ends abruptly, and removal of labs whose creator died.
// Lab namespaces are named ulab<pid>n<counter>-<role>; the lab's scratch directory
// (<tmpdir>/umbra-lab-<prefix>-XXXXXX) holds owner.json = {pid, start} so a recycled pid is
// told apart from the process that built the lab. Per-namespace files (/etc/netns/<ns>/, which
// `ip netns exec` bind-mounts over /etc) belong to the namespace and go with it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './proc.js';

const NETNS_DIR = '/run/netns';
/** `ip netns exec NS` bind-mounts each file of /etc/netns/NS/ over the same name in /etc. */
export const NETNS_ETC_DIR = '/etc/netns';
const LAB_NS_PATTERN = /^(ulab(\d+)n\d+)-(?:c|i|s\d+)$/;
export const TMP_PREFIX = 'umbra-lab-';
const TMP_DIR_PATTERN = /^umbra-lab-(ulab(\d+)n\d+)-/;

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

// ---- exit / signal hooks -------------------------------------------------------------------

const cleanups = new Set<() => void>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function runAll(): void {
  const fns = [...cleanups];
  cleanups.clear();
  for (const fn of fns) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  // We replaced the default action; if no one else handles the signal, die of it as intended.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Runs fn (synchronously) if the process exits or is signalled first. Returns the unregister. */
export function onProcessExit(fn: () => void): () => void {
  cleanups.add(fn);
  install();
  return () => {
    cleanups.delete(fn);
    if (cleanups.size === 0) uninstall();
  };
}

// ---- namespaces ----------------------------------------------------------------------------

export function listNamespaces(): string[] {
  return safeReaddir(NETNS_DIR);
}

/** Start time of a process (clock ticks since boot, field 22 of /proc/<pid>/stat), or undefined. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** SIGKILLs every process still inside the namespace, then deletes it. Synchronous; never throws. */
export function removeNamespaceSync(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const p of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/**
 * Writes /etc/netns/<ns>/<name> (so that processes run with `ip netns exec ns` see it as
 * /etc/<name>) and returns its path. Remove with removeNetnsEtcSync(ns).
 */
export function writeNetnsEtc(ns: string, name: string, content: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ns) || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`bad name ${ns}/${name}`);
  const dir = join(NETNS_ETC_DIR, ns);
  // Another lab may remove an empty /etc/netns between our mkdir of it and of dir: retry.
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const file = join(dir, name);
      writeFileSync(file, content, { mode: 0o644 });
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

/** Removes /etc/netns/<ns>/, and /etc/netns itself once empty (the lab created it). Never throws. */
export function removeNetnsEtcSync(ns: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ns)) return;
  try {
    rmSync(join(NETNS_ETC_DIR, ns), { recursive: true, force: true });
  } catch {
    /* best effort */
  }
  try {
    rmdirSync(NETNS_ETC_DIR); // fails, as it should, while anything is left in it
  } catch {
    /* not empty, or gone */
  }
}

function labTmpDirs(prefix: string): string[] {
  return safeReaddir(tmpdir())
    .filter((d) => d.startsWith(`${TMP_PREFIX}${prefix}-`))
    .map((d) => join(tmpdir(), d));
}

function ownerIsGone(prefix: string, pid: number): boolean {
  if (!isAlive(pid)) return true;
  for (const dir of labTmpDirs(prefix)) {
    try {
      const owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as { pid?: number; start?: string };
      if (owner.pid === pid && owner.start !== undefined && owner.start !== processStart(pid)) return true;
    } catch {
      /* no owner file: trust the pid */
    }
  }
  return false;
}

/**
 * Deletes lab namespaces (ulab<pid>n<k>-*) whose creating process no longer runs, kills what was
 * left running inside them, and removes their /etc/netns/<ns>/ folders and scratch directories.
 * Returns the deleted namespace names.
 */
export function cleanupStaleLabs(): string[] {
  const deleted: string[] = [];
  const stalePrefixes = new Set<string>();
  for (const ns of listNamespaces()) {
    const m = LAB_NS_PATTERN.exec(ns);
    if (!m?.[1] || !m[2]) continue;
    const prefix = m[1];
    if (!ownerIsGone(prefix, Number(m[2]))) continue;
    removeNamespaceSync(ns);
    removeNetnsEtcSync(ns);
    deleted.push(ns);
    stalePrefixes.add(prefix);
  }
  // /etc/netns folders of dead labs, including ones whose namespaces are already gone.
  for (const ns of safeReaddir(NETNS_ETC_DIR)) {
    const m = LAB_NS_PATTERN.exec(ns);
    if (m?.[1] && m[2] && (stalePrefixes.has(m[1]) || ownerIsGone(m[1], Number(m[2])))) removeNetnsEtcSync(ns);
  }
  // Scratch directories of dead labs, including ones whose namespaces are already gone.
  for (const d of safeReaddir(tmpdir())) {
    const m = TMP_DIR_PATTERN.exec(d);
    if (m?.[1] && m[2] && (stalePrefixes.has(m[1]) || !isAlive(Number(m[2])))) {
      rmSync(join(tmpdir(), d), { recursive: true, force: true });
    }
  }
  return deleted;
}
