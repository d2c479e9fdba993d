// The order and timing of in-process commands: one at a time, in the order called, and the first
// one started at once (the caller computes meanwhile). The fallbacks are tested with their users
// (firewall/nft-library.test.ts, routing/ip-library.test.ts).
import { describe, expect, it } from 'vitest';
import { CommandError } from './exec.js';
import { withInProcess } from './in-process-runner.js';
import { FakeRunner } from './testing/fake-runner.js';

describe('withInProcess', () => {
  it('starts a command with nothing before it within the call, and the next only after it', async () => {
    const started: string[] = [];
    let finish: () => void = () => {};
    const run = withInProcess(new FakeRunner(), (argv) => () => {
      started.push(argv[1]!);
      return new Promise((resolve) => (finish = () => resolve({ stdout: argv[1]!, stderr: '' })));
    });
    const a = run.run(['x', 'a']);
    expect(started).toEqual(['a']); // synchronously, before any await
    const b = run.run(['x', 'b']);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a']);
    finish();
    await expect(a).resolves.toEqual({ stdout: 'a', stderr: '' });
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b']);
    finish();
    await expect(b).resolves.toEqual({ stdout: 'b', stderr: '' });
    // Idle again: the next starts at once.
    void run.run(['x', 'c']);
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it("passes a command's failure on and keeps going in the process's way", async () => {
    const proc = new FakeRunner();
    const run = withInProcess(proc, (argv) => (argv[0] === 'x' ? () => Promise.reject(new CommandError(argv, 1, 'no')) : undefined));
    await expect(run.run(['x'])).rejects.toMatchObject({ stderr: 'no' });
    await expect(run.run(['x'])).rejects.toMatchObject({ stderr: 'no' });
    await run.run(['y']);
    expect(proc.lines).toEqual(['y']);
  });

  it('keeps the order of commands already queued when the in-process way fails', async () => {
    const order: string[] = [];
    const proc = { run: async (argv: string[]) => (order.push(`process ${argv[1]}`), { stdout: '', stderr: '' }) };
    let fail: (e: Error) => void = () => {};
    const run = withInProcess(proc, () => () => new Promise((_, reject) => (fail = reject)));
    const a = run.run(['x', 'a']);
    const b = run.run(['x', 'b']);
    fail(new Error('no library'));
    const c = run.run(['x', 'c']); // unavailable by now, but b is still waiting
    await Promise.all([a, b, c]);
    expect(order).toEqual(['process a', 'process b', 'process c']);
  });
});
