// The leak-check panel in Chromium against the real helper, with Chromium and the browser-mode host
// both inside the lab's client namespace: WebRTC then sees the client's own addresses (and, through
// the tunnel, the server's exit), as a page on that machine would. The helper asks only the lab's
// services (settings seeded before it starts). Screenshots: e2e/artifacts/ui-{light,dark}-leak-check.png.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleLabs, createLab, labAvailable, type Lab } from '../lab/lab.js';
import { DaemonRun } from '../daemon-process.js';
import { PROJECT_ROOT } from '../umbrad-process.js';
import { CHROMIUM, chromiumAvailable } from './browser.js';
import { buildRenderer } from './umbra-lab.js';

const lab_ = labAvailable();
const browser_ = chromiumAvailable();
const HOST_JS = join(PROJECT_ROOT, 'dist', 'electron', 'browser-host', 'host.js');
const built = existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'leakcheck', 'leak-check.js')) && existsSync(HOST_JS);
const why = !lab_.ok ? lab_.reason : !browser_.ok ? browser_.reason : !built ? 'not built (npx tsc -p tsconfig.build.json)' : '';
const ARTIFACTS = join(PROJECT_ROOT, 'e2e', 'artifacts');

/** The browser-mode host in a process of its own (so in the client namespace); prints {url} once it serves. */
const HOST_SCRIPT = `
const [hostJs, socketPath, distDir] = process.argv.slice(1);
const { startBrowserHost } = await import(hostJs);
const host = await startBrowserHost({ socketPath, distDir, host: '127.0.0.1', port: 0, backoffMs: [100, 250, 500, 1000] });
process.stdout.write(JSON.stringify({ url: host.url }) + '\\n');
process.once('SIGTERM', () => host.close().finally(() => process.exit(0)));
`;

describe.skipIf(why !== '')(`the leak-check panel in Chromium in the lab's client namespace${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let daemon: DaemonRun;
  let hostProc: ChildProcess | undefined;
  let browser: Browser;
  let page: Page;
  let scratch: string;
  const pageErrors: string[] = [];

  const text = (l: Locator) => l.textContent({ timeout: 500 }).catch(() => null);
  const state = () => text(page.locator('.state-line'));
  const leakStatus = () => text(page.locator('.leak-status'));
  const item = (id: string) => page.locator(`li.leak-item[data-check="${id}"]`);

  async function startHost(): Promise<string> {
    const child = lab.spawn(lab.client.ns, [process.execPath, '--input-type=module', '-e', HOST_SCRIPT, HOST_JS, daemon.socket, join(scratch, 'dist')]);
    hostProc = child;
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) return (JSON.parse(line) as { url: string }).url;
      if (child.exitCode !== null) throw new Error(`the browser host exited (${child.exitCode}): ${err}`);
      if (Date.now() > deadline) throw new Error(`the browser host did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    cleanupStaleLabs();
    mkdirSync(ARTIFACTS, { recursive: true });
    scratch = mkdtempSync(join(tmpdir(), 'umbra-ui-leaks-'));
    chmodSync(scratch, 0o755);
    const [l] = await Promise.all([createLab({ servers: 1 }), buildRenderer(join(scratch, 'dist'))]);
    lab = l;
    daemon = new DaemonRun(lab);
    mkdirSync(daemon.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(daemon.stateDir, 'settings.json'),
      JSON.stringify({
        schemaVersion: 1,
        killSwitch: true,
        // Connect goes to the last server (the one imported below); it never picks one by itself.
        lastServerId: 'lab-0',
        echoUrls: [lab.internet.echoUrl],
        echoUrl6: lab.internet.echoUrl6,
        dnsLeakTest: { zone: lab.internet.dnsZone, apiUrl: lab.internet.dnsAskersUrl },
        stunServers: [lab.internet.stunUrl],
      }),
      { mode: 0o600 },
    );
    await daemon.start();
    const c = await daemon.client();
    await c.call('importConfig', { text: lab.clientConfig(0, { dns: lab.internet.dnsAddress }), name: 'Lab 0' });
    const url = await startHost();
    // Chromium in the client namespace: a wrapper that enters it (Playwright talks over inherited pipes).
    const wrapper = join(scratch, 'chromium-in-lab.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.client.ns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-features=MediaRouter,OptimizationHints'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    await page.goto(url);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    hostProc?.kill('SIGTERM');
    await daemon?.stop('SIGTERM').catch(() => undefined);
    daemon?.cleanup();
    await lab?.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('disconnected: the panel shows the client\'s own address, seen by the echo service and learnt through WebRTC', async () => {
    await expect.poll(() => state(), { timeout: 10_000 }).toBe('Disconnected');
    await page.getByRole('button', { name: 'Leak check', exact: true }).click();
    await page.getByRole('button', { name: 'Run leak check' }).click();
    await expect.poll(() => leakStatus(), { timeout: 20_000 }).toMatch(/warning/);
    const ip = item('public-ip');
    expect(await ip.getByRole('img', { name: 'Warning' }).count()).toBe(1);
    expect(await text(ip.locator('.leak-finding'))).toContain(`your own address ${lab.client.address}`);
    // WebRTC in this page, in the client's namespace: the STUN server saw the client itself.
    const rtc = item('webrtc');
    expect(await text(rtc.locator('.leak-finding'))).toBe(`Not connected: a web page can learn your address ${lab.client.address} through WebRTC`);
    expect((await lab.stunLog()).some((r) => r.source === lab.client.address)).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('after connecting it runs by itself: every check passes, each with an icon and a word, evidence on demand', async () => {
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect.poll(() => state(), { timeout: 20_000 }).toBe('Connected');
    await expect.poll(() => leakStatus(), { timeout: 20_000 }).toBe('All 5 checks passed: nothing escapes the tunnel.');
    expect(await text(page.locator('.leak-when'))).toMatch(/while connected to Lab 0 \(after connecting\)\.$/);
    const results = page.getByRole('list', { name: 'Leak check results' });
    expect(await results.getByRole('img', { name: 'Pass' }).count()).toBe(5);
    expect(await results.locator('.verdict-word').allTextContents()).toEqual(['Pass', 'Pass', 'Pass', 'Pass', 'Pass']);
    const exit = lab.servers[0]!.exitAddress;
    expect(await text(item('public-ip').locator('.leak-finding'))).toContain(exit);
    expect(await text(item('webrtc').locator('.leak-finding'))).toBe(`A web page can learn only the VPN’s address (${exit}) through WebRTC`);

    const toggle = page.getByRole('button', { name: 'Show evidence for WebRTC' });
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await item('webrtc').locator('.leak-evidence').isVisible()).toBe(false);
    await toggle.click();
    expect(await page.getByRole('button', { name: 'Hide evidence for WebRTC' }).getAttribute('aria-expanded')).toBe('true');
    const evidence = item('webrtc').locator('.leak-evidence');
    expect(await evidence.isVisible()).toBe(true);
    expect(await evidence.textContent()).toContain(`Candidate ${exit}`);
    expect(await evidence.textContent()).toContain('server-reflexive (what the STUN server saw); a public address');
    await page.getByRole('button', { name: 'Show evidence for Kill switch' }).click();
    expect(await item('kill-switch').locator('pre').textContent()).toMatch(/^table inet umbra \{/);

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(ARTIFACTS, `ui-${scheme}-leak-check.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(pageErrors).toEqual([]);
  });

  it('disconnects: the connected results are marked out of date, never left saying nothing escapes', async () => {
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await expect.poll(() => state(), { timeout: 15_000 }).toBe('Disconnected');
    await expect.poll(() => leakStatus(), { timeout: 5000 }).toMatch(/^Out of date: taken on an earlier connection, run it again/);
    expect(await page.getByText('All 5 checks passed: nothing escapes the tunnel.').count()).toBe(0);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(ARTIFACTS, `ui-${scheme}-leak-check-stale.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
