// The data path's UDP socket on loopback: the native batch socket (recvmmsg/sendmmsg), with GSO
// and without (where a path refuses it), held to the same tests.
// Nothing leaves loopback; as root, the mark and buffer sizes are checked as socket options.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '../native.js';
import { loadUdpAddon, openBatchUdpSocket, type BatchUdpSocket, type UdpEndpoint } from './batch-socket.js';
import type { UdpSocketOptions } from './udp-options.js';

const isRoot = process.getuid?.() === 0;
const opened: BatchUdpSocket[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

interface Received {
  data: number[][];
  from: UdpEndpoint[];
  batches: number;
}

function receiver(s: BatchUdpSocket): Received {
  const r: Received = { data: [], from: [], batches: 0 };
  s.onDatagrams(
    (d, from) => {
      r.data.push([...d]); // a view valid only now: copy it
      r.from.push(from);
    },
    () => r.batches++,
  );
  return r;
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

/** A datagram of `size` bytes whose bytes say which one it is. */
const datagram = (i: number, size: number) => Uint8Array.from({ length: size }, (_, k) => (i * 7 + k) & 0xff);

const kinds: [string, (o: UdpSocketOptions) => BatchUdpSocket][] = [
  ['native batch socket', (o) => openBatchUdpSocket(o)],
  ['native batch socket without GSO', (o) => {
    const s = openBatchUdpSocket(o);
    loadUdpAddon().udpGso(s.fd, false);
    return s;
  }],
];

for (const [kind, open] of kinds) {
  const make = (o: UdpSocketOptions): BatchUdpSocket => {
    const s = open(o);
    opened.push(s);
    return s;
  };

  describe(kind, () => {
    it('carries datagrams of any size, in order, IPv4 and IPv6', async () => {
      for (const [family, host] of [[4, '127.0.0.1'], [6, '::1']] as const) {
        const a = make({ family, address: host });
        const b = make({ family, address: host });
        expect(a.family).toBe(family);
        const got = receiver(b);
        const to = { host, port: b.port };
        // Equal sizes (GSO groups), a shorter one ending a group, small ones, and one of each.
        const sizes = [...Array<number>(100).fill(1452), 600, 1452, 1452, 96, 96, 96, 1, 9000, 1452];
        sizes.forEach((n, i) => a.send(datagram(i, n), to));
        await until(() => got.data.length === sizes.length);
        expect(got.data.map((d) => d.length)).toEqual(sizes);
        got.data.forEach((d, i) => expect(d).toEqual([...datagram(i, sizes[i]!)]));
        expect(got.from[0]).toEqual({ host, port: a.port });
      }
    });

    it('keeps datagrams to different destinations apart', async () => {
      const a = make({ family: 4, address: '127.0.0.1' });
      const b = make({ family: 4, address: '127.0.0.1' });
      const c = make({ family: 4, address: '127.0.0.1' });
      const gotB = receiver(b);
      const gotC = receiver(c);
      for (let i = 0; i < 40; i++) a.send(datagram(i, 1000), { host: '127.0.0.1', port: i % 3 === 0 ? c.port : b.port });
      await until(() => gotB.data.length + gotC.data.length === 40);
      expect(gotC.data.map((d) => d[0])).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39].map((i) => (i * 7) & 0xff));
      expect(gotB.data).toHaveLength(26);
    });

    it('drops what the kernel refuses and sends the rest', async () => {
      const a = make({ family: 4, address: '127.0.0.1' });
      const b = make({ family: 4, address: '127.0.0.1' });
      const got = receiver(b);
      a.send(datagram(1, 100), { host: '127.0.0.1', port: b.port });
      a.send(datagram(2, 100), { host: '::1', port: b.port }); // IPv6 on an IPv4 socket
      a.send(datagram(3, 70000), { host: '127.0.0.1', port: b.port }); // larger than UDP allows
      a.send(datagram(4, 100), { host: '127.0.0.1', port: b.port });
      await until(() => got.data.length === 2);
      await sleep(50);
      expect(got.data.map((d) => d[0])).toEqual([7, 28]);
    });

    it('allocate() gives memory for send(), reused once the queue has gone', async () => {
      const a = make({ family: 4, address: '127.0.0.1' });
      const b = make({ family: 4, address: '127.0.0.1' });
      const got = receiver(b);
      const x = a.allocate(300);
      x.set(datagram(5, 300));
      a.send(x, { host: '127.0.0.1', port: b.port });
      a.flush();
      const y = a.allocate(300);
      y.fill(9);
      a.send(y, { host: '127.0.0.1', port: b.port });
      await until(() => got.data.length === 2);
      expect(got.data[0]).toEqual([...datagram(5, 300)]);
      expect(got.data[1]).toEqual(Array<number>(300).fill(9));
    });

    it('stops on close(): nothing more is read or sent, and closing twice is harmless', async () => {
      const a = make({ family: 4, address: '127.0.0.1' });
      const b = make({ family: 4, address: '127.0.0.1' });
      const got = receiver(b);
      b.close();
      b.close();
      expect(b.closed).toBe(true);
      a.send(datagram(1, 10), { host: '127.0.0.1', port: b.port });
      a.close();
      a.send(datagram(2, 10), { host: '127.0.0.1', port: b.port });
      await sleep(50);
      expect(got.data).toEqual([]);
    });

    it.runIf(isRoot)('sets the mark and the buffer sizes (root)', async () => {
      const s = make({ family: 4, address: '127.0.0.1', mark: 0x756d });
      expect(loadNative().getSocketMark(s.fd)).toBe(0x756d);
      const sizes = loadNative().setSocketBuffers(s.fd, 0, 0);
      expect(sizes.rcv).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    });
  });
}

describe('native batch socket', () => {
  it('hands out views whose slice() copies (not Buffers: the engine keeps packets with slice())', async () => {
    const a = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    const b = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    opened.push(a, b);
    const copies: boolean[] = [];
    b.onDatagrams((d) => copies.push(d.slice().buffer !== d.buffer));
    const x = a.allocate(10);
    copies.push(x.slice().buffer !== x.buffer);
    a.send(x, { host: '127.0.0.1', port: b.port });
    await until(() => copies.length === 2);
    expect(copies).toEqual([true, true]);
  });

  it('gives the same endpoint object for the same source, and batches what is waiting', async () => {
    const a = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    const b = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    opened.push(a, b);
    for (let i = 0; i < 50; i++) a.send(datagram(i, 200), { host: '127.0.0.1', port: b.port });
    a.flush();
    await sleep(20); // all 50 wait in the socket before reading starts
    const got = receiver(b);
    await until(() => got.data.length === 50);
    expect(new Set(got.from).size).toBe(1);
    expect(got.batches).toBeLessThanOrEqual(2); // recvmmsg: up to 64 at a time
    // An endpoint from a datagram is also a destination, its address known without a lookup.
    a.onDatagrams(() => undefined);
    b.send(datagram(1, 10), got.from[0]!);
  });

  it('drops the queued datagrams, never sends them, when the work before the flush fails', async () => {
    const a = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    const b = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    opened.push(a, b);
    const got = receiver(b);
    let fail = true;
    a.runBeforeFlush(() => {
      if (fail) throw new Error('sealing failed');
    });
    a.send(datagram(1, 50), { host: '127.0.0.1', port: b.port });
    expect(() => a.flush()).toThrow(/sealing failed/);
    fail = false;
    a.send(datagram(2, 60), { host: '127.0.0.1', port: b.port });
    a.flush();
    await until(() => got.data.length === 1);
    await sleep(20);
    expect(got.data).toEqual([[...datagram(2, 60)]]);
  });

  it('cuts GRO trains back into their datagrams, in order, whole, each with its source', async () => {
    const a = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    const c = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    const b = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    opened.push(a, b, c);
    // Runs of equal sizes, each ending shorter: what a GSO send makes one train of. Another
    // sender between them, and more datagrams than one call into JS describes.
    const sizes: number[] = [];
    for (let run = 0; run < 12; run++) sizes.push(...Array<number>(49).fill(900 + run), 100 + run);
    for (const [i, size] of sizes.entries()) {
      a.send(datagram(i, size), { host: '127.0.0.1', port: b.port });
      if (i % 100 === 0) c.send(datagram(-1, 33), { host: '127.0.0.1', port: b.port });
    }
    a.flush();
    c.flush();
    await sleep(30); // all wait in the socket, so one wake-up reads many trains
    const got = receiver(b);
    await until(() => got.data.length === sizes.length + 6);
    const fromA = got.data.filter((_, k) => got.from[k]!.port === a.port);
    const fromC = got.data.filter((_, k) => got.from[k]!.port === c.port);
    expect(fromC).toEqual(Array.from({ length: 6 }, () => [...datagram(-1, 33)]));
    expect(fromA.length).toBe(sizes.length);
    const wrong = fromA.findIndex((d, i) => d.length !== sizes[i] || !d.every((x, k) => x === ((i * 7 + k) & 0xff)));
    expect(wrong).toBe(-1);
    // 606 datagrams one by one take at least 10 reads of 64; as trains (UDP GRO, Linux 5.0 on)
    // they come in a few calls of 256.
    const [major = 0] = release().split('.').map(Number);
    if (major >= 5) expect(got.batches).toBeLessThanOrEqual(4);
  });

  it('names the right source for every datagram, also with more sources than its address table holds', async () => {
    const b = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    opened.push(b);
    const senders = Array.from({ length: 600 }, () => openBatchUdpSocket({ family: 4, address: '127.0.0.1' }));
    // One source that keeps sending between the new ones: its id must never be handed to a new
    // source while datagrams of the same batch still carry it.
    const steady = senders[0]!;
    const sendFrom = (s: BatchUdpSocket) => {
      const d = new Uint8Array(4);
      new DataView(d.buffer).setUint16(0, s.port);
      s.send(d, { host: '127.0.0.1', port: b.port });
      s.flush();
    };
    let sent = 0;
    for (const [i, s] of senders.slice(1).entries()) {
      sendFrom(s);
      sent++;
      if (i % 3 === 2) {
        sendFrom(steady);
        sent++;
      }
    }
    await sleep(50); // all wait in the socket: read in full batches, ids reused between them
    const mismatches: string[] = [];
    let count = 0;
    b.onDatagrams((d, from) => {
      count++;
      const port = new DataView(d.buffer, d.byteOffset).getUint16(0);
      if (from.port !== port || from.host !== '127.0.0.1') mismatches.push(`${port} from ${from.host}:${from.port}`);
    });
    await until(() => count === sent, 5000);
    for (const s of senders) s.close();
    expect(mismatches).toEqual([]);
  });

  it('binds IPv6-only, so both families can share a port; checks its options', () => {
    const v4 = openBatchUdpSocket({ family: 4 });
    opened.push(v4);
    const v6 = openBatchUdpSocket({ family: 6, port: v4.port });
    opened.push(v6);
    expect(v6.port).toBe(v4.port);
    expect(() => openBatchUdpSocket({ family: 4, port: v4.port })).toThrow(/EADDRINUSE|bind/);
    expect(() => openBatchUdpSocket({ family: 5 as 4 })).toThrow(TypeError);
    expect(() => openBatchUdpSocket({ family: 4, mark: -1 })).toThrow(RangeError);
    expect(() => openBatchUdpSocket({ family: 4, mark: 1.5 })).toThrow(RangeError);
    expect(() => openBatchUdpSocket({ family: 4, mark: 2 ** 32 })).toThrow(RangeError);
    expect(() => openBatchUdpSocket({ family: 4, port: 65536 })).toThrow(RangeError);
    expect(() => openBatchUdpSocket({ family: 4, address: '::1' })).toThrow(/not an IPv4 address/);
    expect(() => v4.onDatagrams(() => undefined)).not.toThrow();
    expect(() => v4.onDatagrams(() => undefined)).toThrow(/once/);
  });

  it("asks the kernel its route's MTU: loopback's own; 0 once closed; another family is refused", () => {
    const s = openBatchUdpSocket({ family: 4 });
    opened.push(s);
    // IPv4 caps a route's MTU at 65535, below loopback's usual 65536.
    const lo = Math.min(Number(readFileSync('/sys/class/net/lo/mtu', 'utf8')), 0xffff);
    expect(s.routeMtu({ host: '127.0.0.1', port: 9 })).toBe(lo);
    expect(() => s.routeMtu({ host: '::1', port: 9 })).toThrow(/family/);
    s.close();
    expect(s.routeMtu({ host: '127.0.0.1', port: 9 })).toBe(0);
  });

  it.skipIf(isRoot)('without CAP_NET_ADMIN, a mark fails with what is needed', () => {
    expect(() => openBatchUdpSocket({ family: 4, address: '127.0.0.1', mark: 0x1234 })).toThrow('setting SO_MARK needs root (or CAP_NET_ADMIN)');
  });

  it('turns GSO off by itself where the path refuses it, and still delivers', async () => {
    // A segment larger than loopback's MTU can leave only as an IP fragment; GSO refuses that.
    const a = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    const b = openBatchUdpSocket({ family: 4, address: '127.0.0.1' });
    opened.push(a, b);
    const got = receiver(b);
    for (let i = 0; i < 3; i++) a.send(datagram(i, 30000), { host: '127.0.0.1', port: b.port });
    a.send(datagram(3, 100), { host: '127.0.0.1', port: b.port });
    await until(() => got.data.length === 4);
    expect(got.data.map((d) => d.length)).toEqual([30000, 30000, 30000, 100]);
  });
});
