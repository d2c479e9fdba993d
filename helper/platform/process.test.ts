// denyCoreDumps on a real process: a child node loads the addon, calls it and waits; the test
// then looks at the child from outside, where the kernel shows the effect. A second child that
// skips the call is the control: the same observations must come out the other way, so the
// checks mean something. As root the children run as nobody (65534), so that "owned by root"
// is a change; as another user they run as that user.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeAddonPath } from './native.js';
import { denyCoreDumps, type ProcessAddon } from './process.js';

const root = process.getuid?.() === 0;
const childUid = root ? 65534 : process.getuid!();
// The children start with a core limit of 1 MiB where prlimit(1) exists, so that "0 after the
// call" is a change even on machines whose default is already 0.
const prlimit = spawnSync('prlimit', ['--version']).status === 0;
const STARTING_CORE = '1048576 1048576';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A child that (maybe) calls denyCoreDumps, prints its result, then sleeps until killed. */
async function child(call: boolean): Promise<{ pid: number; printed: unknown }> {
  const script = `
    const addon = require(${JSON.stringify(nativeAddonPath())});
    const out = ${call ? 'addon.denyCoreDumps()' : 'null'};
    process.stdout.write(JSON.stringify(out) + '\\n');
    setInterval(() => {}, 1000);`;
  const argv = [process.execPath, '-e', script];
  if (prlimit) argv.unshift('prlimit', `--core=${STARTING_CORE.replace(' ', ':')}`);
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], ...(root ? { uid: childUid, gid: childUid } : {}) });
  children.push(c);
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    c.once('exit', (code) => reject(new Error(`child exited (${code}) before printing`)));
  });
  return { pid: c.pid!, printed: JSON.parse(line) };
}

function coreLimitOf(pid: number): string {
  const row = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max core file size'));
  return row!.replace('Max core file size', '').trim().split(/\s+/).slice(0, 2).join(' ');
}

describe('denyCoreDumps in a real process', () => {
  it('makes the process non-dumpable (its /proc entries turn root-owned) and its core limit 0', async () => {
    const { pid, printed } = await child(true);
    expect(printed).toEqual({ dumpable: 0, coreLimit: 0 });
    expect(statSync(`/proc/${pid}/mem`).uid).toBe(0);
    expect(statSync(`/proc/${pid}/environ`).uid).toBe(0);
    expect(coreLimitOf(pid)).toBe('0 0');
  });

  it('control: without the call the same child is dumpable and owns its /proc entries', async () => {
    const { pid } = await child(false);
    expect(statSync(`/proc/${pid}/mem`).uid).toBe(childUid);
    if (prlimit) expect(coreLimitOf(pid)).toBe(STARTING_CORE);
  });
});

describe('denyCoreDumps checks what the kernel reports', () => {
  const fake = (dumpable: number, coreLimit: number): ProcessAddon => ({ denyCoreDumps: () => ({ dumpable, coreLimit }) });

  it('returns the state when both hold', () => {
    expect(denyCoreDumps(fake(0, 0))).toEqual({ dumpable: 0, coreLimit: 0 });
  });

  it.each([
    [1, 0],
    [0, 4096],
  ])('throws when dumpable=%i, core limit=%i', (dumpable, coreLimit) => {
    expect(() => denyCoreDumps(fake(dumpable, coreLimit))).toThrow(/core dumps are still possible.*will not hold private keys/);
  });
});
