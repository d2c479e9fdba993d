import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { FAKE_SERVERS } from '../ipc/testing/fake-helper.js';
import { tunnelStatus } from '../ipc/testing/status.js';
import { ErrorCode, type TunnelStatus } from '../ipc/schema.js';
import { latencyHandler } from './latency-handler.js';

const caller = { pid: 1, uid: 0, gid: 0 };
const OK = '3 packets transmitted, 3 received, 0% packet loss, time 402ms\nrtt min/avg/max/mdev = 1.0/2.5/4.0/1.0 ms\n';

function setup(status: TunnelStatus = tunnelStatus()) {
  const run = new FakeRunner().respond(/^ping /, OK);
  const h = latencyHandler({ servers: () => [...FAKE_SERVERS], status: () => status, run, resolve: async (ep) => ({ host: ep.host, family: 4 }), now: () => 7 });
  return { run, h };
}

describe('measureLatency handler', () => {
  it('measures every server when none is named, in the store\'s order', async () => {
    const { h, run } = setup();
    const r = await h.measureLatency({}, caller);
    expect(r).toEqual({ measuredAt: 7, results: FAKE_SERVERS.map((s) => ({ id: s.id, rttMs: 2.5 })) });
    expect(run.calls).toHaveLength(FAKE_SERVERS.length);
  });

  it('measures only the servers named, each once', async () => {
    const { h, run } = setup();
    const r = await h.measureLatency({ serverIds: ['de-fra', 'de-fra'] }, caller);
    expect(r.results).toEqual([{ id: 'de-fra', rttMs: 2.5 }]);
    expect(run.lines).toEqual(['ping -4 -n -q -c 3 -i 0.2 -W 1 198.51.100.20']);
  });

  it('refuses an unknown id before sending anything', async () => {
    const { h, run } = setup();
    await expect(h.measureLatency({ serverIds: ['se-sto', 'nope'] }, caller)).rejects.toMatchObject({ code: ErrorCode.NotFound, message: expect.stringContaining('"nope"') });
    expect(run.calls).toEqual([]);
  });

  it('reads the status at each call: blocked by the kill switch, nothing is run', async () => {
    const { h, run } = setup(tunnelStatus({ blocked: true, hold: 'boot' }));
    const r = await h.measureLatency({}, caller);
    expect(r.results.map((x) => x.reason)).toEqual(FAKE_SERVERS.map(() => 'blocked by the kill switch'));
    expect(run.calls).toEqual([]);
  });

  it('one measurement at a time: the same question shares it, another is told to wait', async () => {
    const { h, run } = setup();
    const a = h.measureLatency({}, caller);
    const b = h.measureLatency({}, caller);
    await expect(h.measureLatency({ serverIds: ['de-fra'] }, caller)).rejects.toMatchObject({ code: ErrorCode.Busy });
    expect(await a).toBe(await b);
    expect(run.calls).toHaveLength(FAKE_SERVERS.length);
    // Once done, the next question runs.
    expect((await h.measureLatency({ serverIds: ['de-fra'] }, caller)).results).toEqual([{ id: 'de-fra', rttMs: 2.5 }]);
  });

  it('a failed lookup is a short reason, never a report the schema refuses', async () => {
    const run = new FakeRunner().respond(/^ping /, OK);
    const long = `${'x'.repeat(500)}`;
    const h = latencyHandler({ servers: () => [...FAKE_SERVERS], status: () => tunnelStatus(), run, resolve: async () => Promise.reject(new Error(long)), now: () => 7 });
    const r = await h.measureLatency({}, caller);
    for (const x of r.results) expect(x.reason!.length).toBeLessThanOrEqual(300);
    expect(run.calls).toEqual([]);
  });
});
