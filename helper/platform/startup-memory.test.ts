import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { nativeAddonPath } from './native.js';
import { releaseConnectMemorySoon, releaseStartupMemory, SHRINKS_YOUNG_GENERATION } from './startup-memory.js';

const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

function growYoungGeneration(): void {
  let keep: object[] = [];
  for (let i = 0; i < 300_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 30_000) keep = [];
  }
}

describe('releaseStartupMemory', () => {
  it('collects only where it shrinks the young generation, and again on a second call', async () => {
    const none = { pageOutFileMappings: async () => 0 };
    expect((await releaseStartupMemory(none)).collected).toBe(SHRINKS_YOUNG_GENERATION);
    expect((await releaseStartupMemory(none)).collected).toBe(SHRINKS_YOUNG_GENERATION);
    // The main context's globals stay as they were.
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });

  it.runIf(SHRINKS_YOUNG_GENERATION)('shrinks a grown young generation', async () => {
    growYoungGeneration();
    const before = newSpace();
    expect((await releaseStartupMemory({ pageOutFileMappings: async () => 0 })).collected).toBe(true);
    expect(newSpace()).toBeLessThan(before);
  });

  // In a child on its own copy of the Node binary: pages this test runner's processes share with
  // it are not reclaimed (the kernel skips pages mapped by more than one process).
  it('hands back the file pages start-up touched: RssFile falls, and the process runs on', (ctx) => {
    const addon = nativeAddonPath();
    if (!existsSync(addon)) ctx.skip('the addon is not built');
    const dir = mkdtempSync(join(tmpdir(), 'umbra-pageout-'));
    try {
      const node = join(dir, 'node');
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
      const script = `const a = require(${JSON.stringify(addon)});
        const f = () => Number(/RssFile:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
        const before = f(); a.pageOutFileMappings().then((asked) => { const after = f();
          const hash = require('crypto').createHash('sha256').update('abc').digest('hex');
          console.log(JSON.stringify({ before, asked, after, hash })); });`;
      const r = spawnSync(node, ['-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const { before, asked, after, hash } = JSON.parse(r.stdout) as { before: number; asked: number; after: number; hash: string };
      // Code and constants dropped from the binary's mappings come back right on the next touch.
      expect(hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      if (asked === 0) ctx.skip('neither MADV_DONTNEED nor MADV_PAGEOUT applied here');
      expect(asked).toBeGreaterThan(1 << 20);
      expect(after).toBeLessThan(before * 0.8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("unmaps the libraries' code (MADV_DONTNEED, which keeps it in the page cache), not only the binary's", (ctx) => {
    const addon = nativeAddonPath();
    if (!existsSync(addon)) ctx.skip('the addon is not built');
    // The libraries are mapped by other processes too (the test runner, on the same Node):
    // MADV_PAGEOUT leaves such pages alone, so only an unmap brings this process's share down.
    // libc's own code is left out: the child uses it again at once.
    const script = `const a = require(${JSON.stringify(addon)});
      const rss = () => { let m = false, kb = 0;
        for (const l of require('fs').readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
          if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) m = / r-xp .*\\/lib[^/]*\\.so[.0-9]*$/.test(l) && !/\\/(libc|ld-linux[^/]*)\\.so/.test(l);
          else if (m && l.startsWith('Rss:')) kb += Number(l.split(/\\s+/)[1]);
        } return kb; };
      const before = rss(); a.pageOutFileMappings().then((asked) => console.log(JSON.stringify({ before, asked, after: rss() })));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { before, asked, after } = JSON.parse(r.stdout) as { before: number; asked: number; after: number };
    if (before === 0) ctx.skip('no shared library code mapped (a static Node)');
    if (asked === 0) ctx.skip('neither MADV_DONTNEED nor MADV_PAGEOUT applied here');
    expect(after).toBeLessThan(before * 0.6);
  });

  it('a failing addon costs nothing but the page-out', async () => {
    expect((await releaseStartupMemory({ pageOutFileMappings: () => { throw new Error('boom'); } })).pagedOut).toBe(0);
    expect((await releaseStartupMemory({ pageOutFileMappings: () => Promise.reject(new Error('boom')) })).pagedOut).toBe(0);
  });

  it('leaves the collection out when asked (the settled pass): only the off-thread parts run', async () => {
    const calls: string[] = [];
    const both = { pageOutFileMappings: async () => (calls.push('page-out'), 1), trimMalloc: async () => (calls.push('trim'), true) };
    expect(await releaseStartupMemory(both, { collection: false })).toEqual({ collected: false, trimmed: true, pagedOut: 1 });
    expect(calls.sort()).toEqual(['page-out', 'trim']);
  });

  it('trims the C heap beside the page-out, and a failing or missing trim costs only itself', async () => {
    const calls: string[] = [];
    const both = { pageOutFileMappings: async () => (calls.push('page-out'), 4096), trimMalloc: async () => (calls.push('trim'), true) };
    expect(await releaseStartupMemory(both)).toMatchObject({ trimmed: true, pagedOut: 4096 });
    expect(calls.sort()).toEqual(['page-out', 'trim']);
    expect(await releaseStartupMemory({ ...both, trimMalloc: () => Promise.reject(new Error('boom')) })).toMatchObject({ trimmed: false, pagedOut: 4096 });
    expect(await releaseStartupMemory({ pageOutFileMappings: async () => 4096 })).toMatchObject({ trimmed: false, pagedOut: 4096 });
  });

  // In a child, so that what this runner's heap holds does not blur the figure.
  it('gives freed C heap back to the kernel: RssAnon falls after many small buffers are freed (glibc)', (ctx) => {
    const addon = nativeAddonPath();
    if (!existsSync(addon)) ctx.skip('the addon is not built');
    const script = `const a = require(${JSON.stringify(addon)});
      const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
      let keep = []; for (let i = 0; i < 60000; i++) keep.push(Buffer.allocUnsafeSlow(900).fill(1));
      keep = undefined; gc(); gc();
      const before = anon(); a.trimMalloc().then((trimmed) => console.log(JSON.stringify({ before, trimmed, after: anon() })));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { before, trimmed, after } = JSON.parse(r.stdout) as { before: number; trimmed: boolean; after: number };
    const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;
    expect(trimmed).toBe(glibc);
    if (!glibc) return;
    // 60,000 buffers of 900 bytes: ~54 MB freed; most of it goes back.
    expect(before - after).toBeGreaterThan(20 * 1024);
  });
});

describe("the addon's malloc settings", () => {
  // In a child: 4 MB ArrayBuffers (a batch arena) used and freed twice, as connects do, then
  // another allocated and left unwritten. With glibc's sliding mmap threshold the second and the
  // third live on the heap, which keeps the pages written (measured: +4 MB); with the addon's
  // fixed one each is a mapping of its own, gone when freed, and the third costs nothing yet.
  it('keeps a big unwritten buffer out of RSS after one like it was freed (glibc)', (ctx) => {
    const addon = nativeAddonPath();
    if (!existsSync(addon)) ctx.skip('the addon is not built');
    const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;
    if (!glibc) ctx.skip('not glibc');
    const script = `require(${JSON.stringify(addon)});
      const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
      gc(); gc(); const start = anon();
      for (let i = 0; i < 2; i++) { let used = new Uint8Array(4 << 20); used.fill(1); used = undefined; gc(); gc(); }
      const next = new Uint8Array(4 << 20); gc();
      console.log(JSON.stringify({ grew: anon() - start, length: next.length }));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { grew, length } = JSON.parse(r.stdout) as { grew: number; length: number };
    expect(length).toBe(4 << 20);
    // Well under the 4096 KiB the heap would keep.
    expect(grew).toBeLessThan(1024);
  });
});

describe('releaseConnectMemorySoon', () => {
  it('hands back memory only once connects have stopped for a while', async () => {
    vi.useFakeTimers();
    try {
      const calls: (boolean | undefined)[] = [];
      const release = async (_a?: unknown, o: { collection?: boolean } = {}) => {
        calls.push(o.collection);
        return { collected: o.collection !== false, trimmed: false, pagedOut: 0 };
      };
      releaseConnectMemorySoon(release);
      await vi.advanceTimersByTimeAsync(5_000);
      // Another connect (a server switch) before it was due: the release waits for this one.
      releaseConnectMemorySoon(release);
      await vi.advanceTimersByTimeAsync(19_000);
      expect(calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_000);
      // Once, and the whole of it (the collection included).
      expect(calls).toEqual([undefined]);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
