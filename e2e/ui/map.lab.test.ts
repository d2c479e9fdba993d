// The server picker in Chromium against the real helper (as app.lab.test.ts runs it: the built
// renderer served by the browser-mode host, `umbrad serve` in the lab's client namespace, three
// wireguard-go "cities"): markers found by their city names, hit targets of at least 32 px, one
// search filtering the list and the map, the map flying to the connected city, and the list filling
// the window at 1280×800 and 1024×640. Screenshots: e2e/artifacts/map-*.png.
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CITIES, markerName } from './umbra-lab.js';
import { ARTIFACTS, startUiSession, uiSkipReason, type UiSession } from './ui-session.js';

const why = uiSkipReason();
const SIZES = [
  { width: 1280, height: 800 },
  { width: 1024, height: 640 },
] as const;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

describe.skipIf(why !== '')(`the server picker in Chromium against the real helper${why ? ` — skipped: ${why}` : ''}`, () => {
  let session: UiSession;
  let page: Page;

  const marker = (i: number) => page.getByRole('button', { name: markerName(CITIES[i]!), exact: true });
  const markers = () => page.locator('svg.world-map g.marker[role="button"]');
  /** A server's row in the list (its name, then any state badge). */
  const row = (i: number) => page.locator('.server-list').getByRole('button', { name: new RegExp(`^${CITIES[i]!.name}\\b`) });
  const search = () => page.getByRole('searchbox', { name: 'Search servers' });
  const state = () => page.locator('.state-line').textContent({ timeout: 500 }).catch(() => null);
  const box = async (l: Locator): Promise<Box> => {
    const b = await l.boundingBox();
    if (!b) throw new Error('not on the page');
    return b;
  };
  const centre = (b: Box) => [b.x + b.width / 2, b.y + b.height / 2] as const;
  /** How far a marker's centre is from the map's, in CSS pixels. */
  const offCentre = async (i: number) => {
    const [mx, my] = centre(await box(marker(i)));
    const [cx, cy] = centre(await box(page.locator('svg.world-map')));
    return Math.hypot(mx - cx, my - cy);
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `map-${name}.png`) });

  beforeAll(async () => {
    session = await startUiSession(SIZES[0]);
    page = session.page;
  });

  afterAll(() => session?.close());

  it('shows a marker per city, named and labelled by its city, each at least 32 px to hit', async () => {
    await expect.poll(state, { timeout: 10_000 }).toBe('Disconnected');
    expect(await markers().count()).toBe(CITIES.length);
    const centres = [];
    for (let i = 0; i < CITIES.length; i++) {
      centres.push(centre(await box(marker(i).locator('.marker-dot'))));
      // Three markers are few: every city has its label on the map.
      expect(await page.locator('.map-label', { hasText: markerName(CITIES[i]!) }).isVisible()).toBe(true);
    }
    for (let i = 0; i < CITIES.length; i++) {
      const [x, y] = centres[i]!;
      // The dot itself is this city's target, never a neighbour's (targets are cut where they would overlap)…
      // (a trial click: Playwright's own check that the point hits this element, nothing clicked).
      const b = await box(marker(i));
      await marker(i).click({ trial: true, position: { x: x - b.x, y: y - b.y }, timeout: 2000 });
      // …and 32 px or more across, unless a neighbour is that close.
      const nearest = Math.min(...centres.filter((_, j) => j !== i).map(([cx, cy]) => Math.hypot(cx - x, cy - y)));
      if (nearest >= 34) expect(Math.min(b.width, b.height)).toBeGreaterThanOrEqual(32);
    }
    // Zoomed in, with room around each, every target is 32 px or more; all the way in, still their size on screen.
    for (let n = 0; n < 8; n++) {
      await page.getByRole('button', { name: 'Zoom in' }).click();
      if (n !== 1 && n !== 7) continue;
      for (let i = 0; i < CITIES.length; i++) {
        if (!(await marker(i).isVisible())) continue;
        const b = await box(marker(i));
        expect(b.width).toBeGreaterThanOrEqual(32);
        expect(b.height).toBeGreaterThanOrEqual(32);
        expect(b.width).toBeLessThan(80);
      }
    }
    await page.getByRole('button', { name: 'Reset map view' }).click();
    // Tab reaches a marker, which says which city it is.
    await marker(0).focus();
    expect(await marker(0).evaluate((el) => el.ownerDocument.activeElement === el)).toBe(true);
    await shot('markers');
  });

  it('one search filters the list and the map, and says when nothing matches', async () => {
    await search().fill(CITIES[1]!.city.slice(0, 5).toLowerCase());
    await expect.poll(() => markers().count(), { timeout: 5000 }).toBe(1);
    expect(await marker(1).count()).toBe(1);
    expect(await row(1).count()).toBe(1);
    expect(await row(0).count()).toBe(0);
    expect(await row(2).count()).toBe(0);
    await shot('search');
    await search().fill('atlantis');
    await expect.poll(() => markers().count(), { timeout: 5000 }).toBe(0);
    expect(await page.getByText('No server matches “atlantis”.').isVisible()).toBe(true);
    expect(await page.getByRole('status').filter({ hasText: 'No location matches “atlantis”' }).isVisible()).toBe(true);
    await search().fill('');
    await expect.poll(() => markers().count(), { timeout: 5000 }).toBe(CITIES.length);
  });

  it('the list fills the window under the map and shows all three servers, at 1280×800 and 1024×640', async () => {
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.waitForTimeout(100); // a layout pass
      const list = await box(page.locator('.server-list'));
      const map = await box(page.locator('.map-panel'));
      expect(list.y).toBeGreaterThan(map.y + map.height);
      // Down to the window's padding (16 px) at the bottom: no empty space under it.
      expect(size.height - (list.y + list.height)).toBeLessThanOrEqual(20);
      const body = await box(page.locator('.server-list-body'));
      for (let i = 0; i < CITIES.length; i++) {
        const r = await box(row(i));
        expect(r.y).toBeGreaterThanOrEqual(body.y - 0.5);
        expect(r.y + r.height).toBeLessThanOrEqual(body.y + body.height + 0.5);
      }
      // Each country in one row: its heading names the only city and the count.
      expect(await page.locator('.server-list h3', { hasText: CITIES[0]!.country }).textContent()).toBe(`${CITIES[0]!.country} · ${CITIES[0]!.city}1 server`);
      await shot(`list-${size.width}x${size.height}`);
    }
    await page.setViewportSize(SIZES[0]);
  });

  it('connecting flies the map to the connected city, drawn distinctly', async () => {
    const ny = 2;
    // Picked on the map itself: the view stays where it is, the city off-centre.
    await marker(ny).click();
    const before = await offCentre(ny);
    expect(before).toBeGreaterThan(60);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect.poll(state, { timeout: 20_000 }).toBe('Connected');
    await expect.poll(() => offCentre(ny), { timeout: 5000 }).toBeLessThan(12);
    expect(await marker(ny).getAttribute('class')).toBe('marker selected connected');
    expect(await page.locator('.map-label.connected').textContent()).toBe(markerName(CITIES[ny]!));
    await shot('connected-1280x800');
    // The view is in map units: a smaller window keeps the city at the centre.
    await page.setViewportSize(SIZES[1]);
    await expect.poll(() => offCentre(ny), { timeout: 5000 }).toBeLessThan(12);
    await shot('connected-1024x640');
    await page.setViewportSize(SIZES[0]);
  });

  it('a selection made in the list flies the map to that city', async () => {
    await row(0).click();
    await expect.poll(() => offCentre(0), { timeout: 5000 }).toBeLessThan(12);
    expect(await marker(0).getAttribute('aria-pressed')).toBe('true');
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await expect.poll(state, { timeout: 15_000 }).toBe('Disconnected');
    expect(session.pageErrors).toEqual([]);
  });
});
