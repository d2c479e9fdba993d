// `umbrad up FILE.conf`: a tunnel in the foreground from a wg-quick config, until SIGINT/SIGTERM.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { ConfigError, parseWgQuick, type WgQuickConfig } from '../config/wg-quick.js';
import { toBase64 } from '../wireguard/bytes.js';
import { floodText } from '../ipc/tunnel-words.js';
import { Tunnel } from '../tunnel/tunnel.js';
import { releaseStartupMemorySoon } from '../platform/startup-memory.js';

import { EXIT_FAILURE, EXIT_OK, UsageError } from './common.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './common.js';

export async function loadConfig(file: string): Promise<WgQuickConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read it (${code ?? (e as Error).message})`);
  }
  try {
    return parseWgQuick(text);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Why this machine cannot run a tunnel, in words a person can act on; undefined when it can. */
export function environmentProblem(): string | undefined {
  if (process.platform !== 'linux') return 'umbrad runs tunnels on Linux only for now.';
  if (process.getuid?.() !== 0) return 'bringing a tunnel up needs root: run it with sudo (it creates a network interface and routes).';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing: load the tun module (sudo modprobe tun).';
  return undefined;
}

export async function up(file: string, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const cfg = await loadConfig(file);
  if (cfg.peers.length === 0) throw new UsageError(`${file}: the config has no [Peer] section; add the server's [Peer] (PublicKey, Endpoint, AllowedIPs).`);
  const problem = environmentProblem();
  if (problem) {
    err(`umbrad: ${problem}`);
    return EXIT_FAILURE;
  }
  if (cfg.interface.dns.length > 0) err('umbrad: note: DNS from the config is applied by the daemon (umbrad serve), not by `up`.');

  const startedAt = performance.now();
  let firstHandshake = true;
  let ifname = 'the tunnel';
  let fatal: ((e: Error) => void) | undefined;
  const fatalError = new Promise<Error>((resolve) => (fatal = resolve));
  const tunnel = await Tunnel.start(cfg, {
    onEvent(e) {
      if (e.type === 'handshake-complete' && firstHandshake) {
        firstHandshake = false;
        const where = e.peer.endpoint ? `${e.peer.endpoint.host}:${e.peer.endpoint.port}` : 'peer';
        out(`umbrad: handshake complete with ${where} (peer ${toBase64(e.peer.publicKey)}) as ${e.role} after ${Math.round(performance.now() - startedAt)} ms; ${ifname} is up`);
        // Start-up is over once the first packet can flow: hand back what it grew.
        releaseStartupMemorySoon();
      } else if (e.type === 'handshake-failed') {
        err(`umbrad: no handshake with ${toBase64(e.peer.publicKey)} for 90 s (${e.reason}); still trying when traffic flows`);
      } else if (e.type === 'handshake-flood') {
        err(`umbrad: ${floodText(e.dropped, e.seconds)}`);
      }
    },
    onFatal: (e) => fatal?.(e),
  });
  ifname = tunnel.interfaceName;
  const peers = cfg.peers.map((p) => p.endpoint ? `${p.endpoint.host}:${p.endpoint.port}` : '(waiting for the peer)').join(', ');
  err(`umbrad: ${tunnel.interfaceName} created; handshaking with ${peers}. Ctrl-C stops it.`);

  const signal = await Promise.race([
    new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    }),
    fatalError.then((e) => `error: ${e.message}`),
  ]);
  err(`umbrad: ${signal}; removing ${tunnel.interfaceName}, its routes and rules`);
  const failures = await tunnel.stop();
  for (const f of failures) err(`umbrad: ${f.message}`);
  if (signal.startsWith('error')) return EXIT_FAILURE;
  return failures.length === 0 ? EXIT_OK : EXIT_FAILURE;
}
