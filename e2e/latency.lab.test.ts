// Server latency (issue 14 item 7) from the real helper in the lab: measureLatency and
// `umbra servers`. Disconnected, the pings go straight to the endpoints; connected, through the
// tunnel (a capture on the lab's router shows nothing but tunnel traffic left the client) with the
// server in use skipped; under lockdown none is sent at all, and the capture shows that too.
// The lab has no delay option, so the figures are only checked to be finite, not compared.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LatencyReport, TunnelStatus } from '../helper/ipc/schema.js';
import { BLOCKED_REASON, IN_USE_REASON } from '../helper/latency/measure.js';
import { captureAvailable, type CapturedPacket, type Lab } from './lab/lab.js';
import { daemonLabUnavailable, useDaemonLab } from './daemon-lab.js';
import { packetSummary, serverEndpoints } from './outside-probes.js';
import { PROJECT_ROOT } from './umbrad-process.js';

const capture = captureAvailable();
const why = daemonLabUnavailable() || (capture.ok ? '' : capture.reason);

describe.skipIf(why !== '')(`server latency${why ? ` — skipped: ${why}` : ''}`, () => {
  const t = useDaemonLab({ servers: 2 });

  const umbra = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'umbra.js'), '--socket', t.daemon.socket, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
  };

  /** measureLatency under a capture on the router: the report, and what left outside the tunnel. */
  async function measureUnderCapture(lab: Lab): Promise<{ report: LatencyReport; leaked: CapturedPacket[] }> {
    const c = await lab.startCapture();
    try {
      const report = await (await t.daemon.client()).call('measureLatency', {});
      await c.stop();
      return { report, leaked: c.leaks(serverEndpoints(lab)) };
    } catch (e) {
      await c.stop().catch(() => undefined);
      throw e;
    }
  }

  const finite = (r: LatencyReport, id: string) => {
    const x = r.results.find((y) => y.id === id);
    expect(x, `${id}: ${JSON.stringify(r)}`).toBeDefined();
    expect(x!.reason, `${id}: ${x!.reason}`).toBeUndefined();
    expect(Number.isFinite(x!.rttMs) && x!.rttMs! >= 0, `${id}: rttMs ${x!.rttMs}`).toBe(true);
  };

  it('disconnected, nothing blocking: a figure for every server, straight from this machine', async () => {
    const report = await (await t.daemon.client()).call('measureLatency', {});
    expect(report.via).toBeUndefined();
    expect(report.results.map((r) => r.id)).toEqual(['lab-0', 'lab-1']);
    finite(report, 'lab-0');
    finite(report, 'lab-1');
    const only = await (await t.daemon.client()).call('measureLatency', { serverIds: ['lab-1'] });
    expect(only.results.map((r) => r.id)).toEqual(['lab-1']);

    const table = umbra('servers');
    expect(table.code, table.err).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+CITY\s+COUNTRY\s+EXIT IP\s+ENDPOINT\s+LATENCY$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^lab-0\s.*\sms$/), expect.stringMatching(/^lab-1\s.*\sms$/)]);
    const json = JSON.parse(umbra('servers', '--json').out) as { servers: { id: string; latency: { rttMs: number | null } }[] };
    expect(json.servers.map((s) => typeof s.latency.rttMs)).toEqual(['number', 'number']);
    expect(umbra('servers', '--no-latency').out.split('\n')[0]).toMatch(/ENDPOINT$/);
  });

  it('connected: through the tunnel (nothing else leaves the client), the server in use skipped', async () => {
    const { lab, daemon } = t;
    const c = await daemon.client();
    await c.call('connect', { serverId: 'lab-0' });
    await daemon.waitFor((s: TunnelStatus) => s.state === 'connected', 15_000, 'connected');
    const { report, leaked } = await measureUnderCapture(lab);
    expect(report.via).toBe('lab-0');
    expect(report.results.find((r) => r.id === 'lab-0')).toEqual({ id: 'lab-0', rttMs: null, reason: IN_USE_REASON });
    finite(report, 'lab-1');
    expect(leaked, `left outside the tunnel:\n${packetSummary(leaked)}`).toEqual([]);
    const lines = umbra('servers').out.split('\n');
    expect(lines).toContain(`— lab-0: ${IN_USE_REASON}`);
    expect(lines.at(-1)).toMatch(/^Latency via the exit of lab 0 \(lab-0\): measured through the tunnel/);

    // The kill switch on while connected: the pings still go, through the tunnel.
    await c.call('setSettings', { killSwitch: true });
    await daemon.waitFor((s) => s.state === 'connected' && s.blocked, 10_000, 'connected under the kill switch');
    const blocked = await measureUnderCapture(lab);
    finite(blocked.report, 'lab-1');
    expect(blocked.leaked, `left outside the tunnel:\n${packetSummary(blocked.leaked)}`).toEqual([]);
    await c.call('setSettings', { killSwitch: false });
    await c.call('disconnect');
    await daemon.waitFor((s) => s.state === 'disconnected' && !s.blocked, 10_000, 'disconnected');
  });

  it('disconnected under lockdown: no ping is sent, every server "blocked by the kill switch"', async () => {
    const { lab, daemon } = t;
    const c = await daemon.client();
    await c.call('setSettings', { lockdown: true });
    await daemon.waitFor((s) => s.state === 'disconnected' && s.blocked && s.hold === 'lockdown', 5_000, 'blocked by lockdown');
    try {
      const { report, leaked } = await measureUnderCapture(lab);
      expect(report.results).toEqual([
        { id: 'lab-0', rttMs: null, reason: BLOCKED_REASON },
        { id: 'lab-1', rttMs: null, reason: BLOCKED_REASON },
      ]);
      expect(leaked, `left the client:\n${packetSummary(leaked)}`).toEqual([]);
      expect(umbra('servers').out.split('\n').at(-1)).toBe(`— ${BLOCKED_REASON}`);
    } finally {
      await c.call('setSettings', { lockdown: false });
    }
  });
});
