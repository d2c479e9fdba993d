// Proves a CSS-only change draws the same pixels: shoots a built renderer (its in-memory fake) in
// headless Chromium at two sizes × light/dark across the main states and views, and dumps every
// element's computed style; `compare` then diffs two such runs pixel by pixel and style by style.
// A development tool, not part of the bundle; nothing leaves loopback. Usage:
//   node renderer/dev/css-identical.mjs shoot <distDir> <outDir>
//   node renderer/dev/css-identical.mjs compare <outDirBefore> <outDirAfter>
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import { serveDist } from './serve-dist.mjs';

const SIZES = [
  { width: 1280, height: 800 },
  { width: 760, height: 900 },
];
const SCHEMES = ['light', 'dark'];
// name, query, then what to do on the page: click a button (by its name), wait for a button,
// heading, switch or a CSS selector to show.
const SHOTS = [
  ['disconnected', '?fake', [['wait', 'button', 'Connect']]],
  ['connected', '?fake=connected', [['wait', 'button', 'Disconnect']]],
  ['error', '?fake=error', [['click-css', '.server-select'], ['click', 'Connect'], ['wait', 'css', '.connection.state-error']]],
  ['reconnecting', '?fake=reconnecting', [['wait', 'css', '.tunnel-error.reconnecting']]],
  ['down', '?fake=down', [['wait', 'heading', 'The Umbra helper is not running']]],
  ['settings', '?fake', [['click', 'Settings'], ['wait', 'switch', 'Allow LAN']]],
  ['leaks', '?fake', [['click', 'Leak check'], ['wait', 'heading', 'Leak check']]],
  ['leaks-run', '?fake=connected', [['click', 'Leak check'], ['click', 'Run leak check'], ['wait', 'css', '.verdict-word'], ['wait', 'css', '.run-leak-check:enabled'], ['click-css', '.evidence-toggle']]],
];

/** The element a step names: ['click', buttonName], ['click-css', selector], ['wait', role, name] or ['wait', 'css', selector]. */
function locate(page, [what, a, b]) {
  if (what === 'click') return page.getByRole('button', { name: a, exact: true });
  if (what === 'click-css') return page.locator(a).first();
  return a === 'css' ? page.locator(b).first() : page.getByRole(a, { name: b, exact: true }).first();
}

/** Runs the held clock in small steps (real waits between, for module loads) until `locator` shows
 *  (and, for a click, until it takes one). */
async function until(page, locator, clickable = false) {
  for (let i = 0; i < 200; i++) {
    if ((await locator.isVisible()) && (!clickable || ((await locator.isEnabled()) && (await locator.getAttribute('aria-disabled')) !== 'true'))) return;
    await page.clock.runFor(50);
    await page.waitForTimeout(20);
  }
  throw new Error(`never showed: ${locator}`);
}

async function shoot(distDir, outDir) {
  mkdirSync(outDir, { recursive: true });
  const server = await serveDist(distDir);
  const { base } = server;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    for (const size of SIZES) {
      for (const scheme of SCHEMES) {
        for (const [name, query, steps] of SHOTS) {
          const context = await browser.newContext({ viewport: size, colorScheme: scheme, reducedMotion: 'reduce' });
          await context.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
          const page = await context.newPage();
          // The fake's figures move with time and Math.random: both held still, timers run by hand.
          await page.addInitScript(() => {
            Math.random = () => 0.5;
          });
          await page.clock.install({ time: new Date('2026-01-01T12:00:00Z') });
          await page.clock.pauseAt(new Date('2026-01-01T12:00:01Z'));
          await page.goto(base + query);
          for (const step of steps) {
            const click = step[0].startsWith('click');
            const target = locate(page, step);
            await until(page, target, click);
            if (click) await target.click();
          }
          await page.clock.runFor(2000);
          await page.mouse.move(0, 0);
          await page.evaluate(() => document.activeElement?.blur?.());
          await page.waitForTimeout(300);
          const id = `${name}-${scheme}-${size.width}x${size.height}`;
          await page.screenshot({ path: join(outDir, `${id}.png`) });
          const styles = await page.evaluate(() =>
            [...document.querySelectorAll('*')].map((el, i) => {
              const cs = getComputedStyle(el);
              const props = [];
              for (let j = 0; j < cs.length; j++) props.push(`${cs[j]}:${cs.getPropertyValue(cs[j])}`);
              // Custom properties come in no fixed order: sorted, so two runs compare line by line.
              return `${i} ${el.tagName} .${el.getAttribute('class') ?? ''} ${props.sort().join(';')}`;
            }),
          );
          writeFileSync(join(outDir, `${id}.styles.txt`), styles.join('\n'));
          await context.close();
          console.log(`shot ${id}`);
        }
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

function compare(a, b) {
  let bad = 0;
  const files = readdirSync(a).filter((f) => f.endsWith('.png') || f.endsWith('.styles.txt'));
  for (const f of files) {
    if (f.endsWith('.png')) {
      const pa = PNG.sync.read(readFileSync(join(a, f)));
      const pb = PNG.sync.read(readFileSync(join(b, f)));
      if (pa.width !== pb.width || pa.height !== pb.height) {
        console.log(`DIFF ${f}: size ${pa.width}×${pa.height} vs ${pb.width}×${pb.height}`);
        bad++;
        continue;
      }
      let n = 0;
      for (let i = 0; i < pa.data.length; i++) if (pa.data[i] !== pb.data[i]) n++;
      console.log(`${n ? 'DIFF' : 'same'} ${f}${n ? `: ${n} channel bytes differ` : ''}`);
      if (n) bad++;
    } else {
      const la = readFileSync(join(a, f), 'utf8').split('\n');
      const lb = readFileSync(join(b, f), 'utf8').split('\n');
      const diffs = [];
      for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) diffs.push(i);
      console.log(`${diffs.length ? 'DIFF' : 'same'} ${f} (${la.length} elements)${diffs.length ? `: elements ${diffs.slice(0, 10).join(', ')}` : ''}`);
      for (const i of diffs.slice(0, 3)) {
        const pa = new Map((la[i] ?? '').split(';').map((p) => [p.split(':')[0], p]));
        const changed = (lb[i] ?? '').split(';').filter((p) => pa.get(p.split(':')[0]) !== p);
        console.log(`   ${(la[i] ?? '').slice(0, 60)} … ${changed.slice(0, 5).join(' | ')}`);
      }
      if (diffs.length) bad++;
    }
  }
  console.log(bad ? `${bad} of ${files.length} differ` : `all ${files.length} identical`);
  process.exitCode = bad ? 1 : 0;
}

const [cmd, x, y] = process.argv.slice(2);
if (cmd === 'shoot' && x && y) await shoot(x, y);
else if (cmd === 'compare' && x && y) compare(x, y);
else {
  console.error('usage: css-identical.mjs shoot <distDir> <outDir> | compare <outDirA> <outDirB>');
  process.exitCode = 2;
}
