// `umbra exclude` and `umbra include` against a fake helper: the program runs only once the helper
// has moved it, the command ends with the program's status, and refusals are said plainly.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../ipc/schema.js';
import { useCliHarness } from './testing/cli-harness.js';

const h = useCliHarness();
const env = { PATH: '/usr/bin:/bin' };

describe('umbra exclude', () => {
  it('runs the program after the helper moved it, and ends with its exit status', async () => {
    const { fake, path } = await h.helper();
    const out = join(h.dir, 'ran');
    const r = await h.cli(['--socket', path, 'exclude', '--', 'sh', '-c', `echo $$ > ${out}; exit 7`], { env });
    expect(r.code).toBe(7);
    const moved = fake.calls.filter((c) => c.method === 'excludeProcess');
    expect(moved).toHaveLength(1);
    expect(readFileSync(out, 'utf8').trim()).toBe(String((moved[0]!.params as { pid: number }).pid));
    expect(r.err).toMatch(/^umbra: sh \(pid \d+\) runs outside the tunnel, unprotected$/);
  });

  it('starts nothing when the helper refuses, and says why', async () => {
    const out = join(h.dir, 'never');
    const { path } = await h.helper({ handlers: { excludeProcess: async () => { throw new RpcError(ErrorCode.Unavailable, 'split tunnelling is not available on this machine: cgroup v2 is not available'); } } });
    const r = await h.cli(['--socket', path, 'exclude', '--', 'sh', '-c', `touch ${out}`], { env });
    expect(r).toMatchObject({ code: 1, err: 'umbra: split tunnelling is not available on this machine: cgroup v2 is not available' });
    await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(out)).toBe(false);
  });

  it('--pid, --list and include', async () => {
    const { path } = await h.helper();
    expect((await h.cli(['--socket', path, 'exclude', '--list'])).out).toBe('No process of yours is outside the tunnel.');
    const moved = await h.cli(['--socket', path, 'exclude', '--pid', '4242']);
    expect(moved.out).toMatch(/^Process 4242 \(process 4242\) and the children it starts now go outside the tunnel, unprotected\.\nConnections it already has stay/);
    expect((await h.cli(['--socket', path, 'exclude', '--list'])).out).toMatch(/Outside the tunnel \(unprotected\):\n\s+4242 {2}process 4242\nMove one back: umbra include PID/);
    expect(JSON.parse((await h.cli(['--socket', path, '--json', 'exclude', '--list'])).out)).toEqual({ available: true, excluded: [{ pid: 4242, name: 'process 4242', uid: 0 }] });
    expect((await h.cli(['--socket', path, 'include', '4242'])).out).toBe('Process 4242 is back in the tunnel for the connections it opens from now on.');
    const again = await h.cli(['--socket', path, 'include', '4242']);
    expect(again).toMatchObject({ code: 1, err: 'umbra: process 4242 is not excluded from the tunnel' });
  });

  it('says a program is missing without asking the helper', async () => {
    const { fake, path } = await h.helper();
    const r = await h.cli(['--socket', path, 'exclude', '--', 'no-such-program-umbra'], { env });
    expect(r).toEqual({ code: 1, out: '', err: 'umbra: cannot run no-such-program-umbra: not found on PATH' });
    expect(fake.calls).toEqual([]);
  });
});
