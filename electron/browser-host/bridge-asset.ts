// The page script (bridge-client.ts) as JavaScript, for the host to serve as /umbra-bridge.js.
//
// Built: `tsc` compiles bridge-client.ts next to this file (dist/electron/browser-host/
// bridge-client.js); the host serves that file. Run from the TypeScript sources (vitest, or any
// loader that runs .ts directly) there is no such file, so it is transpiled here on first use
// with the `typescript` package, a devDependency: development only, never the built app's path.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Keeps bridge-client.ts in every program that builds the host (tsc emits only what the program
// reaches; a type-only reference is enough and loads nothing at run time).

const here = fileURLToPath(import.meta.url);

/** The script's JavaScript, without a source map reference (no map is served). */
export async function loadBridgeScript(): Promise<string> {
  const dir = dirname(here);
  if (here.endsWith('.js')) {
    const file = join(dir, 'bridge-client.js');
    let js: string;
    try {
      js = await readFile(file, 'utf8');
    } catch (e) {
      throw new Error(`the browser-mode page script ${file} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): run npm run build`, { cause: e });
    }
    return stripSourceMap(js);
  }
  const { default: ts } = await import('typescript');
  const source = await readFile(join(dir, 'bridge-client.ts'), 'utf8');
  const out = ts.transpileModule(source, {
    fileName: 'bridge-client.ts',
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true, sourceMap: false, removeComments: false },
  });
  return stripSourceMap(out.outputText);
}

function stripSourceMap(js: string): string {
  return js.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}
