// What a chosen or dropped file holds for an import: a wg-quick .conf (its text, for the helper
// to validate) or a QR code image of one (decoded here). The page reads the file as the person who
// chose it, within the same size limit the helper holds to; the helper never opens a path.
import { MAX_CONFIG_BYTES } from '../../api.js';
import { readBytes, readText } from '../../lib/read-text.js';
import type { ImportSource } from '../../store/store.js';
import { decodeQr, IMAGE_HEADER_BYTES, imagePixels, imageSize, looksLikeWireGuardConfig, MAX_IMAGE_PIXELS, type Pixels } from './qr.js';

/** A QR code picture is at most this large (a phone photo of one is a few MiB). */
const MAX_IMAGE_BYTES = 16 * 1024 * 1024;

/** The file types the pickers offer. */
export const IMPORT_ACCEPT = '.conf,text/plain,image/png,image/jpeg';

/** Why a file was not imported, for a person (no call was made: nothing changed). */
export class ImportFileError extends Error {
  readonly code = 'import-file';
}

const IMAGE_NAME = /\.(png|jpe?g|gif|webp|bmp)$/i;

function isImage(file: Pick<File, 'name' | 'type'>): boolean {
  return file.type.startsWith('image/') || IMAGE_NAME.test(file.name);
}

/** The server's name from the file's: "office.conf" → "office" (undefined: the helper names it). */
function serverName(fileName: string): string | undefined {
  return fileName.replace(/\.(conf|png|jpe?g|gif|webp|bmp)$/i, '').trim().slice(0, 100) || undefined;
}

const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;

export interface ReadOptions {
  /** How an image becomes pixels (default: drawn on a canvas). */
  pixels?: (file: File) => Promise<Pixels>;
}

/** The config in `file`, or an ImportFileError that says why there is none. */
export async function readImportFile(file: File, opts: ReadOptions = {}): Promise<ImportSource> {
  const name = serverName(file.name);
  if (file.size === 0) throw new ImportFileError(`“${file.name}” is empty: a WireGuard config is a text file that starts with [Interface]`);
  if (isImage(file)) {
    if (file.size > MAX_IMAGE_BYTES) throw new ImportFileError(`“${file.name}” is ${kib(file.size)}; a QR code picture is at most ${kib(MAX_IMAGE_BYTES)}: crop it to the code`);
    // Its size first, from the header: a small file can decode to gigabytes.
    const size = imageSize(await readBytes(file.slice(0, IMAGE_HEADER_BYTES)));
    if (!size) throw new ImportFileError(`“${file.name}” could not be read as a picture: use a PNG or JPEG of the QR code`);
    if (size.width * size.height > MAX_IMAGE_PIXELS) {
      throw new ImportFileError(`“${file.name}” is ${size.width}×${size.height} pixels; a QR code picture is at most ${MAX_IMAGE_PIXELS / 1_000_000} megapixels: crop it to the code`);
    }
    let pixels: Pixels;
    try {
      pixels = await (opts.pixels ?? imagePixels)(file);
    } catch {
      throw new ImportFileError(`“${file.name}” could not be read as a picture: use a PNG or JPEG of the QR code`);
    }
    const text = decodeQr(pixels);
    if (text === null) throw new ImportFileError(`no QR code was found in “${file.name}”: use a sharp picture of the whole code`);
    if (!looksLikeWireGuardConfig(text)) throw new ImportFileError('this QR code does not hold a WireGuard config (it has no [Interface] with a PrivateKey)');
    if (new TextEncoder().encode(text).length > MAX_CONFIG_BYTES) throw new ImportFileError(`the config in this QR code is larger than ${kib(MAX_CONFIG_BYTES)}`);
    return { text, name };
  }
  if (file.size > MAX_CONFIG_BYTES) {
    throw new ImportFileError(`“${file.name}” is ${kib(file.size)}; a WireGuard config is at most ${kib(MAX_CONFIG_BYTES)}: is it the right file?`);
  }
  let text: string;
  try {
    text = await readText(file);
  } catch {
    throw new ImportFileError(`“${file.name}” could not be read: is it still there, and may you read it?`);
  }
  if (text.includes('\u0000')) throw new ImportFileError(`“${file.name}” is not a text file: a WireGuard config is the .conf text file your provider gave you`);
  return { text, name };
}
