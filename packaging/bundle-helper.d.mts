// Types for bundle-helper.mjs (the afterPack hook loads the .mjs; tests and the bench import it from TypeScript).
export declare const BUNDLE_ENTRIES: { readonly umbrad: string; readonly umbra: string };
export declare function bundleHelper(projectDir: string, outDir: string): Promise<string[]>;
export declare function binScript(entry: string): string;
export declare const COMPILE_CACHE_DIR: string;
/** `run(node, args)`: runs it and says whether the runtime could run at all (exit codes of the commands do not matter). */
export declare function warmCompileCache(helperDir: string, node: string, run: (node: string, args: string[]) => boolean): boolean;
