// Split tunnelling (issue 16, item 1), end to end: `umbra exclude -- PROGRAM` run in the client's
// namespace as a user would (excluded-program.ts). Every probe is a new child of the one excluded
// process (children stay excluded), asked again after the helper restarts. Each step compares it
// with an ordinary probe: the echo service says who asked (the client's own address outside the tunnel,
// the server's exit inside it), the lab's DNS log which resolver answered.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { daemonLabUnavailable, useDaemonLab } from './daemon-lab.js';
import { servicePath } from './lab/probes.js';
import { cgroup2MountPoint, ExcludedProgram } from './excluded-program.js';
import { PROJECT_ROOT } from './umbrad-process.js';

const why = daemonLabUnavailable() || (cgroup2MountPoint() ? '' : 'no cgroup v2 on this machine');

describe.skipIf(why !== '')(`split tunnelling${why ? ` — skipped: ${why}` : ''}`, () => {
  const t = useDaemonLab({ servers: 1 });
  const programs: ExcludedProgram[] = [];
  afterAll(async () => {
    for (const p of programs) await p.stop();
  });

  /** The excluded app's probes: HTTP to the echo service (its body: who asked), DNS to a server. */
  // Probes that should be answered wait long (a loaded machine is slow); ones that should not, 1.5 s.
  const http = async (p: ExcludedProgram) => (JSON.parse((await p.run([process.execPath, servicePath('http-probe.mjs'), t.lab.internet.echoUrl, '--timeout', '8000'])).stdout.trim().split('\n').pop() ?? '{}') as { body?: string }).body?.trim() ?? 'no answer';
  const dns = async (p: ExcludedProgram, server: string, name: string) => JSON.parse((await p.run([process.execPath, servicePath('dns-probe.mjs'), server, name, '--timeout', '8000'])).stdout.trim().split('\n').pop() ?? '{}') as { ok?: boolean };

  const ordinaryHttp = (timeoutMs = 1500) => t.lab.http(t.lab.client.ns, t.lab.internet.echoUrl, { timeoutMs }).then((r) => r.body?.trim(), () => 'no answer');

  it('an excluded program leaves directly in every state, and only it does', async () => {
    const { lab, daemon } = t;
    const c = await daemon.client();
    const own = lab.client.address;
    const exit = lab.servers[0]!.exitAddress;

    // The tunnel's DNS is the lab's resolver through the tunnel: resolv.conf names it while connected.
    const { server } = await c.call('importConfig', { text: lab.clientConfig(0, { dns: lab.internet.dnsAddress }), name: 'lab with DNS' });
    await c.call('connect', { serverId: server.id });
    await daemon.waitFor((s) => s.state === 'connected', 15_000, 'connected');
    const app = new ExcludedProgram(lab.client.ns, daemon.socket);
    programs.push(app);
    await app.started();
    const listed = await c.call('listExcluded');
    expect(listed.available).toBe(true);
    expect(listed.excluded.map((p) => p.pid).length, 'the excluded program, listed').toBeGreaterThan(0);

    // Connected: the excluded program is seen with the client's own address, everything else with the exit.
    expect(await http(app), 'excluded, connected').toBe(own);
    expect(await ordinaryHttp(8000), 'ordinary, connected').toBe(exit);

    // Its DNS, to the tunnel's resolver in resolv.conf, is answered by the system's resolver instead.
    const name = `split${Date.now()}.${lab.internet.dnsZone}`;
    const answer = await dns(app, 'resolv.conf', name);
    expect(answer.ok, `excluded DNS answered: ${JSON.stringify(answer)}`).toBe(true);
    const asked = (await lab.dnsLog()).filter((q) => q.qname === name);
    expect(asked.map((q) => [q.server, q.source]), 'who got the excluded query, from whom').toEqual([[lab.internet.ispResolver, own]]);

    // Kill switch on, the server gone: reconnecting under the block. Only the excluded program gets out.
    await c.call('setSettings', { killSwitch: true });
    await lab.servers[0]!.stop();
    const bait = setInterval(() => void lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 300 }).catch(() => undefined), 500);
    try {
      await daemon.waitFor((s) => s.state === 'reconnecting' || s.state === 'error', 30_000, 'the helper to notice the server is gone');
    } finally {
      clearInterval(bait);
    }
    expect(await http(app), 'excluded, reconnecting under the kill switch').toBe(own);
    expect(await ordinaryHttp(), 'ordinary, reconnecting under the kill switch').toBe('no answer');

    // The helper restarts (blocked, resuming): the same process is still excluded.
    await daemon.stop('SIGTERM');
    expect(await http(app), 'excluded, helper stopped (its block stays)').toBe(own);
    expect(await ordinaryHttp(), 'ordinary, helper stopped').toBe('no answer');
    await daemon.start();
    await daemon.waitFor((s) => s.blocked, 10_000, 'blocked after the restart');
    expect(await http(app), 'excluded, after the helper restarted').toBe(own);
    expect(await ordinaryHttp(), 'ordinary, after the helper restarted').toBe('no answer');

    // Back to connected; the program moved back into the tunnel is seen with the exit.
    await lab.servers[0]!.start();
    await daemon.waitFor((s) => s.state === 'connected', 45_000, 'connected again');
    const c2 = await daemon.client();
    for (const p of (await c2.call('listExcluded')).excluded) await c2.call('includeProcess', { pid: p.pid });
    expect(await http(app), 'moved back into the tunnel').toBe(exit);

    // The app ends, then the helper: the cgroup it made goes with it (the undo of making it).
    await app.stop();
    await daemon.stop('SIGTERM');
    expect(existsSync(join(cgroup2MountPoint()!, daemon.cgroup)), `the cgroup is removed; the helper said:\n${daemon.stderr.slice(-2000)}`).toBe(false);
  });

  it('says so when the program cannot be found, and starts nothing', async () => {
    const { daemon } = t;
    const r = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'umbra.js'), '--socket', daemon.socket, 'exclude', '--', 'no-such-program-umbra'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    r.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => r.once('exit', res));
    expect(code).toBe(1);
    expect(err).toMatch(/no-such-program-umbra: not found on PATH/);
  });
});
