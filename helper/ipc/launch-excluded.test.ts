import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProgram, launchExcluded, LaunchError } from './launch-excluded.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'umbra-launch-'));
  dirs.push(d);
  return d;
};
const exited = (child: { once(e: 'exit', l: (code: number | null) => void): unknown }) => new Promise<number | null>((r) => child.once('exit', r));

describe('launchExcluded', () => {
  it('asks the helper to move the held process before the program runs, then runs it', async () => {
    const dir = scratch();
    const out = join(dir, 'ran');
    const seen: { pid: number; cmdline: string; ranYet: boolean }[] = [];
    const client = {
      async call(_m: 'excludeProcess', p: { pid: number }) {
        seen.push({ pid: p.pid, cmdline: readFileSync(`/proc/${p.pid}/cmdline`, 'utf8'), ranYet: existsSync(out) });
        return { excluded: [] };
      },
    };
    const { pid, child } = await launchExcluded(client, 'sh', ['-c', `echo $$ > ${out}`], { detached: false });
    expect(await exited(child)).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.pid).toBe(pid);
    expect(seen[0]!.cmdline).toContain('umbra-exclude');
    expect(seen[0]!.ranYet).toBe(false);
    // exec keeps the pid: the process the helper moved is the program.
    expect(readFileSync(out, 'utf8').trim()).toBe(String(pid));
  });

  it('never starts the program when the helper refuses, and passes the refusal on', async () => {
    const dir = scratch();
    const out = join(dir, 'ran');
    let pid = 0;
    const client = {
      async call(_m: 'excludeProcess', p: { pid: number }) {
        pid = p.pid;
        throw new Error('process is not yours');
      },
    };
    await expect(launchExcluded(client, 'sh', ['-c', `touch ${out}`])).rejects.toThrow('process is not yours');
    // The held shell ends without exec: wait for it to be gone.
    for (let i = 0; i < 200 && existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== ''; i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(out)).toBe(false);
  });

  it('says so when the program is not found, without asking the helper', async () => {
    let asked = false;
    const client = { async call() { asked = true; return {}; } };
    await expect(launchExcluded(client, 'no-such-program-umbra', [], { env: { PATH: '/usr/bin:/bin' } })).rejects.toThrow(LaunchError);
    expect(asked).toBe(false);
  });
});

describe('findProgram', () => {
  it('finds a program on PATH and skips relative PATH entries', () => {
    expect(findProgram('sh', '.:/bin:/usr/bin')).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(() => findProgram('sh', '.')).toThrow('not found on PATH');
  });
  it('takes a path with a slash as it is, when it is an executable file', () => {
    expect(findProgram('/bin/sh', '')).toBe('/bin/sh');
    const plain = join(scratch(), 'plain');
    writeFileSync(plain, 'not a program', { mode: 0o644 });
    expect(() => findProgram(plain, '')).toThrow('no such executable file');
    expect(() => findProgram('/etc', '')).toThrow('no such executable file');
  });
});
