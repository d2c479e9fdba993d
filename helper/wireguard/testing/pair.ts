// Two in-memory devices joined by a lossy wire and driven by one manual clock, for tests.
import { Device, type DeviceIo, type EngineEvent } from '../device.js';
import { generateKeyPair } from '../crypto/primitives.js';
import type { PrefixBits } from '../../net/ip.js';
import type { Aead } from '../crypto/aead.js';
import type { Peer } from '../peer.js';

export const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

export function prefix(text: string): PrefixBits {
  const [addr, len] = text.split('/') as [string, string | undefined];
  if (addr.includes(':')) throw new Error('v4 only in this helper');
  const bytes = Uint8Array.from(addr.split('.').map(Number));
  return { family: 4, bytes, prefix: len === undefined ? 32 : Number(len) };
}

/** A minimal IPv4 packet (UDP protocol number, no checksum) from src to dst with a payload. */
export function ipv4(src: string, dst: string, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p.set(payload, 20);
  return p;
}

export interface Side {
  device: Device;
  peer: Peer; // the other side, as this side knows it
  delivered: Uint8Array[];
  events: EngineEvent[];
  sent: Uint8Array[]; // every datagram this side sent
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface PairOptions {
  aead?: Aead;
  /** B's backend when it should differ from A's. */
  aeadB?: Aead;
  presharedKey?: Uint8Array;
  persistentKeepalive?: number;
  forceUnderLoadB?: boolean;
}

/**
 * A (client, 100.64.0.2) initiates towards B (server, 100.64.0.1, endpoint "b:51820");
 * B learns A's endpoint from A's first initiation, as a server does.
 */
export class Pair {
  now = 1_000_000;
  /** Datagrams in flight, delivered by `run()`. */
  wire: { to: 'a' | 'b'; data: Uint8Array }[] = [];
  /** Return true to drop a datagram on the wire. */
  lose: (to: 'a' | 'b', data: Uint8Array) => boolean = () => false;
  a: Side;
  b: Side;

  constructor(private readonly opts: PairOptions = {}) {
    const ka = generateKeyPair(random);
    const kb = generateKeyPair(random);
    this.a = this.makeSide('a', ka, kb, ['100.64.0.0/24'], { host: 'b', port: 51820 }, false);
    this.b = this.makeSide('b', kb, ka, ['100.64.0.2/32'], undefined, opts.forceUnderLoadB ?? false);
  }

  makeSide(
    name: 'a' | 'b',
    own: { privateKey: Uint8Array; publicKey: Uint8Array },
    other: { publicKey: Uint8Array },
    allowed: string[],
    endpoint: { host: string; port: number } | undefined,
    forceUnderLoad: boolean,
  ): Side {
    const to = name === 'a' ? 'b' : 'a';
    const side = { delivered: [], events: [], sent: [], publicKey: own.publicKey, privateKey: own.privateKey } as unknown as Side;
    const io: DeviceIo = {
      sendDatagram: (data) => {
        side.sent.push(data);
        this.wire.push({ to, data });
      },
      deliver: (p) => side.delivered.push(p.slice()),
      onEvent: (e) => side.events.push(e),
    };
    side.device = new Device({ privateKey: own.privateKey.slice(), io, random, now: this.now, wallClockOffset: 1.7e12, forceUnderLoad, aead: name === 'b' ? (this.opts.aeadB ?? this.opts.aead) : this.opts.aead });
    side.peer = side.device.addPeer({
      publicKey: other.publicKey,
      presharedKey: this.opts.presharedKey,
      allowedIPs: allowed.map(prefix),
      endpoint,
      persistentKeepalive: name === 'a' ? this.opts.persistentKeepalive : undefined,
    }, this.now);
    return side;
  }

  /** Replaces B with a fresh device with the same keys: a server that restarted and lost state. */
  restartB(): void {
    this.wire = this.wire.filter((w) => w.to !== 'b');
    this.b.device.close();
    this.b = this.makeSide('b', { privateKey: this.b.privateKey, publicKey: this.b.publicKey }, { publicKey: this.a.publicKey }, ['100.64.0.2/32'], undefined, false);
  }

  /** Delivers everything on the wire (and whatever that causes) until it is quiet. */
  run(limit = 10_000): void {
    for (let i = 0; i < limit && this.wire.length > 0; i++) {
      const { to, data } = this.wire.shift()!;
      if (this.lose(to, data)) continue;
      const from = to === 'a' ? { host: 'b', port: 51820 } : { host: 'a', port: 40000 };
      (to === 'a' ? this.a : this.b).device.receive(data, from, this.now);
    }
  }

  /** Moves the clock forward in steps, ticking both devices and delivering traffic. */
  advance(ms: number, step = 100): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      this.a.device.tick(this.now);
      this.b.device.tick(this.now);
      this.run();
    }
  }

  /** A → B: a packet from A's tunnel address; returns whether B delivered it. */
  aToB(payload: Uint8Array = Uint8Array.of(1, 2, 3)): boolean {
    const before = this.b.delivered.length;
    this.a.device.send(ipv4('100.64.0.2', '100.64.0.1', payload), this.now);
    this.run();
    return this.b.delivered.length > before;
  }

  bToA(payload: Uint8Array = Uint8Array.of(4, 5, 6)): boolean {
    const before = this.a.delivered.length;
    this.b.device.send(ipv4('100.64.0.1', '100.64.0.2', payload), this.now);
    this.run();
    return this.a.delivered.length > before;
  }

  handshakes(side: Side): number {
    return side.events.filter((e) => e.type === 'handshake-complete').length;
  }
}
