// The lab itself, checked with wireguard-go on both ends: a full-tunnel client in the client
// namespace reaches the internet through server 0, then server 1, survives a server restart,
// moves 5 MB intact, and destroy() leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSha256, cleanupStaleLabs, createLab, labAvailable, type Lab, type WireguardGoHandle } from './lab.js';
import { eventually, isAlive } from './proc.js';
import { listNamespaces } from './cleanup.js';

const avail = labAvailable();

describe.skipIf(!avail.ok)(`network lab${avail.ok ? '' : ` — skipped: ${avail.reason}`}`, () => {
  let lab: Lab;
  let wgc: WireguardGoHandle;

  const echoFromClient = async (timeoutMs = 3000): Promise<string> => {
    const r = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs });
    expect(r.status).toBe(200);
    return r.body ?? '';
  };

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 2 });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('builds the topology: a bare client, a router with the echo service, servers with wg0', async () => {
    const links = await lab.exec(lab.client.ns, ['ip', '-br', 'link']);
    expect(links.stdout.split('\n').filter(Boolean).map((l) => l.split(/[\s@]/)[0])).toEqual(['lo', 'eth0']);

    // Untunnelled IPv6 reaches the service directly and is seen with the client's own address.
    const direct6 = await lab.http(lab.client.ns, lab.internet.echoUrl6);
    expect(direct6.body).toBe(lab.client.address6);

    for (const s of lab.servers) {
      expect(s.running).toBe(true);
      const port = await s.wg(['show', 'wg0', 'listen-port']);
      expect(port.stdout.trim()).toBe('51820');
      const peers = await s.wg(['show', 'wg0', 'allowed-ips']);
      expect(peers.stdout).toContain(`${lab.client.publicKey}\t${s.clientTunnelAddress}/32`);
    }
    expect(lab.clientConfig(1, { persistentKeepalive: 25 })).toContain(`Endpoint = 203.0.113.18:51820`);
  });

  it('tunnels everything through server 0 (wireguard-go client, wg-quick routing)', async () => {
    const s0 = lab.servers[0]!;
    wgc = await lab.startWireguardGo(lab.client.ns, {
      ifname: 'wgc',
      privateKey: lab.client.privateKey,
      address: [`${s0.clientTunnelAddress}/32`],
      peers: [{ publicKey: s0.publicKey, endpoint: `${s0.endpoint.host}:${s0.endpoint.port}`, allowedIPs: '0.0.0.0/0', persistentKeepalive: 1 }],
    });
    expect(wgc.publicKey).toBe(lab.client.publicKey);
    expect(await eventually(async () => {
      if (!(await lab.ping(lab.client.ns, s0.tunnelAddress))) throw new Error('no reply');
      return true;
    }, 5000)).toBe(true);
    expect(await echoFromClient()).toBe(s0.exitAddress);
    expect(await lab.echoLog()).not.toContain(lab.client.address);
  });

  it('switches to server 1 and exits there', async () => {
    const [s0, s1] = [lab.servers[0]!, lab.servers[1]!];
    const wg = async (args: string[]): Promise<void> => {
      const r = await wgc.wg(args);
      expect(r.code, r.stderr).toBe(0);
    };
    await wg(['set', 'wgc', 'peer', s0.publicKey, 'remove']);
    await wg(['set', 'wgc', 'peer', s1.publicKey, 'endpoint', `${s1.endpoint.host}:${s1.endpoint.port}`, 'allowed-ips', '0.0.0.0/0', 'persistent-keepalive', '1']);
    // Add before delete: removing a device's last IPv4 address flushes every route through it,
    // the full-tunnel default in table 51820 included, and traffic would leak via the main table.
    await lab.exec(lab.client.ns, ['ip', 'address', 'add', `${s1.clientTunnelAddress}/32`, 'dev', 'wgc']);
    await lab.exec(lab.client.ns, ['ip', 'address', 'del', `${s0.clientTunnelAddress}/32`, 'dev', 'wgc']);
    const route = await lab.exec(lab.client.ns, ['ip', 'route', 'show', 'table', '51820']);
    expect(route.stdout).toContain('default dev wgc');
    expect(await eventually(() => echoFromClient(), 5000)).toBe(s1.exitAddress);
  });

  it('recovers from a server restart once the client handshakes again', async () => {
    const s1 = lab.servers[1]!;
    const before = s1.pid;
    await s1.stop();
    expect(s1.running).toBe(false);
    expect((await lab.exec(s1.ns, ['ip', 'link', 'show', 'wg0'])).code).not.toBe(0);
    await s1.start();
    expect(s1.pid).toBeDefined();
    expect(s1.pid).not.toBe(before);
    // The new wireguard-go knows no session; the client re-handshakes when its data goes unanswered
    // (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT = 15 s in wireguard-go), so give it 25 s.
    const started = Date.now();
    expect(await eventually(() => echoFromClient(2000), 25_000, 100)).toBe(s1.exitAddress);
    const hs = await s1.wg(['show', 'wg0', 'latest-handshakes']);
    expect(Number(hs.stdout.trim().split('\t')[1])).toBeGreaterThan(0);
    console.log(`traffic resumed ${Date.now() - started} ms after the restart`);
  });

  it('moves 5 MB down and 1 MB up intact through the tunnel', async () => {
    const n = 5 * 1024 * 1024;
    const down = await lab.http(lab.client.ns, `${lab.internet.echoUrl}bytes/${n}?seed=lab`, { hashOnly: true, timeoutMs: 20_000 });
    expect(down.status).toBe(200);
    expect(down.bytes).toBe(n);
    expect(down.sha256).toBe(bytesSha256(n, 'lab'));
    expect(down.headers['x-sha256']).toBe(down.sha256);

    const up = await lab.http(lab.client.ns, `${lab.internet.echoUrl}sha256`, { method: 'POST', uploadBytes: 1024 * 1024, seed: 'up' });
    expect(up.body).toBe(bytesSha256(1024 * 1024, 'up'));

    const seen = await lab.echoLog();
    expect(seen).not.toContain(lab.client.address);
    expect(seen).toContain(lab.servers[0]!.exitAddress);
    expect(seen).toContain(lab.servers[1]!.exitAddress);
  });

  it('destroy() removes every namespace and process', async () => {
    await wgc.stop();
    expect(wgc.running).toBe(false);
    const pids = [...lab.pids(), ...lab.servers.flatMap((s) => (s.pid ? [s.pid] : []))];
    expect(pids.length).toBeGreaterThanOrEqual(3); // echo service + 2 servers
    await lab.destroy();
    await lab.destroy(); // idempotent
    const mine = new RegExp(`^(${lab.prefix}|ulab${process.pid}n\\d+)-`);
    expect(listNamespaces().filter((ns) => mine.test(ns))).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(lab.pids()).toEqual([]);
  });
});
