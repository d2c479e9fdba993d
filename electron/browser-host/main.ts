// `node dist/electron/browser-host/main.js [--socket PATH] [--port N] [--dist DIR]`: serves
// the built renderer on 127.0.0.1 in browser mode and prints the URL to open (it carries the
// session's token). Ctrl-C stops it.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '../../helper/ipc/schema.js';
import { startBrowserHost } from './host.js';

/** The project root, from here (electron/browser-host/, or dist/electron/browser-host/). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..').replace(/\/dist$/, '');
export const DEFAULT_DIST_DIR = resolve(PROJECT_ROOT, 'renderer', 'dist');

const USAGE = `usage: node dist/electron/browser-host/main.js [--socket PATH] [--port N] [--dist DIR]
  --socket  the helper's socket (default: $UMBRA_SOCKET, else ${DEFAULT_SOCKET_PATH})
  --port    port on 127.0.0.1 (default: any free port)
  --dist    the built renderer (default: ${DEFAULT_DIST_DIR})`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { socket: { type: 'string' }, port: { type: 'string' }, dist: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a number from 0 to 65535\n${USAGE}`);
    return 2;
  }
  const socketPath = values.socket ?? process.env.UMBRA_SOCKET ?? DEFAULT_SOCKET_PATH;
  const host = await startBrowserHost({ socketPath, distDir: resolve(values.dist ?? DEFAULT_DIST_DIR), host: '127.0.0.1', port });
  if (!host.link.reachable) console.error(`umbra browser host: ${host.link.message ?? 'the helper cannot be reached yet'} (the page says so too, and reconnects by itself)`);
  // The terminal may show the token; another program's argv may not (/proc/<pid>/cmdline is public).
  console.log(`Umbra in browser mode: open ${host.url}`);
  console.log(`  (to open it from a script: xdg-open ${host.openUrl})`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await host.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`umbra browser host: ${(e as Error).message}`);
    process.exit(1);
  },
);
