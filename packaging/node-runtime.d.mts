// Types for node-runtime.mjs (the after-pack hook loads the .mjs; the tests import it from TypeScript).
export declare const NODE_RUNTIME: { version: string; integrity: Record<string, string> };
export declare const RUNTIME_DIR: string;
export declare const RUNTIME_NODE: string;
export declare function runtimePackage(arch: string): { spec: string; file: string; integrity: string };
export declare function integrityOf(bytes: Uint8Array): string;
export declare function runtimeTarball(arch: string, cacheDir: string): string;
export declare function runtimeCacheDir(projectDir: string, env?: Record<string, string | undefined>): string;
export declare function installNodeRuntime(resources: string, arch: string, cacheDir: string): string;
