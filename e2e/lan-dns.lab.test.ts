// DNS for a local domain to a local resolver, only when the user says so (issue 16, item 3):
// connected with the kill switch on and lanDns { corp.lab.test via the router }, a name under the
// domain is answered by the LAN resolver, asked from the client's own address outside the tunnel
// (the capture sees exactly that query), while any other name goes only through the tunnel; a
// direct query to the LAN resolver (not the helper's) is still refused; with lanDns off, the corp
// name goes through the tunnel too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { daemonLabUnavailable, useDaemonLab } from './daemon-lab.js';
import { packetSummary, serverEndpoints } from './outside-probes.js';
import { servicePath } from './lab/probes.js';
import { captureOutput, sleep } from './lab/proc.js';
import { readJsonLines, type DnsRecord } from './lab/services.js';
import { CLIENT } from './lab/topology.js';

const why = daemonLabUnavailable();
const CORP = 'corp.lab.test';
const FORWARDER = '127.0.80.53';
/** What the LAN resolver answers for names under CORP (the main DNS answers the zone with its own). */
const CORP_HOST = '198.51.100.80';

describe.skipIf(why !== '')(`LAN DNS${why ? ` — skipped: ${why}` : ''}`, () => {
  const t = useDaemonLab();
  const scratch = mkdtempSync(join(tmpdir(), 'umbra-landns-'));
  const lanLogFile = join(scratch, 'lan-dns.log');
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A DNS responder on the router's LAN address (the LAN resolver), for this file only. */
  async function startLanResolver(): Promise<void> {
    const { lab } = t;
    const child = lab.spawn(lab.internet.ns, [
      process.execPath, servicePath('dns-server.mjs'), '--log', lanLogFile, '--port', '53', '--listen', CLIENT.gw4, '--zone', CORP, '--a', CORP_HOST,
    ]);
    const out = captureOutput(child);
    for (let i = 0; !out().split('\n').includes('ready'); i++) {
      if (i > 200 || child.exitCode !== null) throw new Error(`the LAN resolver did not start: ${out()}`);
      await sleep(25);
    }
  }

  /** Asks `server` for `name` from the client under a capture: the answer, who each DNS server saw ask, what left outside the tunnel. */
  async function ask(server: string, name: string) {
    const { lab } = t;
    const capture = await lab.startCapture();
    const r = await lab.dnsQuery(lab.client.ns, server, name, { timeoutMs: 2_000 });
    await capture.stop();
    const lan = readJsonLines<DnsRecord>(lanLogFile).filter((x) => x.qname === name);
    const tunnel = (await lab.dnsLog()).filter((x) => x.qname === name);
    const outside = capture.leaks(serverEndpoints(lab));
    return { r, lan, tunnel, outside };
  }

  const fresh = (label: string, zone: string) => `${label}${Date.now()}.${zone}`;

  it('a corp name goes to the LAN resolver only while the user says so; everything else through the tunnel', async () => {
    const { lab, daemon } = t;
    await startLanResolver();
    const c = await daemon.client();
    const exit = lab.servers[0]!.exitAddress;
    const tunnelDns = lab.internet.dnsAddress;
    await c.call('setSettings', { killSwitch: true, dnsServers: [tunnelDns], lanDns: { domains: [CORP], servers: [CLIENT.gw4] } });
    await c.call('connect', { serverId: 'lab-0' });
    await daemon.waitFor((s) => s.state === 'connected', 15_000, 'connected');
    expect(readFileSync(lab.client.resolvConfPath, 'utf8')).toMatch(/^nameserver 127\.0\.80\.53$/m);

    // Under the domain: the LAN resolver answers, asked from the client's own address, outside the tunnel.
    const corp = await ask(FORWARDER, fresh('intranet', CORP));
    expect(corp.r.ok).toBe(true);
    expect(corp.r.answers).toEqual([CORP_HOST]);
    expect(corp.lan.map((x) => [x.server, x.source])).toEqual([[CLIENT.gw4, CLIENT.v4]]);
    expect(corp.tunnel).toEqual([]);
    expect(corp.outside.length, packetSummary(corp.outside)).toBeGreaterThan(0);
    expect(corp.outside.every((p) => p.protocol === 'udp' && p.dst === CLIENT.gw4 && p.dstPort === 53 && p.src === CLIENT.v4), packetSummary(corp.outside)).toBe(true);

    // Any other name: through the tunnel only (the tunnel's DNS sees the exit ask; nothing outside).
    const other = await ask(FORWARDER, fresh('www', lab.internet.dnsZone));
    expect(other.r.ok).toBe(true);
    expect(other.tunnel.map((x) => [x.server, x.source])).toEqual([[tunnelDns, exit]]);
    expect(other.lan).toEqual([]);
    expect(packetSummary(other.outside)).toBe('(none)');

    // The exception is the helper's forwarder, not the address: a program asking the LAN resolver itself is refused.
    const direct = await ask(CLIENT.gw4, fresh('direct', CORP));
    expect(direct.r.ok).toBe(false);
    expect(direct.lan).toEqual([]);

    // Off: the connection is made again, and the corp name goes through the tunnel like any other.
    await c.call('setSettings', { lanDns: null });
    await daemon.waitFor((s) => s.state === 'connected' && readFileSync(lab.client.resolvConfPath, 'utf8').includes(`nameserver ${tunnelDns}\n`), 15_000, 'connected without LAN DNS');
    const off = await ask(tunnelDns, fresh('intranet', CORP));
    expect(off.r.ok).toBe(true);
    expect(off.tunnel.map((x) => [x.server, x.source])).toEqual([[tunnelDns, exit]]);
    expect(off.lan).toEqual([]);
    expect(packetSummary(off.outside)).toBe('(none)');
    // And the forwarder is gone with the setting.
    expect((await lab.dnsQuery(lab.client.ns, FORWARDER, fresh('gone', CORP), { timeoutMs: 500 })).ok).toBe(false);

    await c.call('disconnect');
    await daemon.waitFor((s) => s.state === 'disconnected', 10_000, 'disconnected');
    await c.call('setSettings', { killSwitch: false });
  });
});
