// `npm run demo` (root): the Umbra app for real, against the local lab. Builds the lab (three
// wireguard-go servers as cities, each with its own exit address; an internet with an IP-echo
// service and DNS), runs the real helper (`umbrad serve`) in the lab's client namespace with the
// lab's key as its profile and a catalog of the three cities, and opens the app: Electron where it
// can start, else browser mode (the built renderer on 127.0.0.1, the URL printed). Ctrl-C stops
// the app, the helper (it removes its interface, routes, rules and DNS) and deletes the lab.
// Nothing touches this machine's own network.
//
//   npm run demo -- [--no-open] [--browser] [--port N]
//     --no-open   do not try to open a browser (browser mode)
//     --browser   browser mode even where Electron could start
//     --port N    the browser-mode host's port on 127.0.0.1 (default: any free port)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBrowserHost, type BrowserHost } from '../electron/browser-host/host.js';
import type { IpcClient } from '../helper/ipc/client.js';
import type { TunnelStatus } from '../helper/ipc/schema.js';
import { createLab, cleanupStaleLabs, labAvailable, type Lab } from './lab/lab.js';
import { buildRenderer, CITIES, RENDERER_DIST, rendererBuildStale, startUmbraInLab, type UmbraInLab } from './ui/umbra-lab.js';
import { PROJECT_ROOT } from './umbrad-process.js';

/** The Electron main process as package.json's "main" names it (dist/electron/main/index.js). */
function electronMain(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { main?: unknown };
    if (typeof pkg.main === 'string') return join(PROJECT_ROOT, pkg.main);
  } catch {
    /* the default below */
  }
  return join(PROJECT_ROOT, 'dist', 'electron', 'main', 'index.js');
}

const hasDisplay = () => !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

/** Electron's binary and the app's main script, or why the app cannot start in Electron here. */
function findElectron(): { ok: true; bin: string } | { ok: false; reason: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron'));
  } catch {
    return { ok: false, reason: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const bin = existsSync(pathFile) ? join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim()) : undefined;
  if (!bin || !existsSync(bin)) return { ok: false, reason: 'no Electron binary (installed with ELECTRON_SKIP_BINARY_DOWNLOAD?)' };
  const main = electronMain();
  if (!existsSync(main)) return { ok: false, reason: `the Electron main process is not built (${main})` };
  if (!hasDisplay()) return { ok: false, reason: 'no display (DISPLAY or WAYLAND_DISPLAY)' };
  return { ok: true, bin };
}

/** Asks the desktop to open url, as the user who ran sudo when there is one; best effort. */
function openInBrowser(url: string): void {
  const asUser = process.getuid?.() === 0 && process.env.SUDO_USER && process.env.SUDO_USER !== 'root' ? process.env.SUDO_USER : undefined;
  const argv = asUser ? ['runuser', '-u', asUser, '--', 'xdg-open', url] : ['xdg-open', url];
  try {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
    child.on('error', () => console.log('  (could not run xdg-open: open the address above yourself)'));
    child.unref();
  } catch {
    /* the URL is printed */
  }
}

function describeStatus(s: TunnelStatus): string {
  const where = s.server ? `${s.server.city ?? s.server.name}` : 'no server';
  return s.error && s.state !== 'connected' ? `${s.state} (${where}): ${s.error.message}` : `${s.state} (${where})`;
}

async function main(): Promise<number> {
  let flags;
  try {
    ({ values: flags } = parseArgs({ options: { 'no-open': { type: 'boolean' }, browser: { type: 'boolean' }, port: { type: 'string' } }, strict: true }));
  } catch (e) {
    console.error(`umbra demo: ${(e as Error).message}\nusage: npm run demo -- [--no-open] [--browser] [--port N]`);
    return 2;
  }
  const port = flags.port === undefined ? 0 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('umbra demo: --port must be a number from 0 to 65535');
    return 2;
  }
  const avail = labAvailable();
  if (!avail.ok) {
    console.error(`umbra demo: cannot build the lab: ${avail.reason}`);
    return 1;
  }
  cleanupStaleLabs();

  let lab: Lab | undefined;
  let umbra: UmbraInLab | undefined;
  let host: BrowserHost | undefined;
  let electron: ChildProcess | undefined;
  let watcher: IpcClient | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\numbra demo: stopping the app and Umbra, removing the lab');
    if (electron && electron.exitCode === null && electron.signalCode === null) electron.kill('SIGTERM');
    await host?.close().catch(() => undefined);
    await watcher?.close().catch(() => undefined);
    await umbra?.daemon.stop('SIGTERM').catch(() => umbra?.daemon.stop('SIGKILL').catch(() => undefined));
    umbra?.daemon.cleanup();
    await lab?.destroy();
  };
  let interrupted: () => void = () => undefined;
  const interruption = new Promise<void>((r) => (interrupted = r));
  const onSignal = () => {
    if (stopping) console.log('umbra demo: still stopping…');
    interrupted();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (rendererBuildStale()) {
      console.log(`umbra demo: building the app's renderer into ${RENDERER_DIST}…`);
      await buildRenderer();
    }
    console.log(`umbra demo: building the lab (client, internet, ${CITIES.length} wireguard-go servers)…`);
    lab = await createLab({ servers: CITIES.length });
    const direct = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 5000 });
    console.log(`  without the VPN the internet sees: ${direct.body?.trim()}`);
    console.log('umbra demo: starting the helper (umbrad serve) in the lab\'s client namespace…');
    umbra = await startUmbraInLab(lab);
    const daemon = umbra.daemon;
    for (const s of umbra.servers) console.log(`  ${(s.city ?? s.name).padEnd(10)} ${s.endpoint.padEnd(20)} exit ${s.exitIp}`);

    // Say on the terminal what the internet sees whenever the tunnel comes up (after every helper start).
    const currentLab = lab;
    let last = '';
    const watch = async () => {
      watcher = await daemon.client();
      await watcher.subscribe((e) => {
      if (e.type !== 'status') return;
      const line = describeStatus(e.status);
      if (line === last) return;
      last = line;
      console.log(`  umbra: ${line}`);
      if (e.status.state === 'connected') {
        void currentLab
          .http(currentLab.client.ns, currentLab.internet.echoUrl, { timeoutMs: 3000 })
          .then((r) => console.log(`  the internet now sees: ${r.body?.trim()} (${e.status.server?.city ?? ''}'s exit: ${e.status.server?.exitIp ?? '?'})`))
          .catch(() => undefined);
      }
      });
    };
    await watch();

    const el = flags.browser ? { ok: false as const, reason: '--browser' } : findElectron();
    if (el.ok) {
      console.log('umbra demo: opening the app (Electron)…');
      // The app folder (package.json's main); as root Chromium's sandbox cannot start.
      electron = spawn(el.bin, ['--no-sandbox', PROJECT_ROOT], { stdio: 'inherit', env: { ...process.env, UMBRA_SOCKET: daemon.socket, UMBRA_INSTALL: 'demo', UMBRA_HELPER_ELSEWHERE: '1' } });
      electron.once('exit', (code) => {
        console.log(`umbra demo: the app closed (${code ?? 'signal'}); Ctrl-C stops the demo`);
      });
    } else {
      console.log(`umbra demo: Electron cannot start here (${el.reason}): browser mode`);
      // Run as root under sudo, the browser is the sudo user's: the host lets that uid in (and only
      // it and root), and the launch page with the key is theirs alone.
      const sudoUid = Number(process.env.SUDO_UID);
      const browserUser = process.getuid?.() === 0 && Number.isInteger(sudoUid) && sudoUid > 0 ? { uid: sudoUid, gid: Number(process.env.SUDO_GID ?? sudoUid) } : undefined;
      host = await startBrowserHost({ socketPath: daemon.socket, distDir: RENDERER_DIST, host: '127.0.0.1', port, install: 'demo', helperElsewhere: true, ...(browserUser ? { browserUser } : {}) });
      console.log('\nOpen the app in a browser on this machine (127.0.0.1 only; the address carries this session\'s key):');
      console.log(`  ${host.url}`);
      // The key never goes into xdg-open's argv (readable by every local user): a private file:// page forwards to it.
      if (!flags['no-open'] && hasDisplay()) openInBrowser(host.openUrl);
    }

    console.log('\nPick a city on the map and press Connect. From another terminal:');
    console.log(`  sudo npx umbra --socket ${daemon.socket} status`);
    console.log(`  sudo ip netns exec ${lab.client.ns} ip route get ${lab.internet.serviceAddress}`);
    console.log(`  sudo ip netns exec ${lab.client.ns} nft list table inet umbra   # with the kill switch on`);
    console.log('Ctrl-C stops the app and Umbra (it removes its interface, routes, rules and DNS) and deletes the lab.');

    // A helper that exits on its own is started again after 1 s, as umbrad.service does, so the
    // page's "reconnects by itself as soon as the helper is back" holds in the demo too (and its
    // kill switch block stays in the namespace meanwhile, as on a real machine).
    for (;;) {
      const child = daemon.child!;
      const helperExit = new Promise<string>((r) => child.once('exit', (code, signal) => r(signal ?? String(code))));
      const outcome = await Promise.race([interruption.then(() => 'interrupted' as const), helperExit]);
      if (outcome === 'interrupted' || stopping) break;
      const logged = daemon.stderr.length;
      console.error(`umbra demo: umbrad exited (${outcome}) on its own; starting it again in 1 s, as its systemd unit would`);
      await watcher?.close().catch(() => undefined);
      watcher = undefined;
      const again = await Promise.race([interruption.then(() => false), new Promise<true>((r) => setTimeout(() => r(true), 1000))]);
      if (!again || stopping) break;
      try {
        await daemon.start();
        await watch();
        console.log('umbra demo: umbrad is back');
      } catch (e) {
        console.error(`umbra demo: umbrad did not start again: ${(e as Error).message}\n${daemon.stderr.slice(logged)}\nCtrl-C stops the demo; start it again with npm run demo`);
        await interruption;
        break;
      }
    }
    await stop();
    return 0;
  } catch (e) {
    console.error(`umbra demo: ${(e as Error).message}`);
    await stop();
    return 1;
  }
}

main().then((code) => process.exit(code));
