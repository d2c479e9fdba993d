// Importing configs the way a new user would, in Chromium against the real helper in the lab: no
// server at first (the first-run hint), then a .conf dropped onto the window, then a QR code PNG of
// another config (drawn by `qrcode`, decoded by the page) and a JPEG of a third. Each import is
// checked with the helper itself, and the dropped config is used: the internet then sees that
// server's exit.
// Screenshots: e2e/artifacts/ui-import-{light,dark}-{first-run,drop-overlay,dropped-conf,dropped-qr,not-a-config}.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, JSHandle, Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserHost, type BrowserHost } from '../../electron/browser-host/host.js';
import type { ServerInfo } from '../../helper/ipc/schema.js';
import { DaemonRun } from '../daemon-process.js';
import { cleanupStaleLabs, createLab, type Lab } from '../lab/lab.js';
import { launchChromium, openPage, screenshotsInBothSchemes } from './browser.js';
import { buildRenderer } from './umbra-lab.js';
import { ARTIFACTS, uiSkipReason } from './ui-session.js';

const why = uiSkipReason();

describe.skipIf(why !== '')(`importing configs in Chromium against the real helper${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let daemon: DaemonRun;
  let host: BrowserHost;
  let browser: Browser;
  let page: Page;
  let distDir: string;
  const pageErrors: string[] = [];

  const shot = (name: string) => screenshotsInBothSchemes(page, (scheme) => join(ARTIFACTS, `ui-import-${scheme}-${name}.png`));
  const helperServers = async (): Promise<ServerInfo[]> => {
    const c = await daemon.client();
    try {
      return (await c.call('listServers', {})).servers;
    } finally {
      await c.close();
    }
  };
  const serverRow = (name: string) => page.locator('.server-list').getByRole('button', { name, exact: true });
  const echo = async () => (await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 3000 })).body?.trim();
  const state = () => page.locator('.state-line').textContent({ timeout: 500 }).catch(() => null);

  /** A DataTransfer in the page holding one file (the bytes travel as base64). */
  const dataTransfer = (name: string, type: string, bytes: Uint8Array): Promise<JSHandle> =>
    page.evaluateHandle(
      ([n, t, b64]) => {
        const g = globalThis as unknown as { DataTransfer: new () => { items: { add(f: unknown): void } }; File: new (parts: unknown[], name: string, o: { type: string }) => unknown };
        const dt = new g.DataTransfer();
        dt.items.add(new g.File([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], n, { type: t }));
        return dt;
      },
      [name, type, Buffer.from(bytes).toString('base64')] as const,
    );

  /** Drags `file` over the window; `drop` lets go of it (as a person's drag-and-drop from a file manager does). */
  async function dragOnto(file: { name: string; type: string; bytes: Uint8Array }, { drop = true } = {}): Promise<void> {
    const dt = await dataTransfer(file.name, file.type, file.bytes);
    const target = page.locator('.app-main');
    await target.dispatchEvent('dragenter', { dataTransfer: dt });
    await target.dispatchEvent('dragover', { dataTransfer: dt });
    if (drop) await target.dispatchEvent('drop', { dataTransfer: dt });
    await dt.dispose();
  }

  const conf = (i: number) => lab.clientConfig(i, { dns: lab.internet.dnsAddress });
  const png = async (text: string) => new Uint8Array(await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', scale: 5, margin: 4 }));
  /** The PNG re-encoded as a lossy JPEG by Chromium itself (as a phone or a provider's page would hand it out). */
  const jpeg = async (pngBytes: Uint8Array): Promise<Uint8Array> => {
    const b64 = await page.evaluate(`(async () => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(Buffer.from(pngBytes).toString('base64'))}), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.7 });
      const out = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (const b of out) s += String.fromCharCode(b);
      return btoa(s);
    })()`);
    return new Uint8Array(Buffer.from(String(b64), 'base64'));
  };

  beforeAll(async () => {
    cleanupStaleLabs();
    mkdirSync(ARTIFACTS, { recursive: true });
    distDir = mkdtempSync(join(tmpdir(), 'umbra-ui-dist-'));
    const [l] = await Promise.all([createLab({ servers: 3 }), buildRenderer(distDir)]);
    lab = l;
    // A first start with nothing imported: the state a new user's helper is in.
    daemon = new DaemonRun(lab);
    await daemon.start();
    host = await startBrowserHost({ socketPath: daemon.socket, distDir, host: '127.0.0.1', port: 0, backoffMs: [100, 250, 500, 1000] });
    browser = await launchChromium();
    page = await openPage(browser, host.url, pageErrors);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    await daemon?.stop('SIGTERM').catch(() => daemon?.stop('SIGKILL').catch(() => undefined));
    daemon?.cleanup();
    await lab?.destroy();
    if (distDir) rmSync(distDir, { recursive: true, force: true });
  });

  it('with no server, the server view says how to add one, with the import right there', async () => {
    expect(await helperServers()).toEqual([]);
    const panel = page.getByRole('region', { name: 'Add your first server' });
    await panel.waitFor({ timeout: 10_000 });
    expect(await panel.getByText(/drop that file, or a QR code image of it, anywhere on this window/).count()).toBe(1);
    expect(await panel.getByText(/catalog of servers in Settings/).count()).toBe(1);
    expect(await page.getByLabel('Import a .conf file or QR code image').count()).toBe(1);
    await shot('first-run');
  });

  it('a .conf dragged over the window shows what a drop does; dropped, the helper has its server', async () => {
    const file = { name: 'stockholm-home.conf', type: 'text/plain', bytes: new TextEncoder().encode(conf(0)) };
    await dragOnto(file, { drop: false });
    await page.getByText('Drop to import this WireGuard config').waitFor({ timeout: 5000 });
    await shot('drop-overlay');
    await page.locator('.app-main').dispatchEvent('drop', { dataTransfer: await dataTransfer(file.name, file.type, file.bytes) });
    await serverRow('stockholm-home').waitFor({ timeout: 10_000 });
    expect(await page.getByText('Drop to import this WireGuard config').count()).toBe(0);
    await page.getByText('Imported “stockholm-home” and selected it. Press Connect to use it.').waitFor({ timeout: 5000 });
    const servers = await helperServers();
    expect(servers.map((s) => [s.name, s.endpoint, s.publicKey])).toEqual([['stockholm-home', `${lab.servers[0]!.endpoint.host}:${lab.servers[0]!.endpoint.port}`, lab.servers[0]!.publicKey]]);
    expect(await serverRow('stockholm-home').getAttribute('aria-pressed')).toBe('true');
    await shot('dropped-conf');
  });

  it('the dropped config works: connected through it, the internet sees its server\'s exit', async () => {
    expect(await echo()).toBe(lab.client.address);
    await page.getByRole('button', { name: /^Connect/ }).first().click();
    await expect.poll(state, { timeout: 20_000 }).toBe('Connected');
    await expect.poll(echo, { timeout: 5000 }).toBe(lab.servers[0]!.exitAddress);
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await expect.poll(state, { timeout: 15_000 }).toBe('Disconnected');
  });

  it('a QR code PNG of another config, dropped, is decoded by the page and imported', async () => {
    await dragOnto({ name: 'frankfurt-qr.png', type: 'image/png', bytes: await png(conf(1)) });
    await serverRow('frankfurt-qr').waitFor({ timeout: 10_000 });
    const servers = await helperServers();
    expect(servers.map((s) => s.name).sort()).toEqual(['frankfurt-qr', 'stockholm-home']);
    expect(servers.find((s) => s.name === 'frankfurt-qr')?.publicKey).toBe(lab.servers[1]!.publicKey);
    await shot('dropped-qr');
  });

  it('a JPEG of a QR code imports as well', async () => {
    const bytes = await jpeg(await png(conf(2)));
    expect([...bytes.slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // really a JPEG
    await dragOnto({ name: 'new-york.jpg', type: 'image/jpeg', bytes });
    await serverRow('new-york').waitFor({ timeout: 10_000 });
    expect((await helperServers()).find((s) => s.name === 'new-york')?.publicKey).toBe(lab.servers[2]!.publicKey);
  });

  it('a QR code of something else is refused in words, and the helper\'s servers stay as they were', async () => {
    const before = await helperServers();
    await dragOnto({ name: 'get-the-app.png', type: 'image/png', bytes: await png('https://vpn.example/get-the-app') });
    const alert = page.getByRole('alert').filter({ hasText: 'This config was not imported: this QR code does not hold a WireGuard config' });
    await alert.waitFor({ timeout: 10_000 });
    expect(await helperServers()).toEqual(before);
    await shot('not-a-config');
    expect(pageErrors).toEqual([]);
  });
});
