// One lab test for each numbered finding of issue 10 ("never leak, in any state"), each as a user
// or an attacker on the same network would meet it. Every case counts, with a capture on the lab's
// router, what leaves the client outside the tunnel; what the helper's status says comes after the
// traffic, so a failure names the leak first. One lab and one helper serve every case in turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupStaleLabs, createLab, labAvailable, type AllowedEndpoint, type Capture, type CapturedPacket, type Lab } from './lab/lab.js';
import { DaemonRun } from './daemon-process.js';
import { PROJECT_ROOT } from './umbrad-process.js';
import type { TunnelStatus } from '../helper/ipc/schema.js';
import { packetSummary, probeOutside, serverEndpoints } from './outside-probes.js';

const avail = labAvailable();
const built = existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'main.js'));
const why = !avail.ok ? avail.reason : !built ? 'not built (npm run build)' : '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one UDP datagram from a bound port (node inside the namespace): `from` is [address, port]. */
const UDP_SEND = `
const [bindAddr, bindPort, host, port] = process.argv.slice(1);
const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });
s.bind({ address: bindAddr, port: Number(bindPort) }, () => s.send('umbra-probe', Number(port), host, (e) => { console.log(e ? 'error ' + e.code : 'sent'); s.close(); }));
`;
/** Listens on a UDP port and prints what arrives, for `ms` milliseconds. */
const UDP_LISTEN = `
const [port, ms] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => console.log('got ' + r.address + ':' + r.port));
s.bind(Number(port), () => console.log('listening'));
setTimeout(() => process.exit(0), Number(ms));
`;

describe.skipIf(why !== '')(`never leak, case by case (issue 10)${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let daemon: DaemonRun;
  let capture: Capture | undefined;
  const routerNs = () => `${lab.prefix}-i`;
  const endpoints = (): AllowedEndpoint[] => serverEndpoints(lab);
  const call = async <T,>(method: string, params?: unknown): Promise<T> => (await daemon.client()).call(method as never, params as never) as Promise<T>;
  const status = () => call<TunnelStatus>('status');
  const summary = packetSummary;

  const probe = () => probeOutside(lab);

  async function startCapture(): Promise<void> {
    capture = await lab.startCapture();
  }

  /** What left outside the tunnel since startCapture(), besides `allowed` and the endpoints. */
  async function leaks(allowed: AllowedEndpoint[] = []): Promise<CapturedPacket[]> {
    const c = capture!;
    capture = undefined;
    await c.stop();
    return c.leaks([...endpoints(), ...allowed]);
  }

  /** The helper's own lookups to the ISP resolver pass; this says which names were asked there since `from`. */
  async function namesAskedOfIsp(from: number): Promise<string[]> {
    const log = (await lab.dnsLog()).slice(from);
    return [...new Set(log.filter((r) => r.server === lab.internet.ispResolver && r.source === lab.client.address).map((r) => r.qname ?? '?'))];
  }
  const ispLookup: AllowedEndpoint = { address: '', port: 53, protocol: 'udp' };

  /** The probes, under a capture: none answered, nothing left outside the tunnel. */
  async function expectNothingOut(): Promise<void> {
    await startCapture();
    const answered = await probe();
    const out = await leaks();
    expect(answered, 'probes that got an answer').toEqual([]);
    expect(out, `left outside the tunnel:\n${summary(out)}`).toEqual([]);
  }

  async function settle(what: (s: TunnelStatus) => boolean, ms: number, label: string): Promise<TunnelStatus> {
    return daemon.waitFor(what, ms, label);
  }

  const hostConfig = (i: number, host: string) => lab.clientConfig(i).replace(/^Endpoint = .*$/m, `Endpoint = ${host}:${lab.servers[i]!.endpoint.port}`);

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 2 });
    ispLookup.address = lab.internet.ispResolver;
    daemon = new DaemonRun(lab);
    await daemon.start();
    for (const i of [0, 1]) await call('importConfig', { text: lab.clientConfig(i), name: `lab ${i}` });
    await call('importConfig', { text: hostConfig(0, lab.servers[0]!.endpointName), name: 'host 0' });
    await call('importConfig', { text: hostConfig(1, 'nowhere.invalid'), name: 'nowhere' });
  });

  afterAll(async () => {
    await capture?.stop().catch(() => undefined);
    await daemon?.stop('SIGKILL').catch(() => undefined);
    daemon?.cleanup();
    await lab?.destroy();
  });

  async function reset(settings: Record<string, boolean>): Promise<void> {
    await call('disconnect');
    await call('setSettings', { killSwitch: false, allowLan: false, killSwitchOnBoot: false, ...settings });
  }

  it('1, 7a. an endpoint name that cannot be resolved: blocked before the lookup, an error that says so, nothing out', async () => {
    await reset({ killSwitch: true });
    await startCapture();
    const dnsFrom = (await lab.dnsLog()).length;
    const connecting = await call<TunnelStatus>('connect', { serverId: 'nowhere' });
    const st = await settle((s) => s.state === 'error', 15_000, 'error');
    const answered = await probe();
    // 7a: DHCP's ports to a unicast address are not DHCP; under the block they must not leave.
    const dhcp = await lab.exec(lab.client.ns, [process.execPath, '-e', UDP_SEND, '0.0.0.0', '68', lab.internet.serviceAddress, '67']);
    await sleep(300);
    const out = await leaks([ispLookup]);
    expect(answered, 'probes that got an answer under the block').toEqual([]);
    expect(out, `left outside the tunnel:\n${summary(out)}`).toEqual([]);
    expect(dhcp.stdout).not.toBe('');
    // Only the helper's own lookup of the endpoint reached the resolver outside the tunnel.
    expect(await namesAskedOfIsp(dnsFrom)).toEqual(['nowhere.invalid']);
    expect(connecting.blocked, 'blocked as soon as connect returned').toBe(true);
    expect(st).toMatchObject({ blocked: true, error: { code: 'ENDPOINT_UNRESOLVABLE' } });
    expect(st.error!.message).toMatch(/nowhere\.invalid/);
  });

  it('2. allow LAN with a wide or public lease: the handed-out subnet is not LAN, and connecting still works', async () => {
    await reset({ killSwitch: true, allowLan: true });
    // What a hostile network's DHCP could hand out: a public /25 around the echo host, and a /7.
    const leases = ['203.0.113.200/25', '198.51.100.77/7'];
    for (const l of leases) expect((await lab.exec(lab.client.ns, ['ip', 'address', 'add', l, 'dev', 'eth0'])).code).toBe(0);
    try {
      await call('connect', { serverId: 'lab-0' });
      await startCapture();
      await probe();
      const out = await leaks();
      expect(out, `left outside the tunnel:\n${summary(out)}`).toEqual([]);
      await settle((s) => s.state === 'connected', 15_000, 'connected with the wide lease');
    } finally {
      for (const l of leases) await lab.exec(lab.client.ns, ['ip', 'address', 'del', l, 'dev', 'eth0']);
    }
  });

  for (const killSwitch of [false, true]) {
    it(`3. CVE-2019-14899, kill switch ${killSwitch ? 'on' : 'off'}: the LAN gets no answer and no ARP for the tunnel's address`, async () => {
      await reset({ killSwitch });
      await call('connect', { serverId: 'lab-0' });
      await settle((s) => s.state === 'connected', 15_000, 'connected');
      const inner = lab.servers[0]!.clientTunnelAddress;
      // The attacker is the router (the LAN's other host): it sends to the inner address over the link.
      await lab.exec(routerNs(), ['ip', 'route', 'replace', `${inner}/32`, 'dev', 'to-c']);
      await lab.exec(routerNs(), ['ip', 'neigh', 'flush', 'to', inner, 'dev', 'to-c']);
      try {
        const answered = await lab.ping(routerNs(), inner, { count: 2, timeoutSec: 1 });
        const neigh = (await lab.exec(routerNs(), ['ip', 'neigh', 'show', 'to', inner, 'dev', 'to-c'])).stdout.trim();
        expect(answered, 'the client answered a ping to its tunnel address from the LAN').toBe(false);
        expect(neigh, 'the client answered ARP for its tunnel address').not.toMatch(/lladdr/);
      } finally {
        await lab.exec(routerNs(), ['ip', 'route', 'del', `${inner}/32`, 'dev', 'to-c']);
      }
    });
  }

  it('4. kill switch off, an IPv4-only tunnel: IPv6 does not leave beside it', async () => {
    await reset({});
    await call('connect', { serverId: 'lab-0' });
    await settle((s) => s.state === 'connected', 15_000, 'connected');
    await startCapture();
    const v6 = await Promise.all([
      lab.http(lab.client.ns, lab.internet.echoUrl6, { timeoutMs: 800 }).then(() => true, () => false),
      lab.dnsQuery(lab.client.ns, lab.internet.dnsAddress6, `v6.${lab.internet.dnsZone}`, { timeoutMs: 500 }).then((r) => r.ok),
    ]);
    const out = (await leaks()).filter((p) => p.family === 'ipv6');
    expect(out, `IPv6 outside the tunnel:\n${summary(out)}`).toEqual([]);
    expect(v6).toEqual([false, false]);
    expect((await status()).firewall).toEqual({ wanted: 'guard', kernel: 'guard' });
  });

  it('5. kill switch on boot: the helper blocks at its first start after a boot, even with no boot table loaded', async () => {
    await reset({ killSwitchOnBoot: true });
    await daemon.stop();
    expect((await lab.exec(lab.client.ns, ['nft', 'list', 'table', 'inet', 'umbra'])).code, 'no table before the "reboot"').not.toBe(0);
    writeFileSync(join(daemon.stateDir, 'last-boot-id'), 'an-earlier-boot\n');
    await daemon.start();
    await expectNothingOut();
    expect(await status()).toMatchObject({ state: 'disconnected', blocked: true, hold: 'boot' });
    // Lifted by the user; a restart within the same boot does not bring it back.
    await call('disconnect');
    await daemon.stop();
    await daemon.start();
    expect(await status()).toMatchObject({ blocked: false, firewallActive: false });
    expect(await probe()).toContain('http');
    await call('setSettings', { killSwitchOnBoot: false });
  });

  it('6. state files unreadable after a crash: the block found stays until the user says', async () => {
    await reset({ killSwitch: true });
    await call('connect', { serverId: 'lab-0' });
    await settle((s) => s.state === 'connected', 15_000, 'connected');
    const labSettings = readFileSync(join(daemon.stateDir, 'settings.json'), 'utf8');
    await daemon.stop('SIGKILL');
    for (const f of ['state.json', 'settings.json']) writeFileSync(join(daemon.stateDir, f), '{"schemaVersion": 1, "garbage');
    await daemon.start();
    await expectNothingOut();
    expect(await status()).toMatchObject({ state: 'disconnected', blocked: true, hold: 'unreadable-state' });
    await call('disconnect');
    expect(await status()).toMatchObject({ blocked: false });
    // Back to the lab's own leak-check services.
    const { schemaVersion: _v, ...s } = JSON.parse(labSettings) as Record<string, unknown>;
    await call('setSettings', s);
  });

  /** Whether a datagram from the server's address and port reaches a client port that never talked to it. */
  async function spoofedDatagramHeard(): Promise<boolean> {
    const ep = lab.servers[0]!.endpoint;
    for (const k of ['all', 'eth0']) await lab.exec(lab.client.ns, ['sysctl', '-qw', `net.ipv4.conf.${k}.rp_filter=0`]);
    const listener = lab.spawn(lab.client.ns, [process.execPath, '-e', UDP_LISTEN, '40123', '2000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let heard = '';
    listener.stdout?.on('data', (d: Buffer) => (heard += d.toString()));
    const exited = new Promise((r) => listener.once('exit', r));
    while (!heard.includes('listening')) await sleep(20);
    // The spoofer is the router, which takes the server's address for a moment (on its loopback,
    // so the datagram leaves it with that source towards the client).
    await lab.exec(routerNs(), ['ip', 'address', 'add', `${ep.host}/32`, 'dev', 'lo']);
    try {
      const sent = await lab.exec(routerNs(), [process.execPath, '-e', UDP_SEND, ep.host, String(ep.port), lab.client.address, '40123']);
      expect(sent.stdout.trim()).toBe('sent');
    } finally {
      await lab.exec(routerNs(), ['ip', 'address', 'del', `${ep.host}/32`, 'dev', 'lo']);
    }
    await exited;
    return /got /.test(heard);
  }

  it("7b. under the block, a datagram from the server's address and port reaches no local port but the tunnel's", async () => {
    // Without the kill switch nothing filters it: the probe can see a delivery.
    await reset({});
    await call('connect', { serverId: 'lab-0' });
    await settle((s) => s.state === 'connected', 15_000, 'connected');
    expect(await spoofedDatagramHeard(), 'delivered without the kill switch').toBe(true);
    await call('setSettings', { killSwitch: true });
    expect(await spoofedDatagramHeard(), 'delivered under the block').toBe(false);
    // The tunnel's own flow still works.
    expect(await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 2000 }).then((r) => r.body?.trim())).toBe(lab.servers[0]!.exitAddress);
  });

  it('8. hostname endpoints under a block: resolved by the helper, kept, and found again after a restart', async () => {
    const name = lab.servers[0]!.endpointName;
    await reset({ killSwitch: true });
    // (b) a switch from an IP server to a hostname server with the kill switch on.
    await call('connect', { serverId: 'lab-1' });
    await settle((s) => s.state === 'connected' && s.server?.id === 'lab-1', 15_000, 'connected to lab-1');
    await call('connect', { serverId: 'host-0' });
    await settle((s) => s.state === 'connected' && s.server?.id === 'host-0', 15_000, 'switched to host-0');
    // (a) SIGKILLed and restarted under its block: it finds the server again.
    await startCapture();
    const dnsFrom = (await lab.dnsLog()).length;
    await daemon.stop('SIGKILL');
    await daemon.start();
    await settle((s) => s.state === 'connected' && s.server?.id === 'host-0', 20_000, 'reconnected to host-0');
    const out = await leaks([ispLookup]);
    expect(out, `left outside the tunnel:\n${summary(out)}`).toEqual([]);
    expect(await namesAskedOfIsp(dnsFrom)).toEqual([name]);
    // (c) the name cannot be resolved any more (the system's resolver is gone): the last good
    // answer in the state dir still connects.
    const resolv = readFileSync(lab.client.resolvConfPath, 'utf8');
    await daemon.stop('SIGKILL');
    writeFileSync(lab.client.resolvConfPath, 'nameserver 203.0.113.99\n');
    try {
      await daemon.start();
      await settle((s) => s.state === 'connected' && s.server?.id === 'host-0', 25_000, 'connected from the remembered address');
      expect(daemon.stderr).toMatch(new RegExp(`could not look up ${name.replace(/\./g, '\\.')}; using the address it had last time`));
    } finally {
      await call('disconnect');
      writeFileSync(lab.client.resolvConfPath, resolv);
    }
  });
});
