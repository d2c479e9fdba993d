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
export const MAX_DECODE_SIDE = 2048;

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
