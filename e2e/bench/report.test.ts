import { describe, expect, it } from 'vitest';
import type { ClientResult, IperfStats } from './measure.js';
import { formatTargets, targets } from './report.js';

const iperf = (mbps: number, clientCpu: number, serverCpu: number): IperfStats => ({
  mbps, retransmits: 0, seconds: 8, bytesTotal: 1e9, rssSamples: 1, clientPeakRssKb: undefined, serverPeakRssKb: undefined,
  clientCpu: { cpuSeconds: clientCpu, wallSeconds: 8, percentOfCore: 0 },
  serverCpu: { cpuSeconds: serverCpu, wallSeconds: 8, percentOfCore: 0 },
});

const client = (o: Partial<ClientResult>): ClientResult => ({
  kind: 'umbra', pid: 1, comm: 'node', firstPacketMs: 50, firstPacketTrialsMs: [50], readyMs: 50, readyLine: undefined,
  ping: undefined, up: undefined, down: undefined, idleRssKb: undefined, peakRssKb: undefined, hwmKb: undefined,
  idle: undefined, serverIdle: undefined, serverIdleRssKb: undefined, serverPeakRssKb: undefined,
  serverRestartMs: undefined, stop: undefined, errors: [], ...o,
});

describe('targets', () => {
  const w = client({ kind: 'wireguard-go', up: iperf(300, 3, 3), down: iperf(300, 3, 3) });

  it('holds Umbra↔Umbra to ten times wireguard-go at both ends, and its CPU per GB to a third', () => {
    const uu = client({ up: iperf(3100, 1, 0.9), down: iperf(2900, 1, 1.1) });
    const ts = targets({ u: undefined, w, uu, helper: undefined });
    const byName = (n: string) => ts.find((t) => t.name === n)!;
    expect(byName('Umbra↔Umbra TCP up').met).toBe(true);
    expect(byName('Umbra↔Umbra TCP down').met).toBe(false);
    expect(byName('Umbra↔Umbra CPU per GB up').met).toBe(true); // 1.9 ≤ 6/3
    expect(byName('Umbra↔Umbra CPU per GB down').met).toBe(false); // 2.1 > 2
  });

  it('says n/a, not met, when a figure is missing, and prints each target with its figure', () => {
    const ts = targets({ u: client({ idle: undefined }), w: undefined, uu: undefined, helper: { connectMs: [12, 30, 15], killSwitch: false } });
    const byName = (n: string) => ts.find((t) => t.name === n)!;
    expect(byName('idle wakeups/s (umbrad up)').met).toBeUndefined();
    expect(byName('first packet after connect')).toMatchObject({ umbra: 15, met: true });
    expect(formatTargets(ts).join('\n')).toMatch(/first packet after connect\s+\|\s+15\.00 \|\s+20\.00 \| yes/);
  });
});
