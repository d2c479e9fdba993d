// The QR decode core on real QR codes: `qrcode` draws a config's code module by module into RGBA
// pixels (jsdom has no canvas), and the page's decoder must read the config back.
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { readImportFile } from './import-file.js';
import { decodeQr, looksLikeWireGuardConfig, type Pixels } from './qr.js';

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
  const png = (name: string) => new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], name, { type: 'image/png' });

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
});
