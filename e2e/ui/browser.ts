// Headless Chromium for the UI tests: Debian's /usr/bin/chromium driven by playwright-core (no
// downloaded browsers), in this machine's own network namespace, talking only to 127.0.0.1.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumAvailable(): { ok: true } | { ok: false; reason: string } {
  return existsSync(CHROMIUM) ? { ok: true } : { ok: false, reason: `no ${CHROMIUM} (apt-get install -y --no-install-recommends chromium)` };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-features=MediaRouter,OptimizationHints',
    ],
  });
}

/** A light-scheme page of `url` whose uncaught errors and console errors land in `errors`. */
export async function openPage(browser: Browser, url: string, errors: string[], viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return page;
}

/** A screenshot in the light and in the dark scheme (at `path(scheme)`), then back to light. */
export async function screenshotsInBothSchemes(page: Page, path: (scheme: 'light' | 'dark') => string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(150); // let the colour transition settle
    await page.screenshot({ path: path(scheme) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}
