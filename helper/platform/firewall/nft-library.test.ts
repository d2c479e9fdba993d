import { describe, expect, it } from 'vitest';
import { CommandError, type CommandRunner } from '../exec.js';
import { addonNftLibrary, libraryCommand, withNftLibrary, type NftLibrary, type NftRunResult } from './nft-library.js';

/** Records what the process runner was asked. */
function processRunner(): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return { calls, run: async (argv) => (calls.push(argv), { stdout: `process ${argv.join(' ')}`, stderr: '' }) };
}

describe('libraryCommand', () => {
  it('takes the forms the firewall uses, with their input', () => {
    expect(libraryCommand(['nft', '-f', '-'], 'table inet umbra {}')).toEqual({ text: 'table inet umbra {}', dryRun: false });
    expect(libraryCommand(['nft', '-c', '-f', '-'], 'x')).toEqual({ text: 'x', dryRun: true });
    expect(libraryCommand(['nft', 'list', 'table', 'inet', 'umbra'], undefined)).toEqual({ text: 'list table inet umbra', dryRun: false });
    expect(libraryCommand(['nft', 'list', 'ruleset', 'arp'], undefined)).toEqual({ text: 'list ruleset arp', dryRun: false });
  });

  it('leaves files, flags, other programs and words the CLI would split differently to a process', () => {
    expect(libraryCommand(['nft', '-f', '/var/lib/umbra/boot.nft'], undefined)).toBeUndefined();
    expect(libraryCommand(['nft', 'monitor'], undefined)).toBeUndefined();
    expect(libraryCommand(['nft', '-j', 'list', 'ruleset'], undefined)).toBeUndefined();
    expect(libraryCommand(['nft', '-c', 'list', 'tables'], undefined)).toBeUndefined();
    expect(libraryCommand(['nft', 'list', 'table', 'inet', 'a b'], undefined)).toBeUndefined();
    expect(libraryCommand(['nft', 'list', 'table;', 'flush', 'ruleset'], undefined)).toBeUndefined();
    expect(libraryCommand(['ip', '-batch', '-'], 'link set lo up')).toBeUndefined();
  });
});

describe('withNftLibrary', () => {
  it('runs nft through the library and the rest as processes', async () => {
    const seen: [string, boolean][] = [];
    const lib: NftLibrary = { nftRun: async (text, dry) => (seen.push([text, dry]), { ok: true, output: `lib ${text}`, error: '' }) };
    const proc = processRunner();
    const run = withNftLibrary(proc, lib);
    expect(await run.run(['nft', '-c', '-f', '-'], { input: 'add table inet umbra' })).toEqual({ stdout: 'lib add table inet umbra', stderr: '' });
    expect((await run.run(['nft', 'list', 'tables'])).stdout).toBe('lib list tables');
    expect((await run.run(['ip', 'link', 'show'])).stdout).toBe('process ip link show');
    expect(seen).toEqual([['add table inet umbra', true], ['list tables', false]]);
    expect(proc.calls).toEqual([['ip', 'link', 'show']]);
  });

  it('fails as the nft program would: a CommandError with its message as stderr', async () => {
    const lib: NftLibrary = { nftRun: async () => ({ ok: false, output: '', error: 'Error: No such file or directory\nlist table inet umbra\n' }) };
    const err = await withNftLibrary(processRunner(), lib).run(['nft', 'list', 'table', 'inet', 'umbra']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ exitCode: 1, stderr: expect.stringContaining('No such file or directory'), argv: ['nft', 'list', 'table', 'inet', 'umbra'] });
  });

  it('runs one command at a time, in the order called', async () => {
    const log: string[] = [];
    const releases: (() => void)[] = [];
    const lib: NftLibrary = {
      nftRun: (text) => {
        log.push(`start ${text}`);
        return new Promise<NftRunResult>((resolve) => releases.push(() => (log.push(`end ${text}`), resolve({ ok: text !== 'list b', output: '', error: 'no' }))));
      },
    };
    const run = withNftLibrary(processRunner(), lib);
    const a = run.run(['nft', 'list', 'a']);
    const b = run.run(['nft', 'list', 'b']).catch(() => 'failed');
    const c = run.run(['nft', 'list', 'c']);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start list a']);
    for (let i = 0; i < 3; i++) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    // A failed command does not stop the next one.
    await expect(Promise.all([a, b, c])).resolves.toEqual([{ stdout: '', stderr: 'no' }, 'failed', { stdout: '', stderr: 'no' }]);
    expect(log).toEqual(['start list a', 'end list a', 'start list b', 'end list b', 'start list c', 'end list c']);
  });

  it('falls back to the process for good when the library cannot be used, and says so once', async () => {
    let tries = 0;
    const lib: NftLibrary = { nftRun: () => (tries++, Promise.reject(new Error('libnftables.so.1 could not be loaded'))) };
    const proc = processRunner();
    const why: string[] = [];
    const run = withNftLibrary(proc, lib, (w) => why.push(w));
    expect((await run.run(['nft', '-f', '-'], { input: 'flush ruleset' })).stdout).toBe('process nft -f -');
    expect((await run.run(['nft', 'list', 'tables'])).stdout).toBe('process nft list tables');
    expect(tries).toBe(1);
    expect(why).toEqual(['libnftables.so.1 could not be loaded']);
    expect(proc.calls).toEqual([['nft', '-f', '-'], ['nft', 'list', 'tables']]);
  });
});

describe('addonNftLibrary', () => {
  it('rejects, saying what to do, when the addon has no nftRun', async () => {
    await expect(addonNftLibrary(() => ({})).nftRun('list tables', false)).rejects.toThrow(/npm run build:native/);
  });

  it('the built addon parses without touching the kernel: a syntax error comes back as nft says it', async () => {
    // A dry run of text that does not parse: nothing reaches nf_tables, on any machine. Without
    // libnftables on this machine the call rejects instead, naming the library.
    const r = await addonNftLibrary().nftRun('this is not nft', true).catch((e: Error) => e);
    if (r instanceof Error) expect(r.message).toMatch(/libnftables/);
    else expect(r).toMatchObject({ ok: false, output: '', error: expect.stringMatching(/syntax error/) });
  });
});
