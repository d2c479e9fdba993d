import { EventEmitter, once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { startRulesetMonitor, type MonitorChild } from './ruleset-monitor.js';

class FakeChild extends EventEmitter implements MonitorChild {
  readonly stdout = new PassThrough();
  killed: NodeJS.Signals | undefined;
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.killed = signal;
    queueMicrotask(() => this.emit('exit', null, signal));
    return true;
  }
}

function harness() {
  const children: FakeChild[] = [];
  const argvs: string[][] = [];
  const logs: string[] = [];
  const mon = startRulesetMonitor({
    spawn: (argv) => {
      argvs.push(argv);
      const c = new FakeChild();
      children.push(c);
      return c;
    },
    log: (l) => logs.push(l),
    restartMs: 5,
    maxRestartMs: 20,
    listenGraceMs: 5,
  });
  const seen = { changes: 0, alive: [] as boolean[] };
  mon.subscribe({ change: () => seen.changes++, alive: (a) => seen.alive.push(a) });
  return { mon, children, argvs, logs, seen };
}

describe('startRulesetMonitor', () => {
  it('runs nft monitor and reports each line it prints as a change, whole lines only', async () => {
    const { mon, children, argvs, seen } = harness();
    expect(argvs).toEqual([['nft', 'monitor']]);
    expect(mon.alive).toBe(false);
    children[0]!.emit('spawn');
    expect(mon.alive, 'not before it can have joined the netlink group').toBe(false);
    await vi.waitFor(() => expect(mon.alive).toBe(true), { timeout: 2000, interval: 1 });
    expect(seen.alive).toEqual([true]);
    children[0]!.stdout.write('delete table inet umbra\n# new generation 4 by process 1 (nft)\n');
    children[0]!.stdout.write('add table inet fo');
    await new Promise((r) => setImmediate(r));
    expect(seen.changes).toBe(1); // one chunk of two lines; the partial line waits
    children[0]!.stdout.write('o\n');
    await new Promise((r) => setImmediate(r));
    expect(seen.changes).toBe(2);
    mon.stop();
  });

  it('says when it ends and starts nft monitor again after a delay', async () => {
    const { mon, children, logs, seen } = harness();
    children[0]!.emit('spawn');
    await vi.waitFor(() => expect(mon.alive).toBe(true), { timeout: 2000, interval: 1 });
    children[0]!.emit('exit', 1, null);
    expect(mon.alive).toBe(false);
    expect(seen.alive).toEqual([true, false]);
    expect(logs.join('\n')).toMatch(/nft monitor ended \(exit 1\); checking every second/);
    await vi.waitFor(() => expect(children).toHaveLength(2), { timeout: 2000, interval: 2 });
    children[1]!.emit('spawn');
    await vi.waitFor(() => expect(mon.alive).toBe(true), { timeout: 2000, interval: 1 });
    mon.stop();
  });

  it('stop() ends the child it started and starts no other', async () => {
    const { mon, children } = harness();
    children[0]!.emit('spawn');
    mon.stop();
    expect(children[0]!.killed).toBe('SIGTERM');
    await once(children[0]!, 'exit');
    await new Promise((r) => setTimeout(r, 40));
    expect(children).toHaveLength(1);
    expect(mon.alive).toBe(false);
  });

  it('one that exits before it could listen never counts as alive', async () => {
    const { mon, children, seen } = harness();
    children[0]!.emit('spawn');
    children[0]!.emit('exit', 1, null);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.alive).toEqual([]);
    mon.stop();
  });

  it('a spawn that throws (no nft) leaves it not alive, and it tries again later', async () => {
    let n = 0;
    const mon = startRulesetMonitor({
      spawn: () => {
        n++;
        throw new Error('spawn nft ENOENT');
      },
      restartMs: 5,
      maxRestartMs: 5,
    });
    expect(mon.alive).toBe(false);
    await vi.waitFor(() => expect(n).toBeGreaterThanOrEqual(2), { timeout: 2000, interval: 2 });
    mon.stop();
  });
});
