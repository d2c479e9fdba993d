// The tunnel with fake system parts (TUN, sockets, `ip`) and a real WireGuard peer on the other
// side of the fake network: the handshake goes out while the routes are still being applied,
// a failed start undoes everything (after the routing has finished), and packets move in
// batches both ways.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWgQuick, type WgQuickConfig } from '../config/wg-quick.js';
import { CommandError, type CommandRunner, type RunResult } from '../platform/exec.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import type { TunDevice } from '../platform/tun/tun-device.js';
import type { BatchUdpSocket, UdpEndpoint } from '../platform/udp/batch-socket.js';
import { toBase64 } from '../wireguard/bytes.js';
import { nobleAead } from '../wireguard/crypto/aead.js';
import { generateKeyPair } from '../wireguard/crypto/primitives.js';
import { Device } from '../wireguard/device.js';
import type { BatchTun } from './batch-tun.js';
import { Tunnel, type TunnelDeps } from './tunnel.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const SERVER = { host: '203.0.113.2', port: 51820 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class FakeTun implements BatchTun {
  readonly name = 'umbra0';
  closed = false;
  written: Uint8Array[][] = [];
  private receiver: ((packets: readonly Uint8Array[]) => void) | undefined;
  onPackets(cb: (packets: readonly Uint8Array[]) => void): void {
    this.receiver = cb;
  }
  onError(): void {}
  writeBatch(packets: readonly Uint8Array[]): void {
    this.written.push(packets.map((p) => p.slice()));
  }
  close(): void {
    this.closed = true;
  }
  /** Packets from the local stack into the tunnel, as one read batch. */
  read(packets: Uint8Array[]): void {
    this.receiver?.(packets);
  }
}

/** The network: our socket on one side, a WireGuard server (a Device) on the other. */
class FakeNet {
  readonly server: Device;
  readonly serverKeys = generateKeyPair(random);
  readonly clientKeys = generateKeyPair(random);
  readonly delivered: Uint8Array[] = [];
  readonly sent: Uint8Array[][] = []; // our datagrams, per flush
  socket: FakeSocket | undefined;
  pathMtuFragmented = 0;

  constructor() {
    this.server = new Device({
      privateKey: this.serverKeys.privateKey,
      random,
      now: performance.now(),
      wallClockOffset: Date.now() - performance.now(),
      aead: nobleAead,
      io: {
        // The server's datagrams reach our socket as one batch each.
        sendDatagram: (d) => queueMicrotask(() => this.socket?.receive([d.slice()])),
        deliver: (p) => this.delivered.push(p.slice()),
      },
    });
    this.server.addPeer({ publicKey: this.clientKeys.publicKey, allowedIPs: [{ family: 4, bytes: Uint8Array.from([100, 64, 1, 2]), prefix: 32 }] }, performance.now());
  }

  config(): WgQuickConfig {
    return parseWgQuick(`[Interface]\nPrivateKey = ${toBase64(this.clientKeys.privateKey)}\nAddress = 100.64.1.2/32\n\n[Peer]\nPublicKey = ${toBase64(this.serverKeys.publicKey)}\nEndpoint = ${SERVER.host}:${SERVER.port}\nAllowedIPs = 0.0.0.0/0\n`);
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
  constructor(private readonly net: FakeNet) {
    net.socket = this;
  }
  send(data: Uint8Array): void {
    if (this.queue.length === 0) queueMicrotask(() => this.flush());
    this.queue.push(data.slice());
  }
  allocate(size: number): Uint8Array {
    return new Uint8Array(size);
  }
  flush(): void {
    if (this.queue.length === 0 || this.closed) return;
    const batch = this.queue;
    this.queue = [];
    this.net.sent.push(batch);
    for (const d of batch) this.net.server.receive(d, { host: '198.51.100.2', port: this.port }, performance.now());
  }
  onDatagrams(each: (d: Uint8Array, from: UdpEndpoint) => void, done?: () => void): void {
    this.each = each;
    this.done = done;
  }
  onError(): void {}
  pathMtu(): { cap: number; fragmented: number } {
    return { cap: 0, fragmented: this.net.pathMtuFragmented };
  }
  close(): void {
    this.closed = true;
  }
  receive(batch: Uint8Array[]): void {
    if (this.closed) return;
    for (const d of batch) this.each?.(d, SERVER);
    this.done?.();
  }
}

/** A runner whose `ip -batch` calls wait until released; records what ran. */
class SlowRunner implements CommandRunner {
  readonly lines: string[] = [];
  private releases: (() => void)[] = [];
  failBatch = false;
  run(argv: string[]): Promise<RunResult> {
    this.lines.push(argv.join(' '));
    if (!argv.includes('-batch')) return Promise.resolve({ stdout: '', stderr: '' });
    return new Promise((resolve, reject) => {
      this.releases.push(() => {
        if (this.failBatch) reject(new CommandError(argv, 1, 'RTNETLINK answers: File exists\nCommand failed -:2\n'));
        else resolve({ stdout: '', stderr: '' });
      });
    });
  }
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
  get pending(): number {
    return this.releases.length;
  }
}

function deps(net: FakeNet, tun: FakeTun, run: CommandRunner): TunnelDeps {
  return {
    openTun: () => {
      throw new Error('the batch TUN is used');
    },
    openBatchTun: () => tun,
    openUdpSocket: () => Promise.reject(new Error('the batch socket is used')),
    openBatchUdpSocket: () => new FakeSocket(net),
    linkState: () => ({ mtu: 1500, up: false }),
    run,
    resolve: () => Promise.reject(new Error('no DNS here')),
    now: () => performance.now(),
    random,
  };
}

/** An IPv4 ICMP-ish packet from our tunnel address to 100.64.1.1 with `n` bytes. */
function packet(n: number, tag: number): Uint8Array {
  const p = new Uint8Array(n);
  p[0] = 0x45;
  p[2] = n >> 8;
  p[3] = n & 0xff;
  p[9] = 1;
  p.set([100, 64, 1, 2], 12);
  p.set([100, 64, 1, 1], 16);
  p[n - 1] = tag;
  return p;
}

let tunnels: Tunnel[] = [];
afterEach(async () => {
  for (const t of tunnels) await t.stop();
  tunnels = [];
});

describe('Tunnel.start', () => {
  it('sends the handshake initiation while the routes are still being applied', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const started = Tunnel.start(net.config(), {}, deps(net, tun, run));
    while (run.pending === 0) await sleep(1);
    await sleep(5);
    // The routing has not finished, yet the initiation went out and the server answered.
    expect(net.sent.flat().some((d) => d[0] === 1)).toBe(true);
    expect(net.server.peerList()[0]!.stats.lastHandshakeAt).toBeDefined();
    run.release();
    const t = await started;
    tunnels.push(t);
    expect(run.lines).toEqual(['ip -batch -']);
  });

  it('back from a suspend (the boot clock ran on, the awake clock did not): a handshake at once', async () => {
    const net = new FakeNet();
    const run = new SlowRunner();
    let slept = 0;
    const d = { ...deps(net, new FakeTun(), run), now: () => performance.now() + slept, awake: () => performance.now() };
    const started = Tunnel.start(net.config(), {}, d);
    while (run.pending === 0) await sleep(1);
    run.release();
    tunnels.push(await started);
    await sleep(120);
    const initiations = () => net.sent.flat().filter((x) => x[0] === 1).length;
    const before = initiations();
    await sleep(200);
    expect(initiations()).toBe(before); // awake, nothing to do
    slept = 8 * 3_600_000; // a night's sleep
    await sleep(200);
    expect(initiations()).toBe(before + 1);
  });

  it('holds the engine\'s events back until start() has returned', async () => {
    const net = new FakeNet();
    const run = new SlowRunner();
    const events: string[] = [];
    const started = Tunnel.start(net.config(), { onEvent: (e) => events.push(e.type) }, deps(net, new FakeTun(), run));
    while (run.pending === 0) await sleep(1);
    await sleep(5); // the handshake has completed by now
    expect(events).toEqual([]);
    run.release();
    tunnels.push(await started);
    events.push('returned');
    await sleep(1);
    expect(events).toEqual(['returned', 'handshake-initiated', 'handshake-complete']);
  });

  it('a routing failure undoes everything, once the routing has finished', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    run.failBatch = true;
    const started = Tunnel.start(net.config(), {}, deps(net, tun, run)).catch((e: unknown) => e);
    while (run.pending === 0) await sleep(1);
    run.release();
    const err = await started;
    expect((err as Error).message).toMatch(/File exists/);
    expect(tun.closed).toBe(true);
    expect(net.socket!.closed).toBe(true);
    // Line 1 of the batch (the address) was applied, so it was undone.
    expect(run.lines).toEqual(['ip -batch -', 'ip -4 address del 100.64.1.2/32 dev umbra0']);
  });

  it('a failure of the data path waits for the routing, then undoes it too', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const d = deps(net, tun, run);
    d.openBatchUdpSocket = () => {
      throw new Error('no sockets today');
    };
    const started = Tunnel.start(net.config(), {}, d).catch((e: unknown) => e);
    while (run.pending === 0) await sleep(1);
    await sleep(5);
    expect(run.lines).toEqual(['ip -batch -']); // nothing undone while the routing still runs
    run.release();
    expect(((await started) as Error).message).toBe('no sockets today');
    expect(tun.closed).toBe(true);
    expect(run.lines.slice(1)).toEqual([
      'ip -4 rule del table main suppress_prefixlength 0',
      'ip -4 rule del not fwmark 0x756d table 30061',
      'ip -4 route del 0.0.0.0/0 dev umbra0 table 30061',
      'ip link set dev umbra0 mtu 1500 down',
      'ip -4 address del 100.64.1.2/32 dev umbra0',
    ]);
  });
});

describe('the data path', () => {
  it('encrypts a TUN batch into one send batch, and writes a received batch to the TUN at once', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const started = Tunnel.start(net.config(), {}, deps(net, tun, run));
    while (run.pending === 0) await sleep(1);
    run.release();
    const t = await started;
    tunnels.push(t);
    await sleep(5);
    net.sent.length = 0;

    tun.read([packet(100, 1), packet(1400, 2), packet(60, 3)]);
    await sleep(5);
    expect(net.sent.map((b) => b.length)).toEqual([3]);
    expect(net.delivered.map((p) => p[p.length - 1])).toEqual([1, 2, 3]);

    // The server sends three packets back; each arrives as its own batch here.
    const peer = net.server.peerList()[0]!;
    const back = (n: number, tag: number) => {
      const p = packet(n, tag);
      p.set([100, 64, 1, 1], 12);
      p.set([100, 64, 1, 2], 16);
      return p;
    };
    for (const [n, tag] of [[80, 7], [1300, 8]] as const) net.server.send(back(n, tag), performance.now());
    await sleep(5);
    expect(peer.endpoint).toBeDefined();
    expect(tun.written.flat().map((p) => [p.length, p[p.length - 1]])).toEqual([[80, 7], [1300, 8]]);
    expect(t.peerStatus().rxBytes).toBeGreaterThan(0);
  });

  it('falls back to a plain TunDevice (one Buffer per packet) when there is no batch TUN', async () => {
    const net = new FakeNet();
    const fake = new FakeTun();
    const d = deps(net, fake, new FakeRunner());
    delete d.openBatchTun;
    d.openTun = (): TunDevice => ({
      name: fake.name,
      get closed() {
        return fake.closed;
      },
      write: (p) => {
        fake.writeBatch([p]);
        return true;
      },
      writeBatch: (ps) => {
        fake.writeBatch(ps);
        return ps.length;
      },
      onPackets: (cb) => fake.onPackets((ps) => cb(ps.map((p) => Buffer.from(p)))),
      onError: () => undefined,
      close: () => fake.close(),
    });
    const t = await Tunnel.start(net.config(), {}, d);
    tunnels.push(t);
    await sleep(5);
    fake.read([packet(100, 9)]);
    await sleep(5);
    expect(net.delivered.map((p) => p[p.length - 1])).toEqual([9]);
  });

  it('reports the datagrams its sockets sent in fragments for a small path MTU', async () => {
    const net = new FakeNet();
    const t = await Tunnel.start(net.config(), {}, deps(net, new FakeTun(), new FakeRunner()));
    tunnels.push(t);
    expect(t.peerStatus().pathMtuFragmented).toBe(0);
    net.pathMtuFragmented = 17;
    expect(t.peerStatus().pathMtuFragmented).toBe(17);
  });

  it('stop() closes the TUN and the sockets and removes the routes', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const started = Tunnel.start(net.config(), {}, deps(net, tun, run));
    while (run.pending === 0) await sleep(1);
    run.release();
    const t = await started;
    expect(await t.stop()).toEqual([]);
    expect(await t.stop()).toEqual([]);
    expect(tun.closed).toBe(true);
    expect(net.socket!.closed).toBe(true);
    expect(run.lines.filter((l) => l.includes(' del '))).toHaveLength(4);
  });
});
