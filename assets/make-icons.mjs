#!/usr/bin/env node
// Draws Umbra's icons and writes them as PNG: no image libraries, only node:zlib. Shapes are
// signed distance functions in a unit square (negative inside), so each pixel's coverage comes
// from its distance to the edge and every size is antialiased from the same drawing.
//
//   node assets/make-icons.mjs [--out DIR]      (DIR defaults to this folder)
//
// Tray icons, one per state, told apart by shape as well as colour (for colour-blind users):
//   disconnected  outlined shield            connecting  outlined shield with a dot
//   connected     filled shield, check cut   blocked     filled shield, bar cut (no entry)
//   error         outlined shield with "!"
// each as `-light` (light glyphs, for dark panels) and `-dark` (dark glyphs, for light panels):
//   tray/<state>-<tone>.png (22 px) and @2x (44 px), tray/<state>-<tone>-<N>.png for N in 16 22 24 32 48.
// App icon: icon.png (512) and icons/NxN.png (16 … 512), a shield with a keyhole on a rounded square.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

// ------------------------------------------------------------------ PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** RGBA (straight alpha, rows top to bottom) → PNG bytes. */
export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ------------------------------------------------------------------ shapes (unit square, y down)

const clamp01 = (v) => (v < 0 ? 0 : v > 1 ? 1 : v);

function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = clamp01(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1));
  const x = ax + t * dx - px;
  const y = ay + t * dy - py;
  return Math.hypot(x, y);
}

/** Signed distance to a closed polygon (even-odd inside). */
function polygon(points) {
  return (px, py) => {
    let d = Infinity;
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [ax, ay] = points[j];
      const [bx, by] = points[i];
      d = Math.min(d, segDist(px, py, ax, ay, bx, by));
      if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
    }
    return inside ? -d : d;
  };
}

function cubic(p0, p1, p2, p3, steps) {
  const out = [];
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    out.push([
      u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0],
      u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1],
    ]);
  }
  return out;
}

/** The shield's outline in the box (x0, y0)–(x1, y1). */
function shieldPoints(x0, y0, x1, y1) {
  const w = x1 - x0;
  const h = y1 - y0;
  const P = (u, v) => [x0 + u * w, y0 + v * h];
  // Right half, top centre → shoulder → down the side → curve to the point; then mirrored.
  const right = [P(0.5, 0), ...cubic(P(0.5, 0), P(0.68, 0.08), P(0.86, 0.1), P(1, 0.12), 8), P(1, 0.46),
    ...cubic(P(1, 0.46), P(1, 0.74), P(0.78, 0.9), P(0.5, 1), 16)];
  const left = right.slice(1, -1).reverse().map(([x, y]) => [2 * (x0 + w / 2) - x, y]);
  return [...right, ...left];
}

const circle = (cx, cy, r) => (px, py) => Math.hypot(px - cx, py - cy) - r;
/** A stroke of width w along a polyline (round caps and joins). */
const stroke = (pts, w) => (px, py) => {
  let d = Infinity;
  for (let i = 1; i < pts.length; i++) d = Math.min(d, segDist(px, py, ...pts[i - 1], ...pts[i]));
  return d - w / 2;
};
function roundedRect(x0, y0, x1, y1, r) {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = (x1 - x0) / 2 - r;
  const hy = (y1 - y0) / 2 - r;
  return (px, py) => {
    const qx = Math.abs(px - cx) - hx;
    const qy = Math.abs(py - cy) - hy;
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
  };
}
const union = (...fs) => (x, y) => Math.min(...fs.map((f) => f(x, y)));
const minus = (a, b) => (x, y) => Math.max(a(x, y), -b(x, y));
/** The band of width w just inside a shape's edge. */
const inner = (f, w) => (x, y) => {
  const d = f(x, y);
  return Math.max(d, -d - w);
};

// ------------------------------------------------------------------ raster

/** Coverage of each pixel: 1 inside, 0 outside, linear across one pixel at the edge. */
function coverage(size, sdf) {
  const out = new Float32Array(size * size);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) out[j * size + i] = clamp01(0.5 - sdf((i + 0.5) / size, (j + 0.5) / size) * size);
  }
  return out;
}

const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];

function solid(size, sdf, color) {
  const cov = coverage(size, sdf);
  const [r, g, b] = hex(color);
  const rgba = new Uint8Array(size * size * 4);
  cov.forEach((a, k) => {
    if (a <= 0) return;
    rgba.set([r, g, b, Math.round(a * 255)], k * 4);
  });
  return rgba;
}

// ------------------------------------------------------------------ tray icons

export const TRAY_STATES = ['disconnected', 'connecting', 'connected', 'blocked', 'error'];
export const TRAY_SIZES = [16, 22, 24, 32, 48];

/** Glyph colours: `light` for dark panels, `dark` for light panels. */
const PALETTE = {
  light: { disconnected: '#e8eaed', connecting: '#7cb7ff', connected: '#4ade80', blocked: '#f87171', error: '#fbbf24' },
  dark: { disconnected: '#3c4043', connecting: '#1d5fd1', connected: '#15803d', blocked: '#b91c1c', error: '#a15c00' },
};

function trayShape(state, size) {
  const px = 1 / size;
  const shield = polygon(shieldPoints(0.13, 0.06, 0.87, 0.95));
  // Lines at least ~1.6 px wide, so they hold at 16 px.
  const line = Math.max(1.7 * px, 0.095);
  switch (state) {
    case 'disconnected':
      return inner(shield, line);
    case 'connecting':
      return union(inner(shield, line), circle(0.5, 0.47, Math.max(0.13, 2.2 * px)));
    case 'connected':
      return minus(shield, stroke([[0.31, 0.48], [0.45, 0.62], [0.7, 0.35]], Math.max(0.12, 2 * px)));
    case 'blocked':
      return minus(shield, roundedRect(0.27, 0.42, 0.73, 0.54, Math.max(0.02, 0.5 * px)));
    case 'error':
      return union(inner(shield, line), stroke([[0.5, 0.27], [0.5, 0.52]], Math.max(0.11, 1.8 * px)), circle(0.5, 0.68, Math.max(0.065, 1.1 * px)));
    default:
      throw new Error(`no tray state ${state}`);
  }
}

export function trayIcon(state, tone, size) {
  return encodePng(size, size, solid(size, trayShape(state, size), PALETTE[tone][state]));
}

// ------------------------------------------------------------------ app icon

export const APP_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

export function appIcon(size) {
  const bg = roundedRect(0.04, 0.04, 0.96, 0.96, 0.2);
  const shield = polygon(shieldPoints(0.22, 0.16, 0.78, 0.86));
  const keyhole = union(circle(0.5, 0.43, 0.085), polygon([[0.465, 0.46], [0.535, 0.46], [0.565, 0.66], [0.435, 0.66]]));
  const glyph = size <= 24 ? shield : minus(shield, keyhole);
  const covBg = coverage(size, bg);
  const covFg = coverage(size, glyph);
  const top = hex('#1f4e79');
  const bottom = hex('#0b2540');
  const fg = hex('#f4f7fb');
  const rgba = new Uint8Array(size * size * 4);
  for (let j = 0; j < size; j++) {
    const t = (j + 0.5) / size;
    const base = top.map((c, k) => c + (bottom[k] - c) * t);
    for (let i = 0; i < size; i++) {
      const k = j * size + i;
      const a = covBg[k];
      if (a <= 0) continue;
      const f = Math.min(covFg[k], a);
      // Foreground over background, inside the background's coverage.
      const rgb = base.map((c, n) => c * (1 - f / a) + fg[n] * (f / a));
      rgba.set([...rgb.map(Math.round), Math.round(a * 255)], k * 4);
    }
  }
  return encodePng(size, size, rgba);
}

// ------------------------------------------------------------------ main

export function writeAll(outDir) {
  const written = [];
  const put = (rel, bytes) => {
    const file = path.join(outDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    written.push(rel);
  };
  for (const state of TRAY_STATES) {
    for (const tone of ['light', 'dark']) {
      const name = `${state}-${tone}`;
      for (const size of TRAY_SIZES) put(`tray/${name}-${size}.png`, trayIcon(state, tone, size));
      put(`tray/${name}.png`, trayIcon(state, tone, 22));
      put(`tray/${name}@2x.png`, trayIcon(state, tone, 44));
    }
  }
  for (const size of APP_SIZES) {
    const png = appIcon(size);
    put(`icons/${size}x${size}.png`, png);
    if (size === 512) put('icon.png', png);
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : path.dirname(fileURLToPath(import.meta.url));
  const files = writeAll(out);
  console.log(`wrote ${files.length} icons to ${out}`);
}
