// Best-effort cleanup when a test process ends abruptly, and removal of labs whose creator died.
// Lab namespaces are named ulab<pid>n<counter>-<role>; the lab's scratch directory
// (<tmpdir>/umbra-lab-<prefix>-XXXXXX) holds owner.json = {pid, start} so a recycled pid is
// told apart from the process that built the lab.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './proc.js';

const NETNS_DIR = '/run/netns';
export const LAB_NS_PATTERN = /^(ulab(\d+)n\d+)-(?:c|i|s\d+)$/;
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

export function labTmpDirs(prefix: string): string[] {
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
 * left running inside them, and removes their scratch directories. Returns the deleted names.
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
    deleted.push(ns);
    stalePrefixes.add(prefix);
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
