import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { measureIdle, threadSwitches } from './procfs.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sh(script: string): number {
  const c = spawn('sh', ['-c', script], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

describe.skipIf(process.platform !== 'linux')('measureIdle', () => {
  it('counts the processes spawned below the process, by name, and not the ones it had', async () => {
    // A long-lived child first, then a grandchild-spawning loop (sh runs `sleep` each turn).
    const pid = sh('sleep 30 & while :; do sleep 0.2; done');
    await new Promise((r) => setTimeout(r, 300));
    const r = await measureIdle(pid, 1200);
    expect(r.spawned).toBeGreaterThanOrEqual(1);
    expect(r.spawnedNames.join(' ')).toMatch(/sleep/);
    expect(r.longLivedChildren.join(' ')).toMatch(/sleep/);
    expect(r.wakeupsPerSecond).toBeGreaterThan(0);
  });

  it('counts nothing for a process that only sleeps', async () => {
    const pid = sh('exec sleep 30');
    await new Promise((r) => setTimeout(r, 200)); // past the exec
    const r = await measureIdle(pid, 500);
    expect(r.spawned).toBe(0);
    expect(r.wakeupsPerSecond).toBe(0);
    expect(r.threads).toBe(1);
  });

  it('reads every thread of a process', () => {
    const m = threadSwitches(process.pid);
    expect(m.has(process.pid)).toBe(true);
    expect(m.size).toBeGreaterThan(1); // node has its platform and libuv threads
  });
});
