// Installs the Debian packages a command needs, when they are missing (root only; others are told
// what to install). Used by `npm test`, `npm run bench` and `npm run demo`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needs = {
  test: { 'wireguard-go': '/usr/bin/wireguard-go', 'wireguard-tools': '/usr/bin/wg', nftables: '/usr/sbin/nft', iproute2: '/usr/sbin/ip', 'iputils-ping': '/usr/bin/ping', tcpdump: '/usr/bin/tcpdump', chromium: '/usr/bin/chromium', 'dnsmasq-base': '/usr/sbin/dnsmasq', 'isc-dhcp-client': '/usr/sbin/dhclient' },
  demo: { 'wireguard-go': '/usr/bin/wireguard-go', 'wireguard-tools': '/usr/bin/wg', nftables: '/usr/sbin/nft', iproute2: '/usr/sbin/ip', 'iputils-ping': '/usr/bin/ping' },
  bench: { 'wireguard-go': '/usr/bin/wireguard-go', 'wireguard-tools': '/usr/bin/wg', nftables: '/usr/sbin/nft', iproute2: '/usr/sbin/ip', 'iputils-ping': '/usr/bin/ping', iperf3: '/usr/bin/iperf3' },
};
const what = process.argv[2] ?? 'test';

// A fresh clone: install the npm dependencies first (the build of the native addon comes with it).
// Electron's binary is fetched on its own below, so a machine that cannot download it still installs.
if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  console.log('umbra: installing npm dependencies (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
  if (r.status !== 0) { console.error('npm ci failed'); process.exit(1); }
}
// The demo opens the app in Electron where it can: fetch its binary unless that was declined
// (ELECTRON_SKIP_BINARY_DOWNLOAD) or is there already; without it the demo uses the browser.
if (what === 'demo') {
  const electronDir = new URL('../node_modules/electron/', import.meta.url);
  const have = existsSync(new URL('path.txt', electronDir));
  if (!have && process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    console.log('umbra: ELECTRON_SKIP_BINARY_DOWNLOAD is set, so no Electron: the demo opens the app in your browser');
  } else if (!have && existsSync(new URL('install.js', electronDir))) {
    console.log('umbra: downloading Electron for the demo');
    const r = spawnSync(process.execPath, [new URL('install.js', electronDir).pathname], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    if (r.status === 0) console.log('umbra: Electron is installed: the demo opens the app in Electron');
    else console.log(`umbra: could not download Electron (${r.error?.message ?? (r.stderr.toString().match(/Error: [^\n]*/)?.[0] ?? `exit ${r.status}`)}): the demo opens the app in your browser`);
  }
}
const missing = Object.entries(needs[what] ?? {}).filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg);
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0) {
  console.warn(`umbra: not root, so not installing ${missing.join(' ')}; tests that need them are skipped. ` +
    `Run as root (sudo npm ${what === 'test' ? 'test' : 'run ' + what}) or: sudo apt-get install ${missing.join(' ')}`);
  process.exit(0);
}
console.log(`umbra: installing ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) { console.error(`apt-get ${args.join(' ')} failed`); process.exit(1); }
}
