// Types of make-icons.mjs, for the tests that check the committed PNGs against it.
export declare const TRAY_STATES: readonly string[];
export declare const TRAY_SIZES: readonly number[];
export declare const APP_SIZES: readonly number[];
export declare function crc32(bytes: Uint8Array): number;
export declare function encodePng(width: number, height: number, rgba: Uint8Array): Buffer;
export declare function trayIcon(state: string, tone: 'light' | 'dark', size: number): Buffer;
export declare function appIcon(size: number): Buffer;
/** Writes every icon under outDir; returns the paths written, relative to it. */
export declare function writeAll(outDir: string): string[];
