// The measured exit in the lab: a catalog names a WRONG exit address for a real server, and
// `umbra status` (human and --json) reports the address the lab's echo service saw through the
// tunnel, with the mismatch; it is measured once per connection, forgotten on disconnect, and
// "could not measure" — never the catalog's word — when no echo service answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupStaleLabs, createLab, labAvailable, type Lab } from './lab/lab.js';
import { DaemonRun } from './daemon-process.js';
import { PROJECT_ROOT } from './umbrad-process.js';
import type { IpcClient } from '../helper/ipc/client.js';
import type { TunnelStatus } from '../helper/ipc/schema.js';

const avail = labAvailable();
const built = existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'leakcheck', 'exit-meter.js'));
const why = !avail.ok ? avail.reason : !built ? 'not built (npx tsc -p tsconfig.build.json)' : '';

/** What the catalog claims: a documentation address no lab server exits from. */
const WRONG_EXIT = '203.0.113.77';

describe.skipIf(why !== '')(`the measured exit against the helper in the lab${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let daemon: DaemonRun;
  let c: IpcClient;

  const umbra = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'umbra.js'), '--socket', daemon.socket, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
  };
  const statusJson = () => JSON.parse(umbra('--json', 'status').out) as TunnelStatus;
  const fromExit = async () => (await lab.echoRequests()).filter((e) => e.ip === lab.servers[0]!.exitAddress);

  async function connect(serverId: string): Promise<TunnelStatus> {
    await c.call('connect', { serverId });
    return daemon.waitFor((s) => s.state === 'connected' && s.server?.id === serverId, 20_000, `connected to ${serverId}`);
  }

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
    daemon = new DaemonRun(lab); // the lab's echo services, seeded before the first start
    await daemon.start();
    c = await daemon.client();
    // The profile (its key and address), then a catalog naming the lab's server with a wrong exit.
    await c.call('importConfig', { text: lab.clientConfig(0, { dns: lab.internet.dnsAddress }), name: 'Lab profile' });
    const s = lab.servers[0]!;
    const catalog = { servers: [{ id: 'lab-wrong', name: 'Wrong exit', city: 'Labtown', country: 'Lab', endpoint: `${s.endpoint.host}:${s.endpoint.port}`, publicKey: s.publicKey, exitIp: WRONG_EXIT }] };
    await c.call('loadCatalog', { text: JSON.stringify(catalog) });
  });

  afterAll(async () => {
    await daemon?.stop('SIGKILL').catch(() => undefined);
    daemon?.cleanup();
    await lab?.destroy();
  });

  it('umbra status --json: the address the internet sees, measured through the tunnel, and the mismatch', async () => {
    const before = (await fromExit()).length;
    await connect('lab-wrong');
    const st = statusJson(); // waits while the helper measures
    const exit = lab.servers[0]!.exitAddress;
    expect(exit).not.toBe(WRONG_EXIT);
    expect(st.server?.exitIp).toBe(WRONG_EXIT);
    expect(st.measuredExit, daemon.stderr).toMatchObject({ state: 'measured', ipv4: exit, matchesCatalog: false });
    expect(st.measuredExit?.at).toBeGreaterThanOrEqual(st.connectedSince!);
    // It was measured through the tunnel: the echo service saw the request from the server's exit.
    expect((await fromExit()).length).toBeGreaterThan(before);
  });

  it('umbra status: names both addresses in the warning, never the catalog\'s as measured', () => {
    const lines = umbra('status').out.split('\n');
    const exit = lab.servers[0]!.exitAddress;
    expect(lines).toContain(`Exit address: ${exit} (measured through the tunnel)`);
    expect(lines).toContain(`Warning: the catalog says ${WRONG_EXIT}; the internet sees ${exit}`);
  });

  it('measured once per connection: asking for the status again asks the echo service nothing', async () => {
    const n = (await fromExit()).length;
    for (let i = 0; i < 3; i++) expect(statusJson().measuredExit?.state).toBe('measured');
    expect((await fromExit()).length).toBe(n);
  });

  it('disconnected: no measured exit at all; connected again (under the kill switch): measured anew', async () => {
    await c.call('disconnect');
    const down = await daemon.waitFor((s) => s.state === 'disconnected', 10_000, 'disconnected');
    expect(down.measuredExit).toBeUndefined();
    expect(umbra('status').out).not.toMatch(/Exit address/);
    const n = (await fromExit()).length;
    await c.call('setSettings', { killSwitch: true });
    const up = await connect('lab-wrong');
    expect(up.blocked).toBe(true);
    expect(up.measuredExit?.state).toMatch(/^(measuring|measured)$/);
    expect(statusJson().measuredExit).toMatchObject({ state: 'measured', ipv4: lab.servers[0]!.exitAddress, matchesCatalog: false });
    expect((await fromExit()).length).toBeGreaterThan(n);
  });

  it('no echo service answers: "could not measure", and the catalog\'s address only as the catalog\'s', async () => {
    // A closed port on the lab's service address: refused at once, through the tunnel.
    await c.call('setSettings', { echoUrls: [`http://${lab.internet.dnsAddress}:9/`], echoUrl6: null });
    await c.call('disconnect');
    await connect('lab-wrong');
    const st = statusJson();
    expect(st.measuredExit, JSON.stringify(st)).toMatchObject({ state: 'unmeasurable', matchesCatalog: null });
    expect(st.measuredExit?.ipv4).toBeUndefined();
    const lines = umbra('status').out.split('\n');
    const line = lines.find((l) => l.startsWith('Exit address:'));
    expect(line).toMatch(/^Exit address: could not measure: no IP-echo service answered through the tunnel \(.+\); the catalog says 203\.0\.113\.77, unconfirmed$/);
  });
});
