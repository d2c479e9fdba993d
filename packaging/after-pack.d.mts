// Types for after-pack.mjs (electron-builder loads the .mjs; the tests import it from TypeScript).
export declare const HELPER_PARTS: readonly string[];
export declare function helperPackageJson(version: string): string;
declare function afterPack(context: unknown): Promise<void>;
export default afterPack;
