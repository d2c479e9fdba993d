import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { nativeAddonPath } from './native.js';
import { releaseStartupMemory, SHRINKS_YOUNG_GENERATION } from './startup-memory.js';

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
  it('pages out file pages start-up touched: RssFile falls, where the kernel has MADV_PAGEOUT (5.4+)', (ctx) => {
    const addon = nativeAddonPath();
    if (!existsSync(addon)) ctx.skip('the addon is not built');
    const dir = mkdtempSync(join(tmpdir(), 'umbra-pageout-'));
    try {
      const node = join(dir, 'node');
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
      const script = `const a = require(${JSON.stringify(addon)});
        const f = () => Number(/RssFile:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
        const before = f(); a.pageOutFileMappings().then((asked) => console.log(JSON.stringify({ before, asked, after: f() })));`;
      const r = spawnSync(node, ['-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const { before, asked, after } = JSON.parse(r.stdout) as { before: number; asked: number; after: number };
      if (asked === 0) ctx.skip('no MADV_PAGEOUT on this kernel');
      expect(asked).toBeGreaterThan(1 << 20);
      expect(after).toBeLessThan(before * 0.8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failing addon costs nothing but the page-out', async () => {
    expect((await releaseStartupMemory({ pageOutFileMappings: () => { throw new Error('boom'); } })).pagedOut).toBe(0);
    expect((await releaseStartupMemory({ pageOutFileMappings: () => Promise.reject(new Error('boom')) })).pagedOut).toBe(0);
  });
});
