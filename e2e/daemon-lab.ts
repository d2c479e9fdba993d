// The setup most helper lab tests share: a lab, `umbrad serve` in its client namespace, and the
// lab's servers imported (lab-0, lab-1, …); both torn down after the file. Call it inside a
// describe(); read `lab` and `daemon` in the tests (they exist once beforeAll has run).
import { afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupStaleLabs, createLab, labAvailable, type Lab } from './lab/lab.js';
import { DaemonRun, type DaemonRunOptions } from './daemon-process.js';
import { PROJECT_ROOT } from './umbrad-process.js';

/** Why helper lab tests cannot run here ('' when they can): no lab (not root, no tools) or no build. */
export function daemonLabUnavailable(): string {
  const avail = labAvailable();
  if (!avail.ok) return avail.reason;
  return existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'main.js')) ? '' : 'not built (npm run build)';
}

export interface DaemonLab {
  readonly lab: Lab;
  readonly daemon: DaemonRun;
}

export interface DaemonLabOptions {
  servers?: number;
  /** How to run the helper. */
  daemon?: DaemonRunOptions;
  /** Runs after the lab is made and before the helper starts (e.g. to write a file the helper reads at start). */
  beforeStart?: (lab: Lab) => void | Promise<void>;
}

export function useDaemonLab(opts: DaemonLabOptions = {}): DaemonLab {
  let lab: Lab | undefined;
  let daemon: DaemonRun | undefined;
  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: opts.servers ?? 1 });
    await opts.beforeStart?.(lab);
    daemon = new DaemonRun(lab, opts.daemon);
    await daemon.start();
    const c = await daemon.client();
    for (let i = 0; i < lab.servers.length; i++) await c.call('importConfig', { text: lab.clientConfig(i), name: `lab ${i}` });
  });
  afterAll(async () => {
    await daemon?.stop('SIGKILL').catch(() => undefined);
    daemon?.cleanup();
    await lab?.destroy();
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not set up (beforeAll failed or has not run)`);
    return v;
  };
  return {
    get lab() {
      return ready(lab, 'the lab');
    },
    get daemon() {
      return ready(daemon, 'the helper');
    },
  };
}
