// The engine alone, no network: two in-memory WireGuard devices, handshaken, moving 1400-byte
// IP packets from A to B (A encrypts, B decrypts and delivers) as fast as one thread can, once per
// AEAD backend. Measures the protocol's data path and the cipher, nothing else.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { PrefixBits } from '../../helper/net/ip.js';
import { nobleAead, type Aead } from '../../helper/wireguard/crypto/aead.js';
import { generateKeyPair } from '../../helper/wireguard/crypto/primitives.js';
import { Device, type Endpoint } from '../../helper/wireguard/device.js';
import { nodeAead } from '../../helper/tunnel/node-aead.js';

export const ENGINE_PACKET_SIZE = 1400;

export interface EngineResult {
  backend: string;
  packetSize: number;
  packets: number;
  seconds: number;
  packetsPerSecond: number;
  /** Inner (plaintext IP) bits per second, encrypt + decrypt on one thread. */
  mbitPerSecond: number;
}

const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function v4(text: string, len: number): PrefixBits {
  return { family: 4, bytes: Uint8Array.from(text.split('.').map(Number)), prefix: len };
}

/** An IPv4/UDP packet of `size` bytes (no checksum: the engine does not look at it). */
function ipv4Packet(size: number, src: string, dst: string): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  for (let i = 20; i < size; i++) p[i] = i & 0xff;
  return p;
}

interface Side {
  device: Device;
  delivered: number;
  deliveredBytes: number;
}

/** One pair of devices; datagrams go through a queue that `pump()` empties. */
class MemoryPair {
  readonly a: Side;
  readonly b: Side;
  private readonly wire: { to: Side; data: Uint8Array; from: Endpoint }[] = [];

  constructor(aead: Aead, now: number) {
    const ka = generateKeyPair(random);
    const kb = generateKeyPair(random);
    const make = (own: typeof ka, toName: 'a' | 'b', from: Endpoint): Side => {
      const side: Side = { device: undefined as unknown as Device, delivered: 0, deliveredBytes: 0 };
      side.device = new Device({
        privateKey: own.privateKey,
        random,
        now,
        wallClockOffset: Date.now() - now,
        aead,
        io: {
          sendDatagram: (data) => this.wire.push({ to: toName === 'a' ? this.a : this.b, data, from }),
          deliver: (p) => {
            side.delivered++;
            side.deliveredBytes += p.length;
          },
        },
      });
      return side;
    };
    this.a = make(ka, 'b', { host: '192.0.2.1', port: 40000 });
    this.b = make(kb, 'a', { host: '192.0.2.2', port: 51820 });
    this.a.device.addPeer({ publicKey: kb.publicKey, allowedIPs: [v4('100.64.0.0', 24)], endpoint: { host: '192.0.2.2', port: 51820 } }, now);
    this.b.device.addPeer({ publicKey: ka.publicKey, allowedIPs: [v4('100.64.0.2', 32)] }, now);
  }

  pump(now: number): void {
    for (let i = 0; i < 100_000 && this.wire.length > 0; i++) {
      const { to, data, from } = this.wire.shift()!;
      to.device.receive(data, from, now);
    }
  }
}

/** Moves packets A → B for about `seconds` with one backend. */
function benchBackend(aead: Aead, seconds: number, packetSize = ENGINE_PACKET_SIZE): EngineResult {
  const now = performance.now();
  const pair = new MemoryPair(aead, now);
  const packet = ipv4Packet(packetSize, '100.64.0.2', '100.64.0.1');
  // Handshake (A initiates on its first packet), then B's session is confirmed by A's data.
  pair.a.device.send(packet, now);
  pair.pump(now);
  if (pair.b.delivered !== 1) throw new Error(`engine bench (${aead.name}): the handshake did not complete`);

  const warmupEnd = performance.now() + Math.min(300, seconds * 200);
  while (performance.now() < warmupEnd) {
    for (let i = 0; i < 64; i++) {
      pair.a.device.send(packet, now);
      pair.pump(now);
    }
  }
  const before = pair.b.delivered;
  const start = performance.now();
  const end = start + seconds * 1000;
  let t = start;
  while (t < end) {
    for (let i = 0; i < 256; i++) {
      pair.a.device.send(packet, now);
      pair.pump(now);
    }
    t = performance.now();
  }
  const packets = pair.b.delivered - before;
  const elapsed = (t - start) / 1000;
  if (pair.a.device.drops.size + pair.b.device.drops.size > 0) {
    const why = [...pair.a.device.drops, ...pair.b.device.drops].map(([k, v]) => `${k}=${v}`).join(' ');
    throw new Error(`engine bench (${aead.name}): packets were dropped: ${why}`);
  }
  return {
    backend: aead.name,
    packetSize,
    packets,
    seconds: elapsed,
    packetsPerSecond: packets / elapsed,
    mbitPerSecond: (packets * packetSize * 8) / elapsed / 1e6,
  };
}

export function runEngineBench(seconds = 2): EngineResult[] {
  return [nodeAead, nobleAead].map((aead) => benchBackend(aead, seconds));
}

export function formatEngine(results: EngineResult[]): string {
  const lines = [`Engine only (in memory, one thread, ${ENGINE_PACKET_SIZE}-byte packets, encrypt + decrypt):`];
  for (const r of results) {
    lines.push(`  ${r.backend.padEnd(12)} ${Math.round(r.packetsPerSecond).toLocaleString('en-US').padStart(10)} packets/s  ${r.mbitPerSecond.toFixed(0).padStart(6)} Mbit/s`);
  }
  return lines.join('\n');
}
