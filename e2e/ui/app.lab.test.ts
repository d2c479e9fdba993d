// The desktop app's UI against the real helper, in Chromium: the built renderer served by the
// browser-mode host on 127.0.0.1, `umbrad serve` in the lab's client namespace, three wireguard-go
// "cities". What the page shows is checked against what the lab sees (the echo service, nft).
// Screenshots go to e2e/artifacts/ui-{light,dark}-{disconnected,connected,helper-down-blocked,helper-down-exposed}.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserHost, type BrowserHost } from '../../electron/browser-host/host.js';
import { cleanupStaleLabs, createLab, type Lab } from '../lab/lab.js';
import { launchChromium, openPage, screenshotsInBothSchemes } from './browser.js';
import { buildRenderer, CITIES, markerName, startUmbraInLab, type UmbraInLab } from './umbra-lab.js';
import { ARTIFACTS, uiSkipReason } from './ui-session.js';

const why = uiSkipReason();

describe.skipIf(why !== '')(`the app in Chromium against the real helper${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let umbra: UmbraInLab;
  let host: BrowserHost;
  let browser: Browser;
  let page: Page;
  let distDir: string;
  const pageErrors: string[] = [];

  /** A locator's text now (null while it is not on the page), for expect.poll. */
  const text = (l: Locator) => l.textContent({ timeout: 500 }).catch(() => null);
  /** The connection's state line ("Disconnected", "Connected", …). */
  const state = () => text(page.locator('.state-line'));
  const exitIp = () => text(page.locator('.stats div', { has: page.locator('dt', { hasText: 'Exit IP' }) }).locator('dd'));
  const place = () => text(page.locator('.place-name'));
  const marker = (i: number) => page.getByRole('button', { name: markerName(CITIES[i]!), exact: true });
  const echo = async () => (await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 3000 })).body?.trim();
  /** The echo's answer, or 'blocked' when nothing gets through. */
  const echoOrBlocked = () => echo().then((b) => b ?? 'blocked', () => 'blocked');
  /** Whether the kernel holds Umbra's blocking table (connected without the kill switch, its guard table is there instead). */
  const blockTable = async () => / block=1 /.test((await lab.exec(lab.client.ns, ['nft', 'list', 'table', 'inet', 'umbra'])).stdout);
  const anyTable = async () => (await lab.exec(lab.client.ns, ['nft', 'list', 'table', 'inet', 'umbra'])).code === 0;

  const screenshots = (name: string) => screenshotsInBothSchemes(page, (scheme) => join(ARTIFACTS, `ui-${scheme}-${name}.png`));

  beforeAll(async () => {
    cleanupStaleLabs();
    mkdirSync(ARTIFACTS, { recursive: true });
    distDir = mkdtempSync(join(tmpdir(), 'umbra-ui-dist-'));
    // The renderer as it is in the tree now, built aside (renderer/dist is left alone).
    const [l] = await Promise.all([createLab({ servers: 3 }), buildRenderer(distDir)]);
    lab = l;
    umbra = await startUmbraInLab(lab);
    host = await startBrowserHost({ socketPath: umbra.daemon.socket, distDir, host: '127.0.0.1', port: 0, backoffMs: [100, 250, 500, 1000], install: 'demo' });
    browser = await launchChromium();
    page = await openPage(browser, host.url, pageErrors);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    await umbra?.daemon.stop('SIGTERM').catch(() => umbra?.daemon.stop('SIGKILL').catch(() => undefined));
    umbra?.daemon.cleanup();
    await lab?.destroy();
    if (distDir) rmSync(distDir, { recursive: true, force: true });
  });

  it('opens on the map of the three cities, disconnected, with the token gone from the address bar', async () => {
    await expect.poll(() => state(), { timeout: 10_000 }).toBe('Disconnected');
    for (let i = 0; i < CITIES.length; i++) expect(await marker(i).count()).toBe(1);
    expect(page.url()).toBe(`${host.origin}/`);
    expect(await page.evaluate(() => typeof (globalThis as unknown as { umbra?: { app?: unknown } }).umbra?.app)).toBe('undefined');
    expect(await exitIp()).toBe('—');
    await screenshots('disconnected');
  });

  it('picks Stockholm on the map and connects: the page and the internet see Stockholm\'s exit', async () => {
    const sto = lab.servers[0]!;
    expect(await echo()).toBe(lab.client.address);
    await marker(0).click();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect.poll(() => state(), { timeout: 20_000 }).toBe('Connected');
    await expect.poll(() => exitIp(), { timeout: 5000 }).toBe(sto.exitAddress);
    expect(await place()).toBe('Stockholm, Sweden');
    expect(await echo()).toBe(sto.exitAddress);
    // The helper pushes the counters every second: the echo's bytes show up on the page.
    const received = () => text(page.locator('.stats div', { has: page.locator('dt', { hasText: 'Received' }) }).locator('dd'));
    await expect.poll(received, { timeout: 5000 }).not.toBe('0 B');
    await screenshots('connected');
  });

  it('switches to Frankfurt from the map: the new exit IP, on the page and on the internet', async () => {
    const fra = lab.servers[1]!;
    // Connected, the main button is Disconnect; a location is switched to from the map itself.
    await marker(1).dblclick();
    await expect.poll(() => exitIp(), { timeout: 20_000 }).toBe(fra.exitAddress);
    expect(await state()).toBe('Connected');
    expect(await place()).toBe('Frankfurt, Germany');
    await expect.poll(echo, { timeout: 5000 }).toBe(fra.exitAddress);
  });

  it('turns the kill switch on: the page says it blocks once the helper reports its rules in the kernel', async () => {
    const ks = page.getByRole('switch', { name: 'Kill switch' });
    expect(await ks.getAttribute('aria-checked')).toBe('false');
    expect(await blockTable()).toBe(false);
    expect(await anyTable()).toBe(true); // the connection's guards
    await ks.click();
    await expect.poll(() => ks.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('true');
    await expect.poll(() => page.getByText('Blocking traffic outside the tunnel').count(), { timeout: 10_000 }).toBe(1);
    expect(await blockTable()).toBe(true);
    expect(await echo()).toBe(lab.servers[1]!.exitAddress);
  });

  it('the helper SIGKILLed and restarted: the page says it is not running, then recovers by itself', async () => {
    await umbra.daemon.stop('SIGKILL');
    await page.getByRole('heading', { name: 'The Umbra helper is not running' }).waitFor({ timeout: 10_000 });
    // What matters first: the kill switch's block outlives the helper, and the page says so.
    await page.getByRole('heading', { name: 'Your traffic is blocked by the kill switch' }).waitFor({ timeout: 5000 });
    expect(await page.getByRole('heading', { name: 'You are not protected' }).count()).toBe(0);
    // Then, once reconnecting fails, why; the restart command is the page's own, not the client's hint.
    await expect.poll(() => page.getByText(/not running \(/i).count(), { timeout: 5000 }).toBeGreaterThan(0);
    expect(await page.getByText('sudo npx umbrad serve').count()).toBe(0);
    expect(await page.getByText(/In the demo/).count()).toBe(1);
    expect(await blockTable()).toBe(true); // fail closed: the block stays while the helper is gone
    expect(await echoOrBlocked()).toBe('blocked'); // and nothing gets out
    await screenshots('helper-down-blocked');
    // A window opened only now never saw a status of its own: the host's last one tells it.
    const late = await page.context().newPage();
    await late.goto(host.url);
    await late.getByRole('heading', { name: 'Your traffic is blocked by the kill switch' }).waitFor({ timeout: 10_000 });
    expect(await late.getByRole('heading', { name: 'Umbra cannot tell whether your traffic is blocked' }).count()).toBe(0);
    await late.close();
    await umbra.daemon.start();
    // It adopts the block and resumes the connection; the page follows without a reload.
    await expect.poll(() => state(), { timeout: 30_000 }).toBe('Connected');
    await expect.poll(() => exitIp(), { timeout: 5000 }).toBe(lab.servers[1]!.exitAddress);
    expect(await place()).toBe('Frankfurt, Germany');
    expect(await page.getByRole('switch', { name: 'Kill switch' }).getAttribute('aria-checked')).toBe('true');
    expect(await page.getByText('Blocking traffic outside the tunnel').count()).toBe(1);
    await expect.poll(echo, { timeout: 5000 }).toBe(lab.servers[1]!.exitAddress);
  });

  it('disconnects: "Disconnected", the block lifted, the internet sees the client again', async () => {
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await expect.poll(() => state(), { timeout: 15_000 }).toBe('Disconnected');
    expect(await exitIp()).toBe('—');
    expect(await anyTable()).toBe(false);
    await expect.poll(echo, { timeout: 5000 }).toBe(lab.client.address);
  });

  it('the helper SIGKILLed with the kill switch off: "You are not protected", and the page recovers', async () => {
    const ks = page.getByRole('switch', { name: 'Kill switch' });
    await ks.click();
    await expect.poll(() => ks.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('false');
    await marker(0).click();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect.poll(() => state(), { timeout: 20_000 }).toBe('Connected');
    expect(await blockTable()).toBe(false);
    await umbra.daemon.stop('SIGKILL');
    await page.getByRole('heading', { name: 'You are not protected' }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('heading', { name: 'Your traffic is blocked by the kill switch' }).count()).toBe(0);
    // True as said: the tunnel died with the helper and the internet sees the client itself.
    await expect.poll(echoOrBlocked, { timeout: 5000 }).toBe(lab.client.address);
    await screenshots('helper-down-exposed');
    await umbra.daemon.start();
    await page.getByRole('heading', { name: 'The Umbra helper is not running' }).waitFor({ state: 'detached', timeout: 30_000 });
    await expect.poll(() => state(), { timeout: 30_000 }).toMatch(/^(Connected|Disconnected)$/);
    // The lost connection's error does not linger on the recovered panel.
    expect(await page.getByText(/closed the connection/).count()).toBe(0);
    if ((await state()) === 'Connected') {
      await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
      await expect.poll(() => state(), { timeout: 15_000 }).toBe('Disconnected');
    }
    expect(pageErrors).toEqual([]);
  });
});
