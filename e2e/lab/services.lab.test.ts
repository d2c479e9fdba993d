// The lab's services for the kill-switch, DNS and leak tests: DNS (UDP, TCP, IPv4, IPv6) with its
// query log, the "ISP resolver" that the client namespace's resolv.conf names, the LAN host, STUN,
// and the leak capture on the router — first without a VPN (everything is a leak), then with a
// wireguard-go full tunnel (only UDP to the endpoint leaves, plus the allowed LAN host).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureAvailable, cleanupStaleLabs, createLab, findLeaks, labAvailable, type Lab, type WireguardGoHandle } from './lab.js';
import { NETNS_ETC_DIR } from './cleanup.js';
import { eventually } from './proc.js';

const avail = labAvailable();

const SEND_JUNK = `
const s = require('node:dgram').createSocket('udp4');
s.connect(53, process.argv[1], () => {
  s.send(Buffer.from([1, 2, 3]));
  s.send(Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
});
s.on('message', (m) => { console.log('rcode ' + (m[3] & 15)); process.exit(0); });
setTimeout(() => { console.log('no answer'); process.exit(0); }, 2000);`;
const cap = captureAvailable();

describe.skipIf(!avail.ok)(`lab services${avail.ok ? '' : ` — skipped: ${avail.reason}`}`, () => {
  let lab: Lab;
  let wgc: WireguardGoHandle | undefined;
  const hostResolvConf = readFileSync('/etc/resolv.conf', 'utf8');

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
  });

  afterAll(async () => {
    await wgc?.stop();
    await lab?.destroy();
  });

  it('answers DNS over UDP and TCP, IPv4 and IPv6, and logs who asked', async () => {
    const c = lab.client.ns;
    const { dnsAddress, dnsAddress6, serviceAddress, serviceAddress6 } = lab.internet;
    const [a, aaaaTcp, v6, tcp6, nx, whoami, whoami6] = await Promise.all([
      lab.dnsQuery(c, dnsAddress, 'www.lab.test'),
      lab.dnsQuery(c, dnsAddress, 'Mixed.Case.LAB.test.', { type: 'AAAA', tcp: true }),
      lab.dnsQuery(c, dnsAddress6, 'v6.lab.test', { type: 'AAAA' }),
      lab.dnsQuery(c, dnsAddress6, 'tcp6.lab.test', { tcp: true }),
      lab.dnsQuery(c, dnsAddress, 'example.com'),
      lab.dnsQuery(c, dnsAddress, 'whoami.lab.test'),
      lab.dnsQuery(c, dnsAddress6, 'whoami.lab.test', { type: 'AAAA' }),
    ]);
    expect(a).toMatchObject({ ok: true, rcode: 0, answers: [serviceAddress] });
    expect(aaaaTcp).toMatchObject({ ok: true, rcode: 0, answers: [serviceAddress6] });
    expect(v6).toMatchObject({ ok: true, answers: [serviceAddress6] });
    expect(tcp6).toMatchObject({ ok: true, answers: [serviceAddress] });
    expect(nx).toMatchObject({ ok: false, rcode: 3, answers: [], error: 'NXDOMAIN' });
    expect(whoami.answers).toEqual([lab.client.address]);
    expect(whoami6.answers).toEqual([lab.client.address6]);

    // Nothing listens on port 54: the ICMP port unreachable comes back as an error, not a timeout.
    const closed = await lab.dnsQuery(c, dnsAddress, 'www.lab.test', { port: 54, timeoutMs: 2000 });
    expect(closed.ok).toBe(false);
    expect(closed.rcode).toBeUndefined();
    expect(closed.error).toMatch(/ECONNREFUSED/);

    // Garbage (too short; a header that promises a question it lacks) gets no answer or FORMERR,
    // and the server keeps serving.
    const junk = await lab.exec(c, [process.execPath, '-e', SEND_JUNK, dnsAddress]);
    expect(junk.stdout.trim()).toBe('rcode 1');
    expect((await lab.dnsQuery(c, dnsAddress, 'after.lab.test')).ok).toBe(true);

    const log = await lab.dnsLog();
    expect(log.filter((r) => r.rcode === 1 || r.error === 'shorter than a header')).toHaveLength(2);
    const pick = (qname: string) => log.find((r) => r.qname === qname);
    expect(pick('www.lab.test')).toMatchObject({ server: dnsAddress, source: lab.client.address, transport: 'udp', qtype: 'A', rcode: 0 });
    expect(pick('mixed.case.lab.test')).toMatchObject({ server: dnsAddress, source: lab.client.address, transport: 'tcp', qtype: 'AAAA' });
    expect(pick('v6.lab.test')).toMatchObject({ server: dnsAddress6, source: lab.client.address6, transport: 'udp' });
    expect(pick('tcp6.lab.test')).toMatchObject({ server: dnsAddress6, source: lab.client.address6, transport: 'tcp' });
    expect(pick('example.com')).toMatchObject({ rcode: 3, answers: [] });
    for (const r of log) expect(r.time).toBeGreaterThan(Date.now() - 60_000);
  });

  it('gives the client namespace an ISP resolver in its own resolv.conf, which answers directly', async () => {
    const c = lab.client.ns;
    expect(lab.client.resolvConfPath).toBe(`${NETNS_ETC_DIR}/${c}/resolv.conf`);
    const inside = await lab.exec(c, ['cat', '/etc/resolv.conf']);
    expect(inside.code).toBe(0);
    expect(inside.stdout).toMatch(/^nameserver 203\.0\.113\.251$/m);
    expect(inside.stdout.match(/^nameserver/gm)).toHaveLength(1);
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(hostResolvConf); // the machine's own is untouched

    const viaConf = await lab.dnsQuery(c, 'resolv.conf', 'isp.lab.test');
    expect(viaConf).toMatchObject({ ok: true, server: lab.internet.ispResolver, answers: [lab.internet.serviceAddress] });
    const tcp6 = await lab.dnsQuery(c, lab.internet.ispResolver6, 'isp6.lab.test', { tcp: true, type: 'AAAA' });
    expect(tcp6).toMatchObject({ ok: true, answers: [lab.internet.serviceAddress6] });
    const log = await lab.dnsLog();
    expect(log.find((r) => r.qname === 'isp.lab.test')).toMatchObject({ server: lab.internet.ispResolver, source: lab.client.address });
    expect(log.find((r) => r.qname === 'isp6.lab.test')).toMatchObject({ server: lab.internet.ispResolver6, source: lab.client.address6 });
  });

  it('names each server\'s endpoint in DNS, for configs with Endpoint = host:port', async () => {
    const s0 = lab.servers[0]!;
    expect(s0.endpointName).toBe('s0.vpn.lab.test');
    const a = await lab.dnsQuery(lab.client.ns, lab.internet.ispResolver, s0.endpointName.toUpperCase());
    expect(a).toMatchObject({ ok: true, answers: [s0.endpoint.host] });
    const aaaa = await lab.dnsQuery(lab.client.ns, lab.internet.ispResolver, s0.endpointName, { type: 'AAAA' });
    expect(aaaa).toMatchObject({ ok: true, answers: [] });
  });

  it('has a LAN host on the client link that records its callers', async () => {
    const r4 = await lab.http(lab.client.ns, lab.lanUrl);
    const r6 = await lab.http(lab.client.ns, lab.lanUrl6);
    expect([r4.status, r4.body, r6.status, r6.body]).toEqual([200, lab.client.address, 200, lab.client.address6]);
    expect(lab.lanUrl).toBe('http://198.51.100.1:8080/');
    expect(await lab.lanLog()).toEqual([lab.client.address, lab.client.address6]);
    expect(await lab.echoLog()).toEqual([]); // the internet's echo service saw none of it
  });

  it('answers a STUN Binding request with the client\'s own address and port', async () => {
    expect(lab.internet.stunUrl).toBe('stun:203.0.113.250:3478');
    const r = await lab.stunQuery(lab.client.ns);
    expect(r).toMatchObject({ ok: true, address: lab.client.address, localAddress: lab.client.address });
    expect(r.port).toBe(r.localPort);
    const r6 = await lab.stunQuery(lab.client.ns, lab.internet.serviceAddress6);
    expect(r6).toMatchObject({ ok: true, address: lab.client.address6 });
    expect(r6.port).toBe(r6.localPort);
    const log = await lab.stunLog();
    expect(log.map((e) => [e.source, e.sourcePort])).toEqual([[r.address, r.port], [r6.address, r6.port]]);
  });

  it.skipIf(!cap.ok)(`capture sees what the client sends directly${cap.ok ? '' : ` — skipped: ${cap.ok ? '' : cap.reason}`}`, async () => {
    const capture = await lab.startCapture();
    const r = await lab.http(lab.client.ns, lab.internet.echoUrl);
    expect(r.body).toBe(lab.client.address);
    const dns = await lab.dnsQuery(lab.client.ns, lab.internet.ispResolver6, 'leak.lab.test', { type: 'AAAA' });
    expect(dns.ok).toBe(true);
    const mid = await capture.snapshot();
    const packets = await capture.stop();
    expect(packets.length).toBeGreaterThanOrEqual(mid.length);
    expect(await capture.stop()).toBe(packets); // idempotent
    expect(capture.running).toBe(false);

    const syn = packets.find((p) => p.protocol === 'tcp' && p.tcpFlags === 'S');
    expect(syn).toMatchObject({ family: 'ipv4', src: lab.client.address, dst: lab.internet.serviceAddress, dstPort: 80 });
    const query = packets.find((p) => p.protocol === 'udp' && p.dstPort === 53);
    expect(query).toMatchObject({ family: 'ipv6', src: lab.client.address6, dst: lab.internet.ispResolver6 });
    // Every packet is the client's (the router's flush marker is not returned).
    expect(new Set(packets.map((p) => p.ethSrc)).size).toBe(1);
    expect(packets.some((p) => p.dstPort === 9)).toBe(false);

    const leaks = capture.leaks([]);
    expect(leaks).toContain(syn);
    expect(leaks).toContain(query);
    // Allowing an endpoint takes exactly its traffic out (UDP by default: the TCP stays a leak).
    expect(capture.leaks([{ address: lab.internet.ispResolver6, port: 53 }])).not.toContain(query);
    expect(capture.leaks([{ address: lab.internet.serviceAddress, port: 80 }])).toContain(syn);
    expect(capture.leaks([{ address: lab.internet.serviceAddress, port: 80, protocol: 'tcp' }])).not.toContain(syn);
  });

  it.skipIf(!cap.ok)('with a wireguard-go full tunnel, only UDP to the endpoint leaves (and the allowed LAN host)', async () => {
    const s0 = lab.servers[0]!;
    wgc = await lab.startWireguardGo(lab.client.ns, {
      ifname: 'wgc',
      privateKey: lab.client.privateKey,
      address: [`${s0.clientTunnelAddress}/32`],
      peers: [{ publicKey: s0.publicKey, endpoint: `${s0.endpoint.host}:${s0.endpoint.port}`, allowedIPs: '0.0.0.0/0' }],
    });
    const capture = await lab.startCapture();
    const echoed = await eventually(async () => (await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 2000 })).body, 10_000);
    expect(echoed).toBe(s0.exitAddress);
    const dns = await lab.dnsQuery(lab.client.ns, lab.internet.dnsAddress, 'tunnel.lab.test', { tcp: true });
    expect(dns.ok).toBe(true);
    const stun = await lab.stunQuery(lab.client.ns);
    expect(stun.address).toBe(s0.exitAddress);
    const lan = await lab.http(lab.client.ns, lab.lanUrl); // the LAN stays on the link (suppress_prefixlength 0)
    expect(lan.body).toBe(lab.client.address);
    const packets = await capture.stop();

    const endpoint = { address: s0.endpoint.host, port: s0.endpoint.port };
    const lanHost = { address: lab.client.gateway, port: 8080, protocol: 'tcp' as const };
    expect(capture.leaks([endpoint, lanHost])).toEqual([]);
    expect(packets.filter((p) => p.protocol === 'udp' && p.dst === s0.endpoint.host && p.dstPort === 51820).length).toBeGreaterThan(3);
    // Without the LAN exception, exactly the LAN connection is reported.
    const lanOnly = findLeaks(packets, [endpoint]);
    expect(lanOnly.length).toBeGreaterThan(0);
    expect(lanOnly.every((p) => p.protocol === 'tcp' && p.dst === lab.client.gateway && p.dstPort === 8080)).toBe(true);

    const log = await lab.dnsLog();
    expect(log.find((r) => r.qname === 'tunnel.lab.test')).toMatchObject({ source: s0.exitAddress, transport: 'tcp' });
    await wgc.stop();
  });

  // After the tests that count the echo and LAN logs exactly (this one adds to both).
  it('says who asked for a name: the DNS leak-test API on the echo service', async () => {
    const c = lab.client.ns;
    const name = `askers-${Date.now()}.lab.test`;
    expect(lab.internet.dnsAskersUrl).toBe('http://203.0.113.250/dns-askers');
    const before = await lab.http(c, `${lab.internet.dnsAskersUrl}?name=${name}`);
    expect(before.status).toBe(200);
    expect(JSON.parse(before.body ?? '')).toEqual([]);
    await lab.dnsQuery(c, lab.internet.dnsAddress, name);
    await lab.dnsQuery(c, lab.internet.ispResolver, name.toUpperCase());
    await lab.dnsQuery(c, lab.internet.dnsAddress6, name, { type: 'AAAA' });
    const after = await lab.http(c, `${lab.internet.dnsAskersUrl}?name=${name.toUpperCase()}.`);
    expect(JSON.parse(after.body ?? '')).toEqual([lab.client.address, lab.client.address6]);
    expect((await lab.http(c, lab.internet.dnsAskersUrl)).status).toBe(400);
    // Only the internet's echo service has it, not the LAN host's.
    expect((await lab.http(c, `${lab.lanUrl}dns-askers?name=${name}`)).status).toBe(404);
  });

  it('cleanupStaleLabs() removes the /etc/netns folder of a lab whose process died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const ns = `ulab${dead.stdout}n0-c`;
    mkdirSync(join(NETNS_ETC_DIR, ns), { recursive: true });
    writeFileSync(join(NETNS_ETC_DIR, ns, 'resolv.conf'), 'nameserver 203.0.113.251\n');
    cleanupStaleLabs();
    expect(existsSync(join(NETNS_ETC_DIR, ns))).toBe(false);
    expect(existsSync(lab.client.resolvConfPath)).toBe(true); // a live lab's stays
  });

  it('destroy() removes the client\'s resolv.conf folder', async () => {
    const folder = dirname(lab.client.resolvConfPath);
    expect(existsSync(folder)).toBe(true);
    await lab.destroy();
    expect(existsSync(folder)).toBe(false);
  });
});
