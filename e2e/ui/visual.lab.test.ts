// A short visual regression check of the main window: three window sizes × light and dark,
// disconnected and connected, on the built renderer with its in-memory fake (no helper needed).
// Pixel baselines would hold only on the machine that drew them (fonts, hinting, Chromium's
// version), so the check asserts what must hold on any machine and what a regression breaks:
// no horizontal scrolling, the panels side by side (or stacked) without overlapping, the
// Connect button on the first screen, no clipped text, every text readable against what is
// behind it (WCAG contrast), and the scheme actually applied. Screenshots go to e2e/artifacts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../umbrad-process.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { layoutProblems } from './layout-problems.js';
import { serveDist, type StaticDist } from './static-dist.js';
import { buildRenderer } from './umbra-lab.js';

const browser_ = chromiumAvailable();
const ARTIFACTS = join(PROJECT_ROOT, 'e2e', 'artifacts');

const SIZES = [
  { width: 1280, height: 800 },
  { width: 1024, height: 640 },
  { width: 760, height: 900 },
] as const;
const SCHEMES = ['light', 'dark'] as const;
const STATES = [
  { name: 'disconnected', query: '?fake', button: 'Connect' },
  { name: 'connected', query: '?fake=connected', button: 'Disconnect' },
] as const;

describe.skipIf(!browser_.ok)(`the main window at three sizes in both schemes${browser_.ok ? '' : ` — skipped: ${browser_.reason}`}`, () => {
  let browser: Browser;
  let dist: StaticDist;
  let distDir: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    distDir = mkdtempSync(join(tmpdir(), 'umbra-visual-dist-'));
    await buildRenderer(distDir);
    dist = await serveDist(distDir);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await dist?.close();
    if (distDir) rmSync(distDir, { recursive: true, force: true });
  });

  for (const size of SIZES) {
    for (const scheme of SCHEMES) {
      it(`${size.width}×${size.height}, ${scheme}`, async () => {
        const context = await browser.newContext({ viewport: size, colorScheme: scheme, reducedMotion: 'reduce' });
        const errors: string[] = [];
        try {
          for (const st of STATES) {
            const page = await context.newPage();
            page.on('pageerror', (e) => errors.push(`${st.name}: ${e.message}`));
            await page.goto(dist.base + st.query);
            const button = page.getByRole('button', { name: st.button, exact: true });
            await button.waitFor({ timeout: 10_000 });
            await page.waitForTimeout(200); // fonts and the map's first layout
            const b = await button.boundingBox();
            expect(b, `${st.name}: the ${st.button} button has a box`).not.toBeNull();
            expect(b!.y + b!.height, `${st.name}: the ${st.button} button is on the first screen`).toBeLessThanOrEqual(size.height);
            expect(await page.evaluate(layoutProblems, scheme), `${st.name} at ${size.width}×${size.height}, ${scheme}`).toEqual([]);
            await page.screenshot({ path: join(ARTIFACTS, `visual-${scheme}-${size.width}x${size.height}-${st.name}.png`) });
            await page.close();
          }
        } finally {
          await context.close();
        }
        expect(errors).toEqual([]);
      });
    }
  }
});
