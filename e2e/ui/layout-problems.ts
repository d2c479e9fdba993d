// Runs in the page (page.evaluate): what is wrong with the window's layout and colours, as
// sentences. Only the browser's DOM here: it is serialized into the page, so it may use nothing
// from outside its own body.
/// <reference lib="dom" />

/** What the page says is wrong with its own layout and colours (runs in the page). */
export function layoutProblems(scheme: 'light' | 'dark'): string[] {
  const problems: string[] = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1) problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} > ${vw} px)`);

  const box = (sel: string) => document.querySelector(sel)?.getBoundingClientRect();
  const regions = [
    ['header', box('.app-header')],
    ['connection panel', box('.side')],
    ['map', box('.map-panel')],
    ['server list', box('.server-list')],
  ] as const;
  for (const [name, r] of regions) {
    if (!r || r.width < 10 || r.height < 10) problems.push(`the ${name} is missing or collapsed`);
    else if (r.left < -1 || r.right > vw + 1) problems.push(`the ${name} sticks out of the window (${Math.round(r.left)}–${Math.round(r.right)} of ${vw} px)`);
  }
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const [an, a] = regions[i]!;
      const [bn, b] = regions[j]!;
      if (!a || !b) continue;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 2 && h > 2) problems.push(`the ${an} and the ${bn} overlap (${Math.round(w)}×${Math.round(h)} px)`);
    }
  }

  // Colours: the first opaque background behind an element, blended over white.
  const parse = (c: string): [number, number, number, number] => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1]!.split(/[,\s/]+/).filter(Boolean).map(Number);
    return [p[0]!, p[1]!, p[2]!, p[3] ?? 1];
  };
  const backgroundOf = (el: Element | null): [number, number, number] => {
    const layers: [number, number, number, number][] = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let rgb: [number, number, number] = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) rgb = [r * a + rgb[0] * (1 - a), g * a + rgb[1] * (1 - a), b * a + rgb[2] * (1 - a)];
    return rgb;
  };
  const lum = ([r, g, b]: readonly number[]) => {
    const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
  };
  const contrast = (a: readonly number[], b: readonly number[]) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi! + 0.05) / (lo! + 0.05);
  };

  // The scheme is applied: the window's own background is light or dark to match.
  const windowLum = lum(backgroundOf(document.querySelector('.app-main')));
  if ((windowLum > 0.5) !== (scheme === 'light')) problems.push(`the ${scheme} scheme is not applied (window background luminance ${windowLum.toFixed(2)})`);

  const seen = new Set<Element>();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent?.trim()) continue;
    seen.add(el);
    if (el.closest('svg, [aria-hidden="true"], .visually-hidden')) continue;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (s.visibility === 'hidden' || r.width === 0 || r.height === 0 || Number(s.opacity) < 0.5) continue;
    const label = `"${n.textContent.trim().slice(0, 40)}"`;
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) continue;
    const [r0, g0, b0, a0] = parse(s.color);
    const bg = backgroundOf(el);
    const fg = [r0 * a0 + bg[0] * (1 - a0), g0 * a0 + bg[1] * (1 - a0), b0 * a0 + bg[2] * (1 - a0)];
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const ratio = contrast(fg, bg);
    // Disabled controls are exempt (WCAG 1.4.3); everything else must be readable.
    if (!el.closest('button:disabled, [aria-disabled="true"]') && ratio < (large ? 3 : 4.5)) problems.push(`${label} has contrast ${ratio.toFixed(2)}:1 (needs ${large ? 3 : 4.5}:1)`);
    // Cut-off text: overflowing its box with no ellipsis to show it.
    if ((s.overflowX === 'hidden' || s.overflowX === 'clip') && el.scrollWidth > el.clientWidth + 1 && s.textOverflow !== 'ellipsis') {
      problems.push(`${label} is cut off (${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
  }
  return problems;
}
