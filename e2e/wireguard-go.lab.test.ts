// Umbra's engine against wireguard-go, a WireGuard no one here wrote, in the network lab:
// Umbra as the client (full tunnel) and as the responder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSha256, cleanupStaleLabs, createLab, labAvailable, type Lab } from './lab/lab.js';
import { networkSnapshot, startUmbradUp, type UmbradRun } from './umbrad-process.js';
import { existsSync } from 'node:fs';
import { UMBRAD } from './umbrad-process.js';
import { eventually } from './lab/proc.js';
import { join, dirname } from 'node:path';

const avail = labAvailable();
const built = existsSync(join(dirname(UMBRAD), '..', 'dist', 'helper', 'main.js'));
const why = !avail.ok ? avail.reason : !built ? 'not built (npm run build)' : '';

describe.skipIf(why !== '')(`Umbra as a client of wireguard-go${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let umbrad: UmbradRun;
  let before: string;

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
    before = await networkSnapshot(lab, lab.client.ns);
    umbrad = startUmbradUp(lab, lab.client.ns, lab.clientConfig(0));
  });

  afterAll(async () => {
    await umbrad?.stop('SIGKILL').catch(() => undefined);
    umbrad?.cleanup();
    await lab?.destroy();
  });

  it('completes a handshake with wireguard-go and says so in one line', async () => {
    const line = await umbrad.waitFor(/handshake complete/, 10_000);
    expect(line).toContain(`${lab.servers[0]!.endpoint.host}:${lab.servers[0]!.endpoint.port}`);
    const hs = await lab.servers[0]!.wg(['show', 'wg0', 'latest-handshakes']);
    expect(hs.stdout).toContain(lab.client.publicKey);
    expect(Number(hs.stdout.trim().split(/\s+/)[1])).toBeGreaterThan(0);
  });

  it('an IPv4-only tunnel: IPv6 is off on its TUN (no link-local address, no solicitations into it)', async () => {
    const links = JSON.parse((await lab.exec(lab.client.ns, ['ip', '-j', 'link', 'show'])).stdout) as { ifname: string; link_type?: string }[];
    const tun = links.find((l) => l.link_type === 'none')?.ifname;
    expect(tun, 'the tunnel device').toBeDefined();
    const v6 = JSON.parse((await lab.exec(lab.client.ns, ['ip', '-j', '-6', 'address', 'show', 'dev', tun!])).stdout) as { addr_info?: unknown[] }[];
    expect(v6.flatMap((l) => l.addr_info ?? [])).toEqual([]);
    const detail = JSON.parse((await lab.exec(lab.client.ns, ['ip', '-j', '-d', 'link', 'show', 'dev', tun!])).stdout) as { inet6_addr_gen_mode?: string }[];
    expect(detail[0]?.inet6_addr_gen_mode).toBe('none');
  });

  it('pings the server through the tunnel', async () => {
    expect(await lab.ping(lab.client.ns, lab.servers[0]!.tunnelAddress, { count: 3, timeoutSec: 2 })).toBe(true);
  });

  it('the internet sees the server\'s exit address, never the client\'s', async () => {
    const r = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 5000 });
    expect(r.status).toBe(200);
    expect(r.body?.trim()).toBe(lab.servers[0]!.exitAddress);
    const seen = await lab.echoLog();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).not.toContain(lab.client.address);
  });

  it('moves 50 MB down and 10 MB up intact', async () => {
    const n = 50 * 1024 * 1024;
    const down = await lab.http(lab.client.ns, `${lab.internet.echoUrl}bytes/${n}`, { hashOnly: true, timeoutMs: 90_000 });
    expect(down.bytes).toBe(n);
    expect(down.sha256).toBe(bytesSha256(n));
    const up = await lab.http(lab.client.ns, `${lab.internet.echoUrl}sha256`, { method: 'POST', uploadBytes: 10 * 1024 * 1024, timeoutMs: 90_000 });
    expect(up.body?.trim()).toBe(bytesSha256(10 * 1024 * 1024));
  });

  it('recovers by itself when the server restarts and forgets the session', async () => {
    await lab.servers[0]!.restart();
    // Traffic keeps flowing from the client; within KEEPALIVE_TIMEOUT + REKEY_TIMEOUT it re-handshakes.
    const body = await eventually(async () => {
      const r = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 1500 });
      return r.body?.trim();
    }, 40_000, 100);
    expect(body).toBe(lab.servers[0]!.exitAddress);
    expect(await lab.echoLog()).not.toContain(lab.client.address);
  });

  it('removes everything it added on SIGTERM and exits 0', async () => {
    const code = await umbrad.stop('SIGTERM');
    expect(code).toBe(0);
    expect(await networkSnapshot(lab, lab.client.ns)).toBe(before);
  });

  it('reaches a server at an IPv6 endpoint', async () => {
    const server = lab.servers[0]!;
    const v6 = lab.clientConfig(0).replace(/^Endpoint = .*$/m, `Endpoint = [${server.linkAddress6}]:${server.endpoint.port}`);
    expect(v6).toContain(`[${server.linkAddress6}]`);
    const run = startUmbradUp(lab, lab.client.ns, v6);
    try {
      expect(await run.waitFor(/handshake complete/, 10_000)).toContain(server.linkAddress6);
      const r = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 5000 });
      expect(r.body?.trim()).toBe(server.exitAddress);
      expect(await run.stop('SIGINT')).toBe(0);
      expect(await networkSnapshot(lab, lab.client.ns)).toBe(before);
    } finally {
      await run.stop('SIGKILL').catch(() => undefined);
      run.cleanup();
    }
  });
});

describe.skipIf(why !== '')(`wireguard-go initiating to Umbra as responder${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let umbrad: UmbradRun;

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
  });

  afterAll(async () => {
    await umbrad?.stop('SIGKILL').catch(() => undefined);
    umbrad?.cleanup();
    await lab?.destroy();
  });

  it('answers wireguard-go\'s handshake and carries its pings', async () => {
    const server = lab.servers[0]!;
    await server.stop();
    const goKey = (await lab.exec(server.ns, ['wg', 'genkey'])).stdout.trim();
    const goPub = (await lab.exec(server.ns, ['wg', 'pubkey'], { input: goKey + '\n' })).stdout.trim();
    // Umbra listens in the client namespace, with the client's key.
    umbrad = startUmbradUp(lab, lab.client.ns, [
      '[Interface]',
      `PrivateKey = ${lab.client.privateKey}`,
      'ListenPort = 51821',
      'Address = 100.64.9.1/24',
      '',
      '[Peer]',
      `PublicKey = ${goPub}`,
      'AllowedIPs = 100.64.9.2/32',
    ].join('\n'));
    await new Promise((r) => setTimeout(r, 500));
    await lab.startWireguardGo(server.ns, {
      ifname: 'wgi',
      privateKey: goKey,
      address: ['100.64.9.2/24'],
      peers: [{ publicKey: lab.client.publicKey, endpoint: `${lab.client.address}:51821`, allowedIPs: '100.64.9.1/32', persistentKeepalive: 1 }],
    });
    const line = await umbrad.waitFor(/handshake complete/, 10_000);
    expect(line).toContain('as responder');
    expect(await lab.ping(server.ns, '100.64.9.1', { count: 3, timeoutSec: 2 })).toBe(true);
    expect(await lab.ping(lab.client.ns, '100.64.9.2', { count: 2, timeoutSec: 2 })).toBe(true);
    expect(await umbrad.stop('SIGINT')).toBe(0);
  });
});
