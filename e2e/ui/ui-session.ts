// One UI test's world, set up and torn down in one place: the lab with its three cities, the real
// helper in the client namespace, the renderer as it is in the tree (built aside, renderer/dist is
// left alone), the browser-mode host on 127.0.0.1 and a Chromium page on it, with the page's errors
// collected for the test to check.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startBrowserHost, type BrowserHost, type BrowserHostOptions } from '../../electron/browser-host/host.js';
import { cleanupStaleLabs, createLab, labAvailable, type Lab } from '../lab/lab.js';
import type { DaemonRunOptions } from '../daemon-process.js';
import { PROJECT_ROOT } from '../umbrad-process.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { buildRenderer, startUmbraInLab, type UmbraInLab } from './umbra-lab.js';

export const ARTIFACTS = join(PROJECT_ROOT, 'e2e', 'artifacts');

/** Why a UI lab test cannot run here ('' when it can). */
export function uiSkipReason(): string {
  const lab = labAvailable();
  const browser = chromiumAvailable();
  if (!lab.ok) return lab.reason;
  if (!browser.ok) return browser.reason;
  return existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'main.js')) ? '' : 'not built (npm run build)';
}

export interface UiSession {
  lab: Lab;
  umbra: UmbraInLab;
  host: BrowserHost;
  browser: Browser;
  page: Page;
  /** Page errors and console errors, as they came. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** `daemon`: how the helper is started (e.g. extra environment); `host`: more of the browser host's options, once the lab is up. */
export async function startUiSession(
  viewport: { width: number; height: number },
  daemon: DaemonRunOptions = {},
  host?: (lab: Lab) => Partial<BrowserHostOptions>,
): Promise<UiSession> {
  cleanupStaleLabs();
  mkdirSync(ARTIFACTS, { recursive: true });
  const distDir = mkdtempSync(join(tmpdir(), 'umbra-ui-dist-'));
  const s: Partial<UiSession> = { pageErrors: [] };
  const close = async () => {
    await s.browser?.close().catch(() => undefined);
    await s.host?.close().catch(() => undefined);
    await s.umbra?.daemon.stop('SIGTERM').catch(() => s.umbra?.daemon.stop('SIGKILL').catch(() => undefined));
    s.umbra?.daemon.cleanup();
    await s.lab?.destroy();
    rmSync(distDir, { recursive: true, force: true });
  };
  try {
    const [lab] = await Promise.all([createLab({ servers: 3 }), buildRenderer(distDir)]);
    s.lab = lab;
    s.umbra = await startUmbraInLab(lab, daemon);
    s.host = await startBrowserHost({ socketPath: s.umbra.daemon.socket, distDir, host: '127.0.0.1', port: 0, backoffMs: [100, 250, 500, 1000], ...host?.(lab) });
    s.browser = await launchChromium();
    const context = await s.browser.newContext({ viewport, colorScheme: 'light' });
    const page = (s.page = await context.newPage());
    page.on('pageerror', (e) => s.pageErrors!.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') s.pageErrors!.push(`console: ${m.text()}`);
    });
    await page.goto(s.host.url);
    return { ...(s as Omit<UiSession, 'close'>), close };
  } catch (e) {
    await close();
    throw e;
  }
}
