// A tunnel whose protocol (boot) clock jumps while its awake clock does not, as after a suspend,
// against a real WireGuard peer on a fake network that restarted meanwhile and forgot the
// session: the tunnel must hand-shake at once and never send on keys past REJECT_AFTER_TIME.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWgQuick } from '../config/wg-quick.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import type { BatchUdpSocket, UdpEndpoint } from '../platform/udp/batch-socket.js';
import { toBase64 } from '../wireguard/bytes.js';
import { REJECT_AFTER_TIME, REKEY_TIMEOUT } from '../wireguard/constants.js';
import { nobleAead } from '../wireguard/crypto/aead.js';
import { generateKeyPair } from '../wireguard/crypto/primitives.js';
import { Device } from '../wireguard/device.js';
import type { BatchTun } from './batch-tun.js';
import { Tunnel, type TunnelDeps } from './tunnel.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const SERVER = { host: '203.0.113.2', port: 51820 };
const CLIENT_IP = [100, 64, 1, 2];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOUR = 3_600_000;

/** The server's side: a WireGuard Device with the client as its peer; `restart()` forgets every session. */
class Server {
  readonly keys = generateKeyPair(random);
  readonly clientKeys = generateKeyPair(random);
  readonly delivered: Uint8Array[] = [];
  /** Every datagram the client sent, in order. */
  readonly received: Uint8Array[] = [];
  device!: Device;
  client: ((d: Uint8Array) => void) | undefined;

  constructor() {
    this.restart();
  }

  restart(): void {
    this.device?.close();
    this.device = new Device({
      privateKey: this.keys.privateKey.slice(),
      random,
      now: performance.now(),
      wallClockOffset: Date.now() - performance.now(),
      aead: nobleAead,
      io: {
        sendDatagram: (d) => {
          const copy = d.slice();
          queueMicrotask(() => this.client?.(copy));
        },
        deliver: (p) => this.delivered.push(p.slice()),
      },
    });
    this.device.addPeer({ publicKey: this.clientKeys.publicKey, allowedIPs: [{ family: 4, bytes: Uint8Array.from(CLIENT_IP), prefix: 32 }] }, performance.now());
  }

  fromClient(d: Uint8Array): void {
    this.received.push(d.slice());
    this.device.receive(d.slice(), { host: '198.51.100.2', port: 40000 }, performance.now());
  }
}

class FakeTun implements BatchTun {
  readonly name = 'umbra0';
  closed = false;
  private receiver: ((packets: readonly Uint8Array[]) => void) | undefined;
  onPackets(cb: (packets: readonly Uint8Array[]) => void): void {
    this.receiver = cb;
  }
  onError(): void {}
  writeBatch(): void {}
  close(): void {
    this.closed = true;
  }
  read(packets: Uint8Array[]): void {
    this.receiver?.(packets);
  }
}

class FakeSocket implements BatchUdpSocket {
  readonly family = 4 as const;
  readonly port = 40000;
  readonly fd = -1;
  closed = false;
  private queue: Uint8Array[] = [];
  private each: ((d: Uint8Array, from: UdpEndpoint) => void) | undefined;
  private done: (() => void) | undefined;
  constructor(private readonly server: Server) {
    server.client = (d) => {
      if (this.closed) return;
      this.each?.(d, SERVER);
      this.done?.();
    };
  }
  send(data: Uint8Array): void {
    if (this.queue.length === 0) queueMicrotask(() => this.flush());
    this.queue.push(data.slice());
  }
  allocate(size: number): Uint8Array {
    return new Uint8Array(size);
  }
  flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (!this.closed) for (const d of batch) this.server.fromClient(d);
  }
  onDatagrams(each: (d: Uint8Array, from: UdpEndpoint) => void, done?: () => void): void {
    this.each = each;
    this.done = done;
  }
  onError(): void {}
  pathMtu() {
    return { cap: 0, fragmented: 0 };
  }
  close(): void {
    this.closed = true;
  }
}

/** An IPv4 packet from the tunnel's address to 100.64.1.1 carrying `tag`. */
function packet(tag: number): Uint8Array {
  const p = new Uint8Array(64);
  p[0] = 0x45;
  p[3] = p.length;
  p[9] = 1;
  p.set(CLIENT_IP, 12);
  p.set([100, 64, 1, 1], 16);
  p[63] = tag;
  return p;
}

const isInitiation = (d: Uint8Array) => d[0] === 1;
const isTransport = (d: Uint8Array) => d[0] === 4;
/** The receiver index a transport datagram names: which session (the server's side of it) it uses. */
const receiverOf = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).getUint32(4, true);

let tunnels: Tunnel[] = [];
afterEach(async () => {
  for (const t of tunnels) await t.stop();
  tunnels = [];
});

/** `slept` moves the boot clock only; `awakeFor` moves both (time passing while awake). */
async function connectedTunnel(server: Server, clocks: { slept: number; awakeFor?: number }): Promise<{ tunnel: Tunnel; tun: FakeTun }> {
  const tun = new FakeTun();
  const deps: TunnelDeps = {
    openTun: () => {
      throw new Error('the batch TUN is used');
    },
    openBatchTun: () => tun,
    openUdpSocket: () => Promise.reject(new Error('the batch socket is used')),
    openBatchUdpSocket: () => new FakeSocket(server),
    linkState: () => ({ mtu: 1500, up: false }),
    run: new FakeRunner(),
    resolve: () => Promise.reject(new Error('no DNS here')),
    // The boot clock counts the time asleep, the awake clock does not.
    now: () => performance.now() + (clocks.awakeFor ?? 0) + clocks.slept,
    awake: () => performance.now() + (clocks.awakeFor ?? 0),
    random,
  };
  const cfg = parseWgQuick(`[Interface]\nPrivateKey = ${toBase64(server.clientKeys.privateKey)}\nAddress = 100.64.1.2/32\n\n[Peer]\nPublicKey = ${toBase64(server.keys.publicKey)}\nEndpoint = ${SERVER.host}:${SERVER.port}\nAllowedIPs = 0.0.0.0/0\n`);
  const tunnel = await Tunnel.start(cfg, {}, deps);
  tunnels.push(tunnel);
  for (let i = 0; i < 100 && !tunnel.device.peerList()[0]!.current; i++) await sleep(5);
  expect(tunnel.device.peerList()[0]!.current, 'the first handshake').toBeDefined();
  return { tunnel, tun };
}

describe('a tunnel back from a suspend', () => {
  // Past REJECT_AFTER_TIME only, and past the keys' erasure (KEY_ZEROING_TIME) too.
  for (const asleep of [REJECT_AFTER_TIME + 60_000, 8 * HOUR]) {
    it(`after ${asleep / 60_000} min asleep, while the server restarted: a handshake at once, and no packet on the old keys`, async () => {
      const server = new Server();
      const clocks = { slept: 0 };
      const { tun } = await connectedTunnel(server, clocks);
      tun.read([packet(1)]);
      await sleep(5);
      expect(server.delivered.length).toBe(1);
      const oldSession = receiverOf(server.received.filter(isTransport).at(-1)!);
      await sleep(150); // awake, ticking: nothing to do
      const before = server.received.length;
      expect(server.received.slice(before).some(isInitiation)).toBe(false);

      server.restart(); // it forgot the session while we slept
      clocks.slept = asleep;
      const woke = performance.now();
      // Without a packet to send, the tunnel's next tick must notice and hand-shake.
      while (!server.received.slice(before).some(isInitiation) && performance.now() - woke < 1_000) await sleep(5);
      const tookMs = performance.now() - woke;
      expect(server.received.slice(before).filter(isInitiation).length, 'one initiation at once').toBe(1);
      expect(tookMs).toBeLessThan(500); // a few 50 ms ticks; the protocol's own timers take 15 s
      await sleep(20);
      expect(server.device.peerList()[0]!.stats.lastHandshakeAt, 'the restarted server completed the handshake').toBeDefined();

      tun.read([packet(2)]);
      await sleep(20);
      expect(server.delivered.map((p) => p[63])).toEqual([1, 2]);
      const after = server.received.slice(before).filter(isTransport);
      expect(after.length).toBeGreaterThan(0);
      expect(after.map(receiverOf), 'nothing sent on keys past REJECT_AFTER_TIME').not.toContain(oldSession);
    });
  }

  it('resumed() (logind said so) hand-shakes at once, even when the clocks cannot tell', async () => {
    const server = new Server();
    const clocks = { slept: 0, awakeFor: 0 };
    const { tunnel } = await connectedTunnel(server, clocks);
    clocks.awakeFor = REKEY_TIMEOUT + 1_000; // past the last initiation's REKEY_TIMEOUT, awake all along
    await sleep(100);
    const before = server.received.length;
    expect(server.received.some(isInitiation)).toBe(true);
    tunnel.resumed();
    await sleep(5);
    expect(server.received.slice(before).filter(isInitiation).length).toBe(1);
    tunnel.resumed(); // logind and the clocks both saw it: still one initiation per REKEY_TIMEOUT
    await sleep(5);
    expect(server.received.slice(before).filter(isInitiation).length).toBe(1);
  });
});
