// Fakes for running a whole Tunnel in a unit test: a TUN, a batch UDP socket, and the network
// behind it with a real WireGuard server (a Device), so the handshake and the crypto are real
// while nothing touches the system.
import { randomBytes } from 'node:crypto';
import { parseWgQuick, type WgQuickConfig } from '../../config/wg-quick.js';
import type { CommandRunner } from '../../platform/exec.js';
import type { TunDevice } from '../../platform/tun/tun-device.js';
import type { BatchUdpSocket, UdpEndpoint } from '../../platform/udp/batch-socket.js';
import { toBase64 } from '../../wireguard/bytes.js';
import { nobleAead } from '../../wireguard/crypto/aead.js';
import { generateKeyPair } from '../../wireguard/crypto/primitives.js';
import { Device } from '../../wireguard/device.js';
import type { TunnelDeps } from '../tunnel.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SERVER: UdpEndpoint = { host: '203.0.113.2', port: 51820 };
const CLIENT: UdpEndpoint = { host: '198.51.100.2', port: 40000 };
const CLIENT_IP = [100, 64, 1, 2];
const REMOTE_IP = [100, 64, 1, 1];

export class FakeTun implements TunDevice {
  readonly name = 'umbra0';
  closed = false;
  /** What the tunnel wrote to the TUN, one array per write batch. */
  readonly written: Uint8Array[][] = [];
  private receiver: ((packets: readonly Uint8Array[]) => void) | undefined;
  onPackets(cb: (packets: readonly Uint8Array[]) => void): void {
    this.receiver = cb;
  }
  onError(): void {}
  writeBatch(packets: readonly Uint8Array[]): number {
    this.written.push(packets.map((p) => p.slice()));
    return packets.length;
  }
  close(): void {
    this.closed = true;
  }
  /** Packets from the local stack into the tunnel, as one read batch. */
  read(packets: Uint8Array[]): void {
    this.receiver?.(packets);
  }
}

/** The network: our socket on one side, a WireGuard server on the other; `restart()` makes it forget every session. */
export class FakeNet {
  readonly serverKeys = generateKeyPair(random);
  readonly clientKeys = generateKeyPair(random);
  server!: Device;
  /** Inner packets the server decrypted. */
  readonly delivered: Uint8Array[] = [];
  /** Our datagrams, one array per socket flush. */
  readonly sent: Uint8Array[][] = [];
  /** The socket the tunnel opened last. */
  socket: FakeSocket | undefined;
  pathMtuFragmented = 0;
  /** What the kernel would say of the route to the server (0: no route), or the error asking it would throw. */
  routeMtu: number | Error = 1500;

  constructor() {
    this.restart();
  }

  /** Our datagrams in the order they were sent. */
  get datagrams(): Uint8Array[] {
    return this.sent.flat();
  }

  restart(): void {
    this.server?.close();
    this.server = new Device({
      privateKey: this.serverKeys.privateKey,
      random,
      now: performance.now(),
      wallClockOffset: Date.now() - performance.now(),
      aead: nobleAead,
      io: {
        // Each of the server's datagrams reaches our socket as a batch of its own, a bit later.
        sendDatagram: (d) => {
          const copy = d.slice();
          queueMicrotask(() => this.socket?.receive([copy]));
        },
        deliver: (p) => this.delivered.push(p.slice()),
      },
    });
    this.server.addPeer({ publicKey: this.clientKeys.publicKey, allowedIPs: [{ family: 4, bytes: Uint8Array.from(CLIENT_IP), prefix: 32 }] }, performance.now());
  }

  config(): WgQuickConfig {
    return parseWgQuick(`[Interface]\nPrivateKey = ${toBase64(this.clientKeys.privateKey)}\nAddress = 100.64.1.2/32\n\n[Peer]\nPublicKey = ${toBase64(this.serverKeys.publicKey)}\nEndpoint = ${SERVER.host}:${SERVER.port}\nAllowedIPs = 0.0.0.0/0\n`);
  }
}

export class FakeSocket implements BatchUdpSocket {
  readonly family = 4 as const;
  readonly port = CLIENT.port;
  readonly fd = -1;
  closed = false;
  private queue: Uint8Array[] = [];
  private each: ((d: Uint8Array, from: UdpEndpoint) => void) | undefined;
  private done: (() => void) | undefined;
  private beforeFlush: (() => void) | undefined;
  constructor(private readonly net: FakeNet) {
    net.socket = this;
  }
  /**
   * Queued like the real socket, by reference (the bytes may be filled in until the flush);
   * flushed at the end of the current task unless flushed before.
   */
  send(data: Uint8Array): void {
    if (this.queue.length === 0) queueMicrotask(() => this.flush());
    this.queue.push(data);
  }
  allocate(size: number): Uint8Array {
    return new Uint8Array(size);
  }
  flush(): void {
    if (this.queue.length === 0 || this.closed) {
      this.queue = [];
      return;
    }
    this.beforeFlush?.();
    const batch = this.queue.map((d) => d.slice());
    this.queue = [];
    this.net.sent.push(batch);
    // The server gets copies, so what `sent` recorded stays as it went on the wire.
    for (const d of batch) this.net.server.receive(d.slice(), CLIENT, performance.now());
  }
  runBeforeFlush(fn: () => void): void {
    this.beforeFlush = fn;
  }
  onDatagrams(each: (d: Uint8Array, from: UdpEndpoint) => void, done?: () => void): void {
    this.each = each;
    this.done = done;
  }
  onError(): void {}
  pathMtu(): { cap: number; fragmented: number } {
    return { cap: 0, fragmented: this.net.pathMtuFragmented };
  }
  routeMtu(): number {
    if (this.net.routeMtu instanceof Error) throw this.net.routeMtu;
    return this.net.routeMtu;
  }
  close(): void {
    this.closed = true;
  }
  /** One receive batch from the server. */
  receive(batch: Uint8Array[]): void {
    if (this.closed) return;
    for (const d of batch) this.each?.(d, SERVER);
    this.done?.();
  }
}

/** Deps that give the tunnel `tun` and a FakeSocket on `net`, and run commands with `run`. */
export function fakeDeps(net: FakeNet, tun: FakeTun, run: CommandRunner): TunnelDeps {
  return {
    openTun: () => tun,
    openUdpSocket: () => new FakeSocket(net),
    linkState: () => ({ mtu: 1500, up: false }),
    run,
    resolve: () => Promise.reject(new Error('no DNS here')),
    now: () => performance.now(),
    random,
  };
}

function ipv4(n: number, tag: number, from: number[], to: number[]): Uint8Array {
  const p = new Uint8Array(n);
  p[0] = 0x45;
  p[2] = n >> 8;
  p[3] = n & 0xff;
  p[9] = 1;
  p.set(from, 12);
  p.set(to, 16);
  p[n - 1] = tag;
  return p;
}

/** An IPv4 ICMP-ish packet of `n` bytes from our tunnel address to 100.64.1.1, its last byte `tag`. */
export const packet = (n: number, tag: number) => ipv4(n, tag, CLIENT_IP, REMOTE_IP);
/** The same from 100.64.1.1 back to us, for the server to send. */
export const reply = (n: number, tag: number) => ipv4(n, tag, REMOTE_IP, CLIENT_IP);
