// Runs `umbrad up` (the compiled helper) inside a lab namespace and watches its output.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Lab } from './lab/lab.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..').replace(/\/dist$/, '');
export const UMBRAD = join(PROJECT_ROOT, 'bin', 'umbrad.js');

export interface UmbradRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching re; rejects on exit or timeout. */
  waitFor(re: RegExp, ms: number): Promise<string>;
  /** Sends a signal and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | null>;
  cleanup(): void;
}

export function startUmbradUp(lab: Lab, ns: string, configText: string): UmbradRun {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-test-'));
  const file = join(dir, 'umbra.conf');
  writeFileSync(file, configText, { mode: 0o600 });
  const child = lab.spawn(ns, [process.execPath, UMBRAD, 'up', file]);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, ms) {
      return new Promise((resolveLine, reject) => {
        const check = () => {
          const line = out.split('\n').find((l) => re.test(l));
          if (line) {
            cleanupListeners();
            resolveLine(line);
          }
        };
        const timer = setTimeout(() => {
          cleanupListeners();
          reject(new Error(`umbrad printed no line matching ${re} in ${ms} ms.\nstdout:\n${out}\nstderr:\n${err}`));
        }, ms);
        const onExit = (code: number | null) => {
          cleanupListeners();
          reject(new Error(`umbrad exited (${code}) before printing ${re}.\nstdout:\n${out}\nstderr:\n${err}`));
        };
        const cleanupListeners = () => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM', ms = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms));
      const r = await Promise.race([exited, timeout]);
      if (r === 'timeout') throw new Error(`umbrad did not exit within ${ms} ms of ${signal}.\nstderr:\n${err}`);
      return r;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What Umbra may have changed in a namespace: links, addresses, rules, routes of every table. */
export async function networkSnapshot(lab: Lab, ns: string): Promise<string> {
  const parts: string[] = [];
  for (const argv of [['ip', '-o', 'link'], ['ip', '-o', 'addr'], ['ip', '-4', 'rule'], ['ip', '-6', 'rule'], ['ip', '-4', 'route', 'show', 'table', 'all'], ['ip', '-6', 'route', 'show', 'table', 'all']]) {
    const r = await lab.exec(ns, argv);
    // Keep names, addresses and routes. Link-local IPv6 is the kernel's own (it appears once
    // duplicate address detection finishes), not something Umbra adds or must remove.
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '' && !/fe80:/.test(l));
    parts.push(lines.map((l) => l.replace(/link\/ether \S+ brd \S+/, '').replace(/\s+/g, ' ').trim()).sort().join('\n'));
  }
  return parts.join('\n---\n');
}
