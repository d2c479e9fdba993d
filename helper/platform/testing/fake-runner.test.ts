import { describe, expect, it } from 'vitest';
import { CommandError } from '../exec.js';
import { FakeRunner } from './fake-runner.js';
import { netnsRunner } from './netns-runner.js';

describe('FakeRunner', () => {
  it('records argv and input, and prints nothing by default', async () => {
    const run = new FakeRunner();
    expect(await run.run(['ip', 'link'])).toEqual({ stdout: '', stderr: '' });
    await run.run(['nft', '-f', '-'], { input: 'flush ruleset' });
    expect(run.calls).toEqual([{ argv: ['ip', 'link'] }, { argv: ['nft', '-f', '-'], input: 'flush ruleset' }]);
    expect(run.lines).toEqual(['ip link', 'nft -f -']);
    run.clearCalls();
    expect(run.calls).toEqual([]);
  });

  it('fails matching commands with a CommandError, by line, pattern or predicate', async () => {
    const run = new FakeRunner()
      .failOn('ip a', { exitCode: 1, stderr: 'nope' })
      .failOn(/^nft /)
      .failOn((argv) => argv.includes('boom'));
    const err = await run.run(['ip', 'a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ argv: ['ip', 'a'], exitCode: 1, stderr: 'nope' });
    await expect(run.run(['nft', 'list', 'ruleset'])).rejects.toThrow(/^nft list ruleset: exited with 2/);
    await expect(run.run(['x', 'boom'])).rejects.toThrow(CommandError);
    await expect(run.run(['ip', 'a', 'b'])).resolves.toEqual({ stdout: '', stderr: '' });
    expect(run.lines).toEqual(['ip a', 'nft list ruleset', 'x boom', 'ip a b']);
  });

  it('limits a reaction to `times`, and the latest matching reaction wins', async () => {
    const run = new FakeRunner().respond(/show/, 'general').respond('ip route show', 'specific', { times: 1 }).failOn('ip rule add', { times: 1 });
    expect((await run.run(['ip', 'route', 'show'])).stdout).toBe('specific');
    expect((await run.run(['ip', 'route', 'show'])).stdout).toBe('general');
    await expect(run.run(['ip', 'rule', 'add'])).rejects.toThrow(CommandError);
    await expect(run.run(['ip', 'rule', 'add'])).resolves.toBeDefined();
  });
});

describe('netnsRunner', () => {
  it('prefixes every command with ip netns exec', async () => {
    const base = new FakeRunner();
    const run = netnsRunner('urt-123', base);
    await run.run(['ip', '-4', 'route', 'show'], { input: 'x' });
    expect(base.calls).toEqual([{ argv: ['ip', 'netns', 'exec', 'urt-123', 'ip', '-4', 'route', 'show'], input: 'x' }]);
  });

  it('refuses a namespace name that is not one', () => {
    expect(() => netnsRunner('a b')).toThrow(/not a valid namespace name/);
    expect(() => netnsRunner('../x')).toThrow(/not a valid namespace name/);
  });
});
