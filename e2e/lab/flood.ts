// Handshake floods at a client's UDP port, from the lab's inet namespace (issue 11, item 2). The
// datagrams are made here, valid mac1s with the engine's own mac1 code and the client's public key
// (all a stranger needs), and sent by services/flood.mjs through the native addon's sendmmsg.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAddonPath } from '../../helper/platform/native.js';
import { computeMac1, mac1KeyFor, mac1Offset } from '../../helper/wireguard/cookie/macs.js';
import { INITIATION_SIZE } from '../../helper/wireguard/messages/handshake-initiation.js';
import { MessageType } from '../../helper/wireguard/messages/types.js';
import type { Lab } from './lab.js';
import { servicePath } from './probes.js';

export const FLOOD_KINDS = ['junk', 'bad-mac1', 'valid-mac1'] as const;
export type FloodKind = (typeof FLOOD_KINDS)[number];

/** Distinct datagrams the flooder cycles through. */
const POOL_SIZE = 4096;

/**
 * One flood datagram. junk: random bytes of a random length (a random first byte, so mostly no
 * message type at all); bad-mac1: a well-formed initiation whose mac1 is wrong; valid-mac1: one
 * whose mac1 is right for `clientPublicKey`, so the client must do more than a MAC to refuse it.
 */
function floodDatagram(kind: FloodKind, clientPublicKey: Uint8Array): Uint8Array {
  if (kind === 'junk') return new Uint8Array(randomBytes(32 + (randomBytes(1)[0]! % 160)));
  const m = new Uint8Array(randomBytes(INITIATION_SIZE));
  m.set([MessageType.HandshakeInitiation, 0, 0, 0]);
  if (kind === 'valid-mac1') m.set(computeMac1(mac1KeyFor(clientPublicKey), m), mac1Offset(m));
  return m;
}

/** The pool file flood.mjs reads: [u16 big-endian length][datagram] each. */
function floodPool(kind: FloodKind, clientPublicKey: Uint8Array, count = POOL_SIZE): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const d = floodDatagram(kind, clientPublicKey);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(d.length);
    parts.push(len, Buffer.from(d));
  }
  return Buffer.concat(parts);
}

export interface FloodOptions {
  kind: FloodKind;
  /** Datagrams a second. */
  rate: number;
  to: { host: string; port: number };
  /** Base64 public key of the client (lab.client.publicKey). */
  clientPublicKey: string;
  /** The namespace it sends from (default: the lab's inet namespace, the "internet"). */
  ns?: string;
}

export interface FloodResult {
  kind: FloodKind;
  /** What was asked for, and what the flooder reached (datagrams the kernel took, a second). */
  rate: number;
  sentPerSecond: number;
  sent: number;
  seconds: number;
}

export interface Flood {
  readonly child: ChildProcess;
  /** Stops the flood; resolves with what it sent. */
  stop(): Promise<FloodResult>;
}

/** Starts a flood; resolves once the flooder's socket is open. */
export async function startFlood(lab: Lab, o: FloodOptions): Promise<Flood> {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-flood-'));
  const pool = join(dir, 'pool.bin');
  writeFileSync(pool, floodPool(o.kind, new Uint8Array(Buffer.from(o.clientPublicKey, 'base64'))));
  const child = lab.spawn(o.ns ?? lab.internet.ns, [
    process.execPath, servicePath('flood.mjs'),
    '--addon', nativeAddonPath(),
    '--pool', pool,
    '--to', `${o.to.host.includes(':') ? `[${o.to.host}]` : o.to.host}:${o.to.port}`,
    '--rate', String(o.rate),
  ]);
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('ready')) {
    if (child.exitCode !== null) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!out.includes('ready')) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the flooder did not start: ${err.trim() || out.trim() || 'no output'}`);
  }
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the flooder said nothing on stop: ${err.trim()}`);
      const r = JSON.parse(line) as { sent: number; seconds: number };
      return { kind: o.kind, rate: o.rate, sent: r.sent, seconds: r.seconds, sentPerSecond: r.seconds > 0 ? r.sent / r.seconds : 0 };
    },
  };
}

/**
 * The IPv4 UDP ports a process has open in a namespace, from `ss -uanp`: the helper's socket is
 * bound to port 0 unless the config names a ListenPort, so its port is only known from the kernel.
 */
export async function udpPortsOf(lab: Lab, ns: string, pid: number): Promise<number[]> {
  const r = await lab.exec(ns, ['ss', '-H4uanp']);
  if (r.code !== 0) throw new Error(`ss -uanp failed in ${ns}: ${r.stderr.trim()}`);
  const ports: number[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const m = /\s(?:\*|[\d.]+):(\d+)\s/.exec(line);
    if (m) ports.push(Number(m[1]));
  }
  return ports;
}

/** The first of udpPortsOf; throws when the process has none. */
export async function udpPortOf(lab: Lab, ns: string, pid: number): Promise<number> {
  const [port] = await udpPortsOf(lab, ns, pid);
  if (port === undefined) throw new Error(`process ${pid} has no IPv4 UDP socket in ${ns}`);
  return port;
}
