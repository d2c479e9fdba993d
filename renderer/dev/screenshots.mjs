// Looks at the built renderer (renderer/dist) in headless Chromium with the in-memory fake:
// serves dist on 127.0.0.1 (a random port), takes screenshots in light and dark, disconnected and
// connected, and checks a few things only a real browser shows (CSP violations, console errors,
// Tab reaching the map markers). A development tool, not part of the bundle; nothing leaves
// loopback. Usage: node renderer/dev/screenshots.mjs [outDir] (default e2e/artifacts)
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { serveDist } from './serve-dist.mjs';

const dist = resolve(import.meta.dirname, '../dist');
const out = resolve(process.argv[2] ?? join(import.meta.dirname, '../../e2e/artifacts'));
const server = await serveDist(dist);
const { base } = server;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
const checks = [];

async function page(colorScheme, query, width = 1280, height = 820) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, reducedMotion: 'reduce' });
  // Anything not on our loopback origin is refused (and reported).
  await context.route('**/*', (route) => {
    if (route.request().url().startsWith(base)) return route.continue();
    problems.push(`blocked a request to ${route.request().url()}`);
    return route.abort();
  });
  const p = await context.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${colorScheme} ${query}: console ${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`${colorScheme} ${query}: page error: ${e.message}`));
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  await p.goto(base + query);
  return p;
}

for (const scheme of ['light', 'dark']) {
  // Disconnected, with a location hovered.
  let p = await page(scheme, '?fake');
  await p.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  const madrid = p.getByRole('button', { name: 'Madrid, Spain' });
  await madrid.click();
  await p.mouse.move(0, 0);
  await madrid.hover();
  await p.screenshot({ path: join(out, `ui-${scheme}-disconnected.png`) });

  // Connect with one click, watch the helper's states.
  await p.getByRole('button', { name: 'Connect', exact: true }).click();
  await p.locator('.state-word', { hasText: /^Connected$/ }).waitFor({ timeout: 5000 });
  checks.push(`${scheme}: select Madrid → Connect → "${await p.locator('.place-name').textContent()}"`);
  await p.context().close();

  // Connected (kill switch on, blocking), zoomed in on Europe.
  p = await page(scheme, '?fake=connected');
  await p.getByRole('button', { name: 'Disconnect', exact: true }).waitFor();
  await p.mouse.move(5, 5);
  await p.screenshot({ path: join(out, `ui-${scheme}-connected.png`) });
  // Zoomed in around Stockholm (wheel at the marker), Madrid selected, Stockholm hovered; from
  // the whole world (the map flew to Stockholm when the page found the tunnel up).
  const sto = p.getByRole('button', { name: 'Stockholm, Sweden' });
  await p.getByRole('button', { name: 'Reset map view' }).click();
  await p.getByRole('button', { name: 'Madrid, Spain' }).click();
  const dot = await sto.locator('.marker-dot').boundingBox();
  await p.mouse.move(dot.x + dot.width / 2, dot.y + dot.height / 2);
  for (let i = 0; i < 3; i++) {
    await p.mouse.wheel(0, -150);
    await p.waitForTimeout(60);
  }
  await p.waitForTimeout(300);
  const after = await sto.locator('.marker-dot').boundingBox();
  checks.push(`${scheme}: wheel zoom keeps the point under the pointer (moved ${Math.hypot(after.x - dot.x, after.y - dot.y).toFixed(1)} px), marker size ${dot.width.toFixed(1)} → ${after.width.toFixed(1)} px`);
  await p.screenshot({ path: join(out, `ui-${scheme}-zoomed.png`) });
  await p.context().close();

  // Settings, error state, and the helper-down view.
  p = await page(scheme, '?fake');
  await p.getByRole('button', { name: 'Settings' }).click();
  await p.getByRole('switch', { name: 'Allow LAN' }).waitFor();
  await p.screenshot({ path: join(out, `ui-${scheme}-settings.png`) });
  await p.context().close();

  p = await page(scheme, '?fake=error');
  await p.getByRole('switch', { name: 'Kill switch' }).click();
  await p.getByText('Blocks traffic outside the tunnel whenever you connect').waitFor();
  await p.getByRole('button', { name: 'Connect', exact: true }).click();
  await p.locator('.state-word', { hasText: /^Error$/ }).waitFor({ timeout: 5000 });
  await p.screenshot({ path: join(out, `ui-${scheme}-error.png`) });
  await p.context().close();

  p = await page(scheme, '?fake=down');
  await p.getByRole('heading', { name: 'The Umbra helper is not running' }).waitFor();
  await p.screenshot({ path: join(out, `ui-${scheme}-helper-down.png`) });
  await p.context().close();
}

// Keyboard: Tab from the top reaches a map marker; Enter selects it.
{
  const p = await page('light', '?fake');
  await p.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  let label = null;
  for (let i = 0; i < 40 && !label; i++) {
    await p.keyboard.press('Tab');
    label = await p.evaluate(() => (document.activeElement?.classList.contains('marker') ? document.activeElement.getAttribute('aria-label') : null));
  }
  if (!label) problems.push('Tab never reached a map marker');
  else {
    await p.keyboard.press('ArrowRight');
    const next = await p.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    await p.keyboard.press('Enter');
    const pressed = await p.evaluate(() => document.activeElement?.getAttribute('aria-pressed'));
    const place = await p.locator('.place-name').textContent();
    checks.push(`keyboard: Tab reached "${label}", ArrowRight → "${next}", Enter → aria-pressed=${pressed}, panel shows "${place}"`);
    const ring = await p.evaluate(() => getComputedStyle(document.activeElement.querySelector('.marker-hit')).stroke);
    checks.push(`keyboard: the focused marker has a focus ring (stroke ${ring})`);
    if (ring === 'none') problems.push('the focused marker shows no focus ring');
    await p.screenshot({ path: join(out, 'ui-light-keyboard.png') });
  }
  await p.context().close();
}

// Narrow window.
{
  const p = await page('dark', '?fake=connected', 760, 1000);
  await p.getByRole('button', { name: 'Disconnect', exact: true }).waitFor();
  await p.screenshot({ path: join(out, 'ui-dark-narrow.png') });
  await p.context().close();
}

// Many markers stay smooth: time a burst of wheel zooms and drags with 300 locations.
{
  const p = await page('light', '?fake=many');
  await p.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  const box = await p.locator('svg.world-map').boundingBox();
  const t0 = Date.now();
  await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 20; i++) await p.mouse.wheel(0, i < 10 ? -120 : 120);
  await p.mouse.down();
  for (let i = 0; i < 30; i++) await p.mouse.move(box.x + box.width / 2 + i * 8, box.y + box.height / 2 + i * 3);
  await p.mouse.up();
  const frames = await p.evaluate(
    () =>
      new Promise((resolve) => {
        // Frame times while the view moves (zoom in and out by buttons, 40 times).
        const times = [];
        let last = performance.now();
        let n = 0;
        const zoomIn = document.querySelector('[aria-label="Zoom in"]');
        const zoomOut = document.querySelector('[aria-label="Zoom out"]');
        const step = (t) => {
          times.push(t - last);
          last = t;
          (n % 2 ? zoomOut : zoomIn).click();
          if (++n < 40) requestAnimationFrame(step);
          else resolve(times.sort((a, b) => a - b)[Math.floor(times.length * 0.9)]);
        };
        requestAnimationFrame(step);
      }),
  );
  checks.push(`pan/zoom: 20 wheel steps + 30 drag moves in ${Date.now() - t0} ms with ${await p.locator('.marker').count()} markers; 90th-percentile frame while zooming ${frames.toFixed(1)} ms`);
  await p.screenshot({ path: join(out, 'ui-light-300-markers.png') });
  await p.context().close();
}

await browser.close();
await server.close();
for (const c of checks) console.log(`ok   ${c}`);
for (const pr of problems) console.log(`FAIL ${pr}`);
console.log(`screenshots in ${out}`);
process.exitCode = problems.length > 0 ? 1 : 0;
