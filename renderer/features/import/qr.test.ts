// The QR decode core on real QR codes: `qrcode` draws a config's code module by module into RGBA
// pixels (jsdom has no canvas), and the page's decoder must read the config back.
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { readImportFile } from './import-file.js';
import { decodeQr, imageSize, looksLikeWireGuardConfig, type Pixels } from './qr.js';

const CONF = `[Interface]
PrivateKey = ${'B'.repeat(43)}=
Address = 100.64.0.2/32
DNS = 198.51.100.53

[Peer]
PublicKey = ${'C'.repeat(43)}=
Endpoint = 198.51.100.7:51820
AllowedIPs = 0.0.0.0/0, ::/0
`;

/** The QR code of `text` as pixels: `scale` px per module, a 4-module quiet zone; dark-on-light unless `inverted`. */
function qrPixels(text: string, { scale = 4, inverted = false } = {}): Pixels {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const side = (modules.size + 8) * scale;
  const data = new Uint8ClampedArray(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const r = Math.floor(y / scale) - 4;
      const c = Math.floor(x / scale) - 4;
      const dark = r >= 0 && c >= 0 && r < modules.size && c < modules.size && modules.get(r, c) === 1;
      const v = dark !== inverted ? 0 : 255;
      data.set([v, v, v, 255], (y * side + x) * 4);
    }
  }
  return { data, width: side, height: side };
}

const blank = (side: number): Pixels => ({ data: new Uint8ClampedArray(side * side * 4).fill(255), width: side, height: side });

describe('QR codes of configs', () => {
  it('decodes a config’s QR code back to the config’s text', () => {
    expect(decodeQr(qrPixels(CONF))).toBe(CONF);
  });

  it('reads a light-on-dark code too (a dark-mode screenshot)', () => {
    expect(decodeQr(qrPixels(CONF, { inverted: true }))).toBe(CONF);
  });

  it('finds no code in a blank picture', () => {
    expect(decodeQr(blank(200))).toBeNull();
  });

  it('tells a config from other text', () => {
    expect(looksLikeWireGuardConfig(CONF)).toBe(true);
    expect(looksLikeWireGuardConfig('https://vpn.example/get-the-app')).toBe(false);
    expect(looksLikeWireGuardConfig('[Interface]\nAddress = 100.64.0.2/32\n')).toBe(false);
  });
});

describe('an image file given to the import', () => {
  const png = (name: string, width = 120, height = 120) => new File([pngHeader(width, height)], name, { type: 'image/png' });

  it('yields the config in its QR code, named after the file', async () => {
    await expect(readImportFile(png('provider-se.png'), { pixels: async () => qrPixels(CONF) })).resolves.toEqual({ text: CONF, name: 'provider-se' });
  });

  it('a QR code of something else is refused in words a person can act on', async () => {
    await expect(readImportFile(png('app.png'), { pixels: async () => qrPixels('https://vpn.example/get-the-app') })).rejects.toThrow('this QR code does not hold a WireGuard config');
  });

  it('a picture without a code, or one that is no picture, says so', async () => {
    await expect(readImportFile(png('cat.png'), { pixels: async () => blank(120) })).rejects.toThrow(/no QR code was found in “cat.png”/);
    await expect(
      readImportFile(png('broken.png'), {
        pixels: async () => {
          throw new Error('decode failed');
        },
      }),
    ).rejects.toThrow(/could not be read as a picture: use a PNG or JPEG/);
  });

  it('a picture too large to decode is refused from its header, before anything decodes it', async () => {
    let decoded = false;
    const pixels = async () => {
      decoded = true;
      return blank(120);
    };
    await expect(readImportFile(png('bomb.png', 20_000, 20_000), { pixels })).rejects.toThrow(/is 20000×20000 pixels; a QR code picture is at most 16 megapixels/);
    await expect(readImportFile(new File([new Uint8Array([1, 2, 3, 4])], 'fake.png', { type: 'image/png' }), { pixels })).rejects.toThrow(/could not be read as a picture/);
    expect(decoded).toBe(false);
  });
});

/** The first 24 bytes of a PNG: the signature and IHDR's length, type, width and height. */
function pngHeader(width: number, height: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(b.buffer).setUint32(16, width);
  new DataView(b.buffer).setUint32(20, height);
  return b;
}

describe('imageSize: what a picture says of its size before it is decoded', () => {
  it('reads a PNG\'s IHDR and a JPEG\'s frame header (past an EXIF segment), and nothing else', () => {
    expect(imageSize(pngHeader(640, 480))).toEqual({ width: 640, height: 480 });
    // SOI, an APP1 segment of 6 bytes, then SOF0: length 17, precision 8, height 300, width 400.
    const jpeg = Uint8Array.of(0xff, 0xd8, 0xff, 0xe1, 0x00, 0x06, 1, 2, 3, 4, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0x90, 0x03);
    expect(imageSize(jpeg)).toEqual({ width: 400, height: 300 });
    expect(imageSize(Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2, 0, 0, 0, 0))).toBeUndefined();
    expect(imageSize(new TextEncoder().encode('GIF89a....'))).toBeUndefined();
  });
});
