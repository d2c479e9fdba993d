// Types for bundle-helper.mjs (the afterPack hook loads the .mjs; tests and the bench import it from TypeScript).
export declare const BUNDLE_ENTRIES: { readonly umbrad: string; readonly umbra: string };
export declare function bundleHelper(projectDir: string, outDir: string): Promise<string[]>;
export declare function binScript(entry: string): string;
