// The CLI run in-process against the real IPC server with a fake helper behind it (for the CLI's
// tests): helper() starts one, cli() runs a command line and returns its output and exit code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Handlers } from '../../ipc/schema.js';
import { startIpcServer } from '../../ipc/server.js';
import { FakeHelper, type FakeHelperOptions } from '../../ipc/testing/fake-helper.js';
import { runCli, type CliIo } from '../run.js';

export const NOW = 1_700_000_000_000;

/** Registers the hooks that give each test file a temp dir and close its helpers after each test. */
export function useCliHarness() {
  let dir = '';
  let seq = 0;
  const cleanups: (() => unknown)[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'umbra-cli-'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  return {
    get dir() {
      return dir;
    },
    /** Runs after the current test (e.g. clears a timer it started). */
    after(fn: () => unknown) {
      cleanups.push(fn);
    },
    async helper(opts: FakeHelperOptions & { handlers?: Partial<Handlers> } = {}) {
      const fake = new FakeHelper({ now: () => NOW, ...opts });
      const path = join(dir, `h${++seq}.sock`);
      const server = await startIpcServer({ socketPath: path, handlers: { ...fake.handlers, ...opts.handlers }, subscribe: fake.subscribe, group: 'nogroup', log: () => {} });
      cleanups.push(() => server.close(), () => fake.dispose());
      return { fake, path };
    },
    async cli(argv: string[], io: Partial<CliIo> = {}): Promise<{ code: number; out: string; err: string }> {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {}, now: () => NOW, clientVersion: '9.9.9', ...io });
      return { code, out: out.join('\n'), err: err.join('\n') };
    },
  };
}
