// The helper fetches only what it should (issue 13, item 2), tried as a hostile member of the
// umbra group would: catalog URLs, IP-echo URLs and the DNS leak-test API pointed at this machine's
// loopback (a listener on 127.0.0.1 in the client namespace), at cloud metadata (169.254.169.254)
// and at the LAN router (198.51.100.1:8080, the lab's LAN host) — directly, and through a redirect
// from an allowed server (the lab's echo service, /redirect). None of those requests may leave:
// the listeners' logs stay empty and, where tcpdump is there, no packet goes to the metadata
// address. A request to the allowed echo service shows the helper does fetch where it may, so the
// refusals are the policy's, not a dead network. The helper runs with the lab allowance
// (UMBRA_LAB_NETWORKS=1): the lab's "internet" is documentation space served over plain http.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureAvailable, cleanupStaleLabs, createLab, type Capture, type Lab } from './lab/lab.js';
import { servicePath } from './lab/probes.js';
import { daemonLabUnavailable } from './daemon-lab.js';
import { DaemonRun } from './daemon-process.js';
import type { IpcClient } from '../helper/ipc/client.js';
import { ErrorCode, RpcError } from '../helper/ipc/schema.js';

const why = daemonLabUnavailable();
const LOOPBACK_PORT = 18080;
const METADATA = '169.254.169.254';

describe.skipIf(why !== '')(`the helper's fetches stay inside the policy${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let daemon: DaemonRun;
  let c: IpcClient;
  let capture: Capture | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'umbra-fetch-policy-'));
  const loopbackLog = join(scratch, 'loopback.log');

  const forbidden = () => [
    `http://127.0.0.1:${LOOPBACK_PORT}/catalog.json`,
    `http://[::ffff:127.0.0.1]:${LOOPBACK_PORT}/catalog.json`,
    `http://localhost:${LOOPBACK_PORT}/catalog.json`,
    `http://${METADATA}/latest/meta-data/`,
    lab.lanUrl, // the router: http://198.51.100.1:8080/
    lab.lanUrl6,
  ];
  const viaRedirect = (to: string) => `${lab.internet.echoUrl}redirect?to=${encodeURIComponent(to)}`;

  async function refusal(p: Promise<unknown>): Promise<RpcError> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(RpcError);
      return e as RpcError;
    }
    throw new Error('expected the helper to refuse');
  }

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
    daemon = new DaemonRun(lab);
    await daemon.start();
    c = await daemon.client();
    await c.call('importConfig', { text: lab.clientConfig(0), name: 'lab 0' });
    // This machine's own service, as the helper would see it: on loopback in the client namespace.
    writeFileSync(loopbackLog, '');
    const child = lab.spawn(lab.client.ns, [
      process.execPath, servicePath('echo-server.mjs'), '--log', loopbackLog, '--port', String(LOOPBACK_PORT), '--listen', '127.0.0.1',
    ]);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the loopback listener did not start')), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    if (captureAvailable().ok) capture = await lab.startCapture();
  });

  afterAll(async () => {
    await capture?.stop().catch(() => undefined);
    await daemon?.stop('SIGKILL').catch(() => undefined);
    daemon?.cleanup();
    await lab?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the allowed echo service is fetched (the policy lets the lab\'s internet through)', async () => {
    const before = (await lab.echoRequests()).length;
    const e = await refusal(c.call('loadCatalog', { url: `${lab.internet.echoUrl}json`, allowUnsigned: true }));
    expect(e.code).toBe(ErrorCode.InvalidConfig); // it arrived, and {"ip": …} is not a catalog
    expect((await lab.echoRequests()).slice(before).map((r) => r.url)).toEqual(['/json']);
  });

  it('a catalog URL at loopback, the metadata address or the router is refused before any connection', async () => {
    for (const url of forbidden()) {
      const e = await refusal(c.call('loadCatalog', { url, allowUnsigned: true }));
      expect(e.code, url).toBe(ErrorCode.InvalidParams);
      expect(e.message, url).toMatch(/refused: .*(loopback|link-local|own network)/);
    }
  });

  it('a redirect from the allowed server to any of them is refused, and its body is not quoted', async () => {
    const before = (await lab.echoRequests()).length;
    for (const to of forbidden()) {
      const e = await refusal(c.call('loadCatalog', { url: viaRedirect(to), allowUnsigned: true }));
      expect(e.code, to).toBe(ErrorCode.InvalidParams);
      expect(e.message, to).toMatch(/refused/);
      expect(e.message).not.toMatch(/redirect body/);
    }
    // Each first hop reached the echo service: the refusal came at the redirect.
    expect((await lab.echoRequests()).slice(before).filter((r) => r.url.startsWith('/redirect'))).toHaveLength(forbidden().length);
  });

  it('the leak check\'s echo and DNS leak-test URLs are held to the same policy', async () => {
    await c.call('setSettings', {
      echoUrls: [viaRedirect(`http://127.0.0.1:${LOOPBACK_PORT}/`), `http://${METADATA}/`, lab.lanUrl],
      echoUrl6: null,
      dnsLeakTest: { zone: lab.internet.dnsZone, apiUrl: viaRedirect(`http://${METADATA}/latest/api-token`) },
    });
    const report = await c.call('leakCheck', {});
    const evidence = report.checks.flatMap((k) => k.evidence.map((e) => `${e.label}: ${e.text}`)).join('\n');
    expect(evidence).toMatch(/refused/);
    expect(evidence).not.toMatch(/redirect body/);
  });

  it('nothing reached the loopback listener, the router or the metadata address', async () => {
    expect(readFileSync(loopbackLog, 'utf8')).toBe('');
    expect(await lab.lanRequests()).toEqual([]);
    if (capture) {
      const packets = await capture.snapshot();
      expect(packets.filter((p) => p.dst === METADATA)).toEqual([]);
    }
  });
});
