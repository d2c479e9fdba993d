// Lab test of the TUN offloads against the kernel's own TCP: testdata/tun-tcp-child.ts runs in a
// namespace of its own (uoff-<pid>, never connected to the host) and plays the far end of TCP
// connections over a TUN from openTun (helper/platform/tun), IPv4 and IPv6. Segments joined on the way in must
// reach a local server as exactly the stream sent; TSO super-packets on the way out must come
// out as segments that all verify and carry exactly the stream. Needs root and /dev/net/tun.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labSkipReason } from '../platform/tun/testdata/lab-child.js';

const ns = `uoff-${process.pid}`;
const reason = labSkipReason();
const child = fileURLToPath(new URL('./testdata/tun-tcp-child.ts', import.meta.url));
const register = fileURLToPath(new URL('../platform/tun/testdata/ts-register.mjs', import.meta.url));

function runChild(offload: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', register, child], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, UMBRA_TUN_OFFLOAD: offload ? '1' : '0' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(reason !== undefined)(`TUN offloads against the kernel's TCP, in namespace ${ns}${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['netns', 'add', ns]);
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it.each([
    ['with offloads: joined segments reach a local server intact; TSO super-packets come out as verified segments', true],
    ['without offloads (the fallback): the same streams, packet by packet', false],
  ])('%s', async (_name, offload) => {
    const r = await runChild(offload);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, { ok: boolean; bytes: number; largestSegment?: number }> & { badChecksums: number; segmentsChecked: number; sliceCopies: boolean };
    for (const v of [4, 6]) {
      expect(res[`receives${v}`]).toEqual({ ok: true, bytes: 60_000 });
      expect(res[`sends${v}`]).toMatchObject({ ok: true, bytes: 300_000 });
      // Segments no larger than the MSS the far end announced (1360).
      expect(res[`sends${v}`]!.largestSegment).toBeLessThanOrEqual(1360);
    }
    expect(res.badChecksums).toBe(0);
    expect(res.sliceCopies).toBe(true);
    expect(res.segmentsChecked).toBeGreaterThan(400);
  });
});
