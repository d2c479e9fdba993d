// The user's own DNS servers (issue 16, item 3): set in the helper, they replace the config's DNS
// for every server, the system resolver points at them, queries to them go through the tunnel
// (the DNS server sees the server's exit address ask, and nothing leaves outside the tunnel), and
// changing them while connected takes effect at once.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daemonLabUnavailable, useDaemonLab } from './daemon-lab.js';
import { packetSummary, serverEndpoints } from './outside-probes.js';

const why = daemonLabUnavailable();

describe.skipIf(why !== '')(`custom DNS${why ? ` — skipped: ${why}` : ''}`, () => {
  const t = useDaemonLab();

  /** Asks `server` for a fresh name from the client under a capture: whether it answered, who the DNS server saw ask, what left outside the tunnel. */
  async function ask(server: string): Promise<{ ok: boolean; askers: string[]; leaked: string }> {
    const { lab } = t;
    const name = `custom${Date.now()}.${lab.internet.dnsZone}`;
    const capture = await lab.startCapture();
    const r = await lab.dnsQuery(lab.client.ns, server, name, { timeoutMs: 2_000 });
    await capture.stop();
    const askers = (await lab.dnsLog()).filter((x) => x.qname === name && x.server === server).map((x) => x.source);
    return { ok: r.ok, askers, leaked: packetSummary(capture.leaks(serverEndpoints(lab))) };
  }

  it('used through the tunnel instead of the config\'s DNS, kill switch on, and changed while connected', async () => {
    const { lab, daemon } = t;
    const c = await daemon.client();
    const exit = lab.servers[0]!.exitAddress;
    await c.call('setSettings', { killSwitch: true, dnsServers: [lab.internet.dnsAddress] });
    await c.call('connect', { serverId: 'lab-0' });
    await daemon.waitFor((s) => s.state === 'connected', 15_000, 'connected');
    expect((await c.call('status')).dns).toEqual([lab.internet.dnsAddress]);
    expect(readFileSync(lab.client.resolvConfPath, 'utf8')).toMatch(new RegExp(`^nameserver ${lab.internet.dnsAddress.replaceAll('.', '\\.')}$`, 'm'));
    const first = await ask(lab.internet.dnsAddress);
    expect(first.ok).toBe(true);
    expect(first.askers, 'the DNS server saw the tunnel\'s exit ask').toEqual([exit]);
    expect(first.leaked).toBe('(none)');

    // Another server while connected: the connection is made again with it.
    await c.call('setSettings', { dnsServers: [lab.internet.ispResolver] });
    await daemon.waitFor((s) => s.state === 'connected' && s.dns[0] === lab.internet.ispResolver, 15_000, 'connected with the new DNS');
    const second = await ask(lab.internet.ispResolver);
    expect(second.ok).toBe(true);
    expect(second.askers).toEqual([exit]);
    expect(second.leaked).toBe('(none)');

    // Back to the config's DNS (this config has none).
    await c.call('setSettings', { dnsServers: null });
    await daemon.waitFor((s) => s.state === 'connected' && s.dns.length === 0, 15_000, 'connected with the config\'s DNS');
    await c.call('disconnect');
    await daemon.waitFor((s) => s.state === 'disconnected', 10_000, 'disconnected');
    await c.call('setSettings', { killSwitch: false });
  });
});
