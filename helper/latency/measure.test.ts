import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommandError, type CommandRunner, type RunResult } from '../platform/exec.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { tunnelStatus } from '../ipc/testing/status.js';
import { FAKE_KEY } from '../ipc/testing/fake-helper.js';
import type { ServerInfo } from '../ipc/schema.js';
import { limiter } from './limiter.js';
import { BLOCKED_REASON, IN_USE_REASON, latencyPath, MAX_PINGS_AT_ONCE, measureLatency, type MeasureDeps } from './measure.js';

const server = (id: string, endpoint: string): ServerInfo => ({ id, name: id, endpoint, publicKey: FAKE_KEY, source: 'import' });
const SERVERS = [server('a', '198.51.100.10:51820'), server('b', '[2001:db8::20]:51820'), server('c', 'vpn.example.net:51820')];

const summary = (avg: number) => `--- x ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 402ms\nrtt min/avg/max/mdev = 1.000/${avg}/9.000/1.000 ms\n`;

function deps(run: CommandRunner, over: Partial<MeasureDeps> = {}): MeasureDeps & { resolved: string[] } {
  const resolved: string[] = [];
  return {
    run,
    resolved,
    resolve: async (ep) => {
      resolved.push(ep.host);
      if (ep.host === 'vpn.example.net') return { host: '198.51.100.30', family: 4 };
      return { host: ep.host, family: ep.host.includes(':') ? 6 : 4 };
    },
    limiter: limiter(MAX_PINGS_AT_ONCE),
    now: () => 1_000,
    ...over,
  };
}

/** A runner whose pings wait until released, and that counts how many run at once. */
class HeldRunner implements CommandRunner {
  readonly started: string[] = [];
  running = 0;
  most = 0;
  private readonly held: (() => void)[] = [];
  run(argv: string[]): Promise<RunResult> {
    this.started.push(argv.at(-1)!);
    this.most = Math.max(this.most, ++this.running);
    return new Promise((resolve) => this.held.push(() => {
      this.running--;
      resolve({ stdout: summary(5), stderr: '' });
    }));
  }
  /** Releases the pings started so far; true when there were any. */
  releaseAll(): boolean {
    const all = this.held.splice(0);
    all.forEach((r) => r());
    return all.length > 0;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('latencyPath: where ordinary traffic goes, so whether to ping', () => {
  it('sends nothing while a block holds outside a connected tunnel', () => {
    expect(latencyPath(tunnelStatus({ blocked: true, hold: 'lockdown' }))).toEqual({ send: false, reason: BLOCKED_REASON });
    expect(latencyPath(tunnelStatus({ blocked: true, hold: 'boot' }))).toEqual({ send: false, reason: BLOCKED_REASON });
    expect(latencyPath(tunnelStatus({ state: 'error', blocked: true }))).toEqual({ send: false, reason: BLOCKED_REASON });
    expect(latencyPath(tunnelStatus({ state: 'connecting', blocked: true }))).toEqual({ send: false, reason: BLOCKED_REASON });
  });

  it('sends nothing when a block is wanted but not (yet) in the kernel', () => {
    expect(latencyPath(tunnelStatus({ firewall: { wanted: 'block', kernel: 'none' } }))).toEqual({ send: false, reason: BLOCKED_REASON });
  });

  it('sends nothing in the middle of a change, saying when to ask again', () => {
    for (const state of ['connecting', 'reconnecting', 'disconnecting'] as const) {
      const p = latencyPath(tunnelStatus({ state }));
      expect(p).toEqual({ send: false, reason: expect.stringContaining(`while ${state}`) });
    }
  });

  it('sends straight out when nothing blocks and no tunnel is up, through the tunnel while connected', () => {
    expect(latencyPath(tunnelStatus())).toEqual({ send: true });
    expect(latencyPath(tunnelStatus({ state: 'error' }))).toEqual({ send: true });
    expect(latencyPath(tunnelStatus({ state: 'connected', server: SERVERS[0]!, blocked: true }))).toEqual({ send: true, via: SERVERS[0] });
  });
});

describe('measureLatency', () => {
  it('pings each endpoint address (IPv4, IPv6, a resolved name) with iputils ping and reads the average', async () => {
    const run = new FakeRunner().respond(/198\.51\.100\.10$/, summary(12.5)).respond(/2001:db8::20$/, summary(40)).respond(/198\.51\.100\.30$/, summary(7.25));
    const d = deps(run);
    const report = await measureLatency(SERVERS, tunnelStatus(), d);
    expect(report).toEqual({ measuredAt: 1_000, results: [{ id: 'a', rttMs: 12.5 }, { id: 'b', rttMs: 40 }, { id: 'c', rttMs: 7.25 }] });
    expect(run.lines).toEqual([
      'ping -4 -n -q -c 3 -i 0.2 -W 1 198.51.100.10',
      'ping -6 -n -q -c 3 -i 0.2 -W 1 2001:db8::20',
      'ping -4 -n -q -c 3 -i 0.2 -W 1 198.51.100.30',
    ]);
    expect(d.resolved).toEqual(['198.51.100.10', '2001:db8::20', 'vpn.example.net']);
  });

  it('blocked by the kill switch: looks nothing up, runs nothing, says why for every server', async () => {
    const run = new FakeRunner();
    const d = deps(run);
    const report = await measureLatency(SERVERS, tunnelStatus({ blocked: true, hold: 'lockdown' }), d);
    expect(report.results).toEqual(SERVERS.map((s) => ({ id: s.id, rttMs: null, reason: BLOCKED_REASON })));
    expect(report.via).toBeUndefined();
    expect(run.calls).toEqual([]);
    expect(d.resolved).toEqual([]);
  });

  it('while connected: through the tunnel (via), the server in use skipped', async () => {
    const run = new FakeRunner().respond(/^ping /, summary(30));
    const report = await measureLatency(SERVERS, tunnelStatus({ state: 'connected', server: SERVERS[1]! }), deps(run));
    expect(report.via).toBe('b');
    expect(report.results).toEqual([{ id: 'a', rttMs: 30 }, { id: 'b', rttMs: null, reason: IN_USE_REASON }, { id: 'c', rttMs: 30 }]);
    expect(run.lines.some((l) => l.includes('2001:db8::20'))).toBe(false);
  });

  it('says why a server has no figure: no reply, an error from ping, no ping, a name that does not resolve', async () => {
    const run = new FakeRunner()
      .failOn(/198\.51\.100\.10$/, { exitCode: 1, stderr: '' })
      .failOn(/2001:db8::20$/, { exitCode: 2, stderr: 'ping: connect: Network is unreachable\n' });
    const d = deps(run, { resolve: async (ep) => {
      if (ep.host === 'vpn.example.net') throw new Error('cannot resolve the endpoint host "vpn.example.net"');
      return { host: ep.host, family: ep.host.includes(':') ? 6 : 4 };
    } });
    const report = await measureLatency(SERVERS, tunnelStatus(), d);
    expect(report.results).toEqual([
      { id: 'a', rttMs: null, reason: expect.stringMatching(/^no reply/) },
      { id: 'b', rttMs: null, reason: 'ping failed: connect: Network is unreachable' },
      { id: 'c', rttMs: null, reason: expect.stringContaining('could not look up the endpoint: cannot resolve') },
    ]);
    const missing: CommandRunner = { run: (argv) => Promise.reject(new CommandError(argv, null, '', 'could not be started (spawn ping ENOENT)')) };
    const none = await measureLatency([SERVERS[0]!], tunnelStatus(), deps(missing));
    expect(none.results[0]!.reason).toMatch(/iputils-ping/);
  });

  it(`runs at most ${MAX_PINGS_AT_ONCE} pings at once, across calls too, and measures every server`, async () => {
    const many = Array.from({ length: 21 }, (_, i) => server(`s${i}`, `198.51.100.${i + 1}:51820`));
    const run = new HeldRunner();
    const shared = limiter(MAX_PINGS_AT_ONCE);
    const first = measureLatency(many.slice(0, 13), tunnelStatus(), deps(run, { limiter: shared }));
    const second = measureLatency(many.slice(13), tunnelStatus(), deps(run, { limiter: shared }));
    let done = false;
    void Promise.all([first, second]).then(() => (done = true));
    while (!done) {
      await new Promise((r) => setImmediate(r));
      expect(run.running).toBeLessThanOrEqual(MAX_PINGS_AT_ONCE);
      run.releaseAll();
    }
    expect(run.most).toBe(MAX_PINGS_AT_ONCE);
    expect(run.started).toHaveLength(21);
    const results = [...(await first).results, ...(await second).results];
    expect(results.every((r) => r.rttMs === 5)).toBe(true);
  });

  it('answers by the deadline: a ping still running gets no figure, one still queued is never started', async () => {
    vi.useFakeTimers();
    const run = new HeldRunner();
    const report = measureLatency(SERVERS.slice(0, 2), tunnelStatus(), deps(run, { limiter: limiter(1), deadlineMs: 3000 }));
    await vi.advanceTimersByTimeAsync(2999);
    expect(run.started).toEqual(['198.51.100.10']);
    await vi.advanceTimersByTimeAsync(1);
    expect((await report).results).toEqual([
      { id: 'a', rttMs: null, reason: 'no answer within 3 s' },
      { id: 'b', rttMs: null, reason: 'no answer within 3 s' },
    ]);
    // The first ping ends after the answer: the queued one sees the deadline passed and sends nothing.
    run.releaseAll();
    await vi.advanceTimersByTimeAsync(0);
    expect(run.started).toEqual(['198.51.100.10']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
