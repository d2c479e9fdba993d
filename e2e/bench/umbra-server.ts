// Umbra as the lab's server: `umbrad up` with a listening config (ListenPort, a [Peer] without an
// Endpoint) in server 0's namespace, in place of its wireguard-go, so the bench can measure
// Umbra against Umbra. The server gets a key of its own; the client config names it.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../lab/lab.js';
import { UMBRAD } from '../umbrad-process.js';

export interface UmbraServer {
  pid: number;
  /** The lab's client config for server 0, with this server's public key. */
  clientConfig: string;
  output(): string;
  /** Stops it and starts the lab's wireguard-go server again. */
  stop(): Promise<void>;
}

async function wg(lab: Lab, ns: string, args: string[], input?: string): Promise<string> {
  const r = await lab.exec(ns, ['wg', ...args], input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`wg ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

export async function startUmbraServer(lab: Lab, umbrad = { node: process.execPath, script: UMBRAD }): Promise<UmbraServer> {
  const s = lab.servers[0]!;
  await s.stop();
  const priv = await wg(lab, s.ns, ['genkey']);
  const pub = await wg(lab, s.ns, ['pubkey'], `${priv}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-server-'));
  const file = join(dir, 'server.conf');
  writeFileSync(file, [
    '[Interface]',
    `PrivateKey = ${priv}`,
    `ListenPort = ${s.endpoint.port}`,
    `Address = ${s.tunnelAddress}/24`,
    'MTU = 1420',
    '',
    '[Peer]',
    `PublicKey = ${lab.client.publicKey}`,
    `AllowedIPs = ${s.clientTunnelAddress}/32`,
    '',
  ].join('\n'), { mode: 0o600 });
  let text = '';
  const child: ChildProcess = lab.spawn(s.ns, [umbrad.node, umbrad.script, 'up', file]);
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const deadline = Date.now() + 15_000;
  // "… created; handshaking with (waiting for the peer)": the socket listens and the routes are in.
  while (!/created; handshaking/.test(text)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      cleanup();
      await s.start();
      throw new Error(`umbrad up as the server did not start; its output:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const clientConfig = lab.clientConfig(0).replace(/^PublicKey = .*$/m, `PublicKey = ${pub}`);
  return {
    pid: child.pid!,
    clientConfig,
    output: () => text,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      cleanup();
      await s.start();
    },
  };
}
