// Umbra for real in the network lab, as the demo and the UI tests use it: three wireguard-go
// servers as "cities" (a catalog with real coordinates, each server's exit address as its exit
// IP), the real helper (`umbrad serve`) in the lab's client namespace with the lab's client key as
// its profile, and the built renderer for the browser-mode host.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonRun, type DaemonRunOptions } from '../daemon-process.js';
import type { Lab } from '../lab/lab.js';
import { PROJECT_ROOT } from '../umbrad-process.js';
import type { ServerInfo } from '../../helper/ipc/schema.js';

export interface City {
  id: string;
  name: string;
  city: string;
  country: string;
  countryCode: string;
  latitude: number;
  longitude: number;
}

/** Server i of the lab plays CITIES[i]. */
export const CITIES: readonly City[] = [
  { id: 'se-sto-1', name: 'Stockholm 1', city: 'Stockholm', country: 'Sweden', countryCode: 'se', latitude: 59.3293, longitude: 18.0686 },
  { id: 'de-fra-1', name: 'Frankfurt 1', city: 'Frankfurt', country: 'Germany', countryCode: 'de', latitude: 50.1109, longitude: 8.6821 },
  { id: 'us-nyc-1', name: 'New York 1', city: 'New York', country: 'United States', countryCode: 'us', latitude: 40.7128, longitude: -74.006 },
];

/** The name of a city's marker button on the map ("Stockholm, Sweden"). */
export const markerName = (c: City): string => `${c.city}, ${c.country}`;

/**
 * The lab gives the client its own tunnel address per server (100.64.(i+1).2), while a catalog's
 * servers all use the one profile's address (server 0's, 100.64.1.2). Through the lab's own API
 * (no change to e2e/lab): every other server accepts that address from the client's key, and routes
 * it back into its tunnel.
 */
async function shareClientAddress(lab: Lab): Promise<void> {
  const shared = lab.servers[0]!.clientTunnelAddress;
  for (const s of lab.servers.slice(1)) {
    const wg = await s.wg(['set', 'wg0', 'peer', lab.client.publicKey, 'allowed-ips', `${shared}/32,${s.clientTunnelAddress}/32`]);
    if (wg.code !== 0) throw new Error(`wg set on server ${s.index}: ${wg.stderr.trim()}`);
    const route = await lab.exec(s.ns, ['ip', 'route', 'replace', `${shared}/32`, 'dev', 'wg0']);
    if (route.code !== 0) throw new Error(`ip route on server ${s.index}: ${route.stderr.trim()}`);
  }
}

/** The store's catalog format, one entry per lab server (at most CITIES.length). */
function catalogFor(lab: Lab): { servers: Omit<ServerInfo, 'source'>[] } {
  return {
    servers: lab.servers.slice(0, CITIES.length).map((s, i) => {
      const c = CITIES[i]!;
      return { ...c, endpoint: `${s.endpoint.host}:${s.endpoint.port}`, publicKey: s.publicKey, exitIp: s.exitAddress };
    }),
  };
}

export interface UmbraInLab {
  daemon: DaemonRun;
  /** The catalog's servers as the helper lists them, in CITIES order. */
  servers: ServerInfo[];
}

/**
 * Starts the helper in the lab's client namespace (socket and state in a temp dir, DNS through the
 * lab's resolv.conf), imports the lab's client config as the profile, loads the cities' catalog
 * and drops the imported server, so that the map shows just the cities.
 */
export async function startUmbraInLab(lab: Lab, daemonOptions: DaemonRunOptions = {}): Promise<UmbraInLab> {
  await shareClientAddress(lab);
  const daemon = new DaemonRun(lab, daemonOptions);
  try {
    await daemon.start();
    const c = await daemon.client();
    const { server: imported } = await c.call('importConfig', { text: lab.clientConfig(0, { dns: lab.internet.dnsAddress }), name: 'Lab profile' });
    await c.call('loadCatalog', { text: JSON.stringify(catalogFor(lab)) });
    const { servers } = await c.call('removeServer', { id: imported.id });
    await c.close();
    return { daemon, servers };
  } catch (e) {
    await daemon.stop('SIGKILL').catch(() => undefined);
    daemon.cleanup();
    throw new Error(`starting the helper in the lab failed: ${(e as Error).message}\nhelper log:\n${daemon.stderr}`, { cause: e });
  }
}

// ------------------------------------------------------------------ the renderer's build

const RENDERER_DIR = join(PROJECT_ROOT, 'renderer');
export const RENDERER_DIST = join(RENDERER_DIR, 'dist');
const VITE = join(PROJECT_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether renderer/dist is missing or older than a renderer source file (or the schema). */
export function rendererBuildStale(distDir = RENDERER_DIST): boolean {
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) return true;
  const schema = join(PROJECT_ROOT, 'helper', 'ipc', 'schema.ts');
  return Math.max(newestSource(RENDERER_DIR), existsSync(schema) ? statSync(schema).mtimeMs : 0) > statSync(index).mtimeMs;
}

/** `vite build --config renderer/vite.config.ts` (into outDir, default renderer/dist). */
export async function buildRenderer(outDir = RENDERER_DIST): Promise<void> {
  if (!existsSync(VITE)) throw new Error(`vite is not installed (${VITE}): run npm install`);
  const args = [VITE, 'build', '--config', join(RENDERER_DIR, 'vite.config.ts'), '--logLevel', 'warn'];
  if (outDir !== RENDERER_DIST) args.push('--outDir', outDir, '--emptyOutDir');
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0 || !existsSync(join(outDir, 'index.html'))) throw new Error(`building the renderer failed (${code}):\n${out}`);
}
