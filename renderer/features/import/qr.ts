// A WireGuard config from a QR code image, as providers hand them out (the same codes the
// WireGuard phone apps scan). The decode core takes pixels; the I/O edge draws the image first.
// jsqr is CommonJS: its module is the decode function, with itself as `.default` (what the types name).
import jsqr from 'jsqr';

/** RGBA pixels, row by row: an ImageData or anything shaped like one. */
export interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** Larger pictures are scaled down to this many pixels on their longest side before decoding. */
const MAX_DECODE_SIDE = 2048;

/** The text of the QR code in `image`, or null when none is found. */
export function decodeQr(image: Pixels): string | null {
  // A code on a dark background (a dark-mode screenshot) reads too.
  const code = jsqr.default(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
  return code ? code.data : null;
}

/** Whether `text` is shaped like a wg-quick config (the helper still validates every line). */
export function looksLikeWireGuardConfig(text: string): boolean {
  return /^\s*\[interface\]\s*$/im.test(text) && /^\s*privatekey\s*=/im.test(text);
}

/** Pixels a picture may have before it is decoded: a small file can hold a huge image (a decompression bomb). */
export const MAX_IMAGE_PIXELS = 16_000_000;
/** How far into a JPEG its size is looked for (EXIF and thumbnails come first). */
export const IMAGE_HEADER_BYTES = 256 * 1024;

/** The width and height a PNG or JPEG says it has, from its first bytes; undefined when it is neither (or says nothing). */
export function imageSize(head: Uint8Array): { width: number; height: number } | undefined {
  const be16 = (i: number) => (head[i]! << 8) | head[i + 1]!;
  const be32 = (i: number) => ((head[i]! << 24) >>> 0) + (head[i + 1]! << 16) + (head[i + 2]! << 8) + head[i + 3]!;
  // PNG: the signature, then IHDR with the width and height.
  if (head.length >= 24 && be32(0) === 0x89504e47 && be32(4) === 0x0d0a1a0a && be32(12) === 0x49484452) return { width: be32(16), height: be32(20) };
  // JPEG: segments after SOI until a start-of-frame (SOF0–SOF15 but DHT, JPG and DAC).
  if (head.length < 4 || head[0] !== 0xff || head[1] !== 0xd8) return undefined;
  for (let i = 2; i + 9 <= head.length; ) {
    if (head[i] !== 0xff) return undefined;
    const marker = head[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { width: be16(i + 7), height: be16(i + 5) };
    if (marker === 0xd9 || marker === 0xda) return undefined; // end, or image data before any frame header
    i += 2 + be16(i + 2);
  }
  return undefined;
}

/** The pixels of an image file (PNG, JPEG, …), scaled to at most MAX_DECODE_SIDE; rejects when it is no image. */
export async function imagePixels(file: Blob): Promise<Pixels> {
  const bitmap = await createImageBitmap(file);
  try {
    const scale = Math.min(1, MAX_DECODE_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
    const ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
    if (!ctx) throw new Error('this window cannot draw images');
    // Transparent pixels read as black: paint white under the picture first (a PNG code on a transparent background).
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height);
  } finally {
    bitmap.close();
  }
}
