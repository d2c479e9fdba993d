// Headless Chromium for the UI tests: Debian's /usr/bin/chromium driven by playwright-core (no
// downloaded browsers), in this machine's own network namespace, talking only to 127.0.0.1.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
