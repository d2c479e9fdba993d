// The committed icons: every name the tray model can ask for exists at every size, each file is a
// valid PNG of its size, the pixels are what assets/make-icons.mjs draws today, and the states
// differ in shape, not only in colour.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APP_SIZES, appIcon, TRAY_SIZES, TRAY_STATES, trayIcon } from '../../assets/make-icons.mjs';
import { appPaths } from './paths.js';
import { decodePng, type Png } from './testing/png.js';
import { TRAY_ICON_NAMES, TRAY_STATES as MODEL_STATES, type TrayIconName } from './tray-model.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const paths = appPaths(ROOT);
const read = (file: string) => decodePng(readFileSync(file));
const withSize = (name: TrayIconName, suffix: string) => paths.trayIcon(name).replace(/\.png$/, `${suffix}.png`);

/** Largest difference of any channel, after weighting colour by alpha. */
function maxDiff(a: Png, b: Png): number {
  let d = 0;
  for (let i = 0; i < a.rgba.length; i += 4) {
    const aa = a.rgba[i + 3]!;
    const ba = b.rgba[i + 3]!;
    d = Math.max(d, Math.abs(aa - ba));
    for (let k = 0; k < 3; k++) d = Math.max(d, Math.abs((a.rgba[i + k]! * aa - b.rgba[i + k]! * ba) / 255));
  }
  return d;
}

describe('tray icons', () => {
  it('exist for every state and tone the tray model names, at every size', () => {
    expect([...TRAY_STATES]).toEqual([...MODEL_STATES]);
    for (const name of TRAY_ICON_NAMES) {
      expect(read(paths.trayIcon(name))).toMatchObject({ width: 22, height: 22 });
      expect(read(withSize(name, '@2x'))).toMatchObject({ width: 44, height: 44 });
      for (const size of TRAY_SIZES) expect(read(withSize(name, `-${size}`)), `${name} ${size}`).toMatchObject({ width: size, height: size });
    }
  });

  it('are what make-icons.mjs draws (run it after changing the drawing)', () => {
    for (const name of TRAY_ICON_NAMES) {
      const [state, tone] = name.split('-') as [string, 'light' | 'dark'];
      for (const size of TRAY_SIZES) {
        expect(maxDiff(read(withSize(name, `-${size}`)), decodePng(trayIcon(state, tone, size))), `${name} ${size}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('differ from state to state in shape (alpha alone), for colour-blind users', () => {
    for (const tone of ['light', 'dark'] as const) {
      for (const size of [16, 22]) {
        const masks = TRAY_STATES.map((s) => decodePng(trayIcon(s, tone, size)).rgba.filter((_, i) => i % 4 === 3));
        for (let i = 0; i < masks.length; i++) {
          for (let j = i + 1; j < masks.length; j++) {
            let differing = 0;
            masks[i]!.forEach((v, k) => {
              if (Math.abs(v - masks[j]![k]!) > 128) differing++;
            });
            expect(differing, `${TRAY_STATES[i]} vs ${TRAY_STATES[j]} at ${size} px`).toBeGreaterThanOrEqual(size / 2);
          }
        }
      }
    }
  });
});

describe('app icon', () => {
  it('exists at 512 and the usual Linux sizes, as drawn', () => {
    expect(read(`${ROOT}assets/icon.png`)).toMatchObject({ width: 512, height: 512 });
    for (const size of APP_SIZES) {
      const file = `${ROOT}assets/icons/${size}x${size}.png`;
      const png = read(file);
      expect(png).toMatchObject({ width: size, height: size });
      if (size <= 256) expect(maxDiff(png, decodePng(appIcon(size))), file).toBeLessThanOrEqual(1);
    }
    expect(read(paths.appIcon)).toMatchObject({ width: 256, height: 256 });
  });
});
