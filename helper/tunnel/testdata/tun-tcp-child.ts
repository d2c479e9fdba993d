// Child of tun-offload.lab.test.ts, run inside a network namespace of its own: opens a TUN with
// offloads (openTun) and plays the far end of TCP connections with hand-made segments, so
// the kernel's own TCP stack is the judge of what the offloads produce.
//   1. kernel receives: a TCP server here gets a stream written as many segments, which the TUN
//      joins into GSO super-packets; it must read exactly the stream.
//   2. kernel sends: a TCP client here writes a stream, which the kernel hands over as TSO
//      super-packets; the segments the TUN cuts them into must all verify and carry the stream.
// Prints one JSON line of results. With UMBRA_TUN_OFFLOAD=0 the TUN is a plain one (the
// fallback), held to the same checks.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { openTun } from '../../platform/tun/tun-device.js';
import { checksumsOk, ipHeaderLength, streamBytes, tcpFlags, tcpPacket, tcpPayload, tcpSeq } from './tcp-packets.js';

const tun = openTun('uoff%d', { offload: process.env.UMBRA_TUN_OFFLOAD !== '0' });
const ip = (...args: string[]) => execFileSync('ip', args);
ip('link', 'set', 'dev', tun.name, 'mtu', '1420', 'up');
ip('address', 'add', '10.77.0.1/24', 'dev', tun.name);
ip('-6', 'address', 'add', 'fd00:77::1/64', 'dev', tun.name, 'nodad');

const HERE = { 4: [10, 77, 0, 1], 6: [0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] };
const THERE = { 4: [10, 77, 0, 2], 6: [0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] };
const THERE_TEXT = { 4: '10.77.0.2', 6: 'fd00:77::2' };

const seen: Uint8Array[] = [];
let waiter: (() => void) | undefined;
let segmentsChecked = 0;
let badChecksums = 0;
let maxRead = 0;
let sliceCopies = true;
tun.onPackets((packets) => {
  maxRead = Math.max(maxRead, packets.length);
  // The engine keeps packets with slice(): that must copy (a Buffer's would not).
  if (packets[0] && packets[0].slice().buffer === packets[0].buffer) sliceCopies = false;
  for (const p of packets) {
    const tcp = (p[0]! >> 4 === 4 && p[9] === 6) || (p[0]! >> 4 === 6 && p[6] === 6);
    if (!tcp) continue;
    segmentsChecked++;
    if (!checksumsOk(p)) badChecksums++;
    seen.push(new Uint8Array(p)); // a copy: p is a view, valid only now
  }
  waiter?.();
});

async function next(match: (p: Uint8Array) => boolean, ms = 5000): Promise<Uint8Array> {
  const deadline = Date.now() + ms;
  for (;;) {
    const i = seen.findIndex(match);
    if (i >= 0) return seen.splice(i, 1)[0]!;
    if (Date.now() > deadline) throw new Error('timed out waiting for a segment from the kernel');
    await new Promise<void>((r) => {
      waiter = r;
      setTimeout(r, 20);
    });
  }
}

const port = (p: Uint8Array, which: 'src' | 'dst') => {
  const t = ipHeaderLength(p);
  return (p[t + (which === 'src' ? 0 : 2)]! << 8) | p[t + (which === 'src' ? 1 : 3)]!;
};

async function kernelReceives(v: 4 | 6): Promise<{ ok: boolean; bytes: number }> {
  const v6 = v === 6;
  const total = 60 * 1000;
  const got: Buffer[] = [];
  let received = 0;
  const done = new Promise<void>((resolve) => {
    const server = net.createServer((s) => {
      s.on('data', (d: Buffer) => {
        got.push(d);
        received += d.length;
        if (received >= total) {
          s.destroy();
          server.close();
          resolve();
        }
      });
    });
    server.listen(7000 + v, v6 ? 'fd00:77::1' : '10.77.0.1');
  });
  await new Promise((r) => setTimeout(r, 50));
  // A source port of this run's own: an earlier run's connection may linger in TIME_WAIT.
  const base = { v6, src: THERE[v], dst: HERE[v], sport: 10_000 + (process.pid % 5000) * 10 + v, dport: 7000 + v };
  const isn = 100_000;
  tun.writeBatch([tcpPacket({ ...base, seq: isn, ack: 0, flags: 0x02, options: [2, 4, 0x05, 0x50] })]);
  const synAck = await next((p) => port(p, 'src') === 7000 + v && (tcpFlags(p) & 0x12) === 0x12);
  const ack = tcpSeq(synAck) + 1;
  tun.writeBatch([tcpPacket({ ...base, seq: isn + 1, ack, flags: 0x10, window: 60000 })]);
  // The stream in 1000-byte segments, written in batches of 20 (joined by the TUN).
  for (let at = 0; at < total; at += 20_000) {
    const batch: Uint8Array[] = [];
    for (let o = at; o < at + 20_000; o += 1000) {
      batch.push(tcpPacket({ ...base, seq: isn + 1 + o, ack, flags: o + 1000 === at + 20_000 ? 0x18 : 0x10, window: 60000, payload: streamBytes(o, 1000) }));
    }
    tun.writeBatch(batch);
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  const all = Buffer.concat(got);
  return { ok: all.length === total && all.equals(Buffer.from(streamBytes(0, total))), bytes: all.length };
}

async function kernelSends(v: 4 | 6): Promise<{ ok: boolean; bytes: number; largestSegment: number }> {
  const v6 = v === 6;
  const total = 300_000;
  const client = net.connect({ host: THERE_TEXT[v], port: 7100 + v });
  client.on('error', () => undefined);
  const syn = await next((p) => port(p, 'dst') === 7100 + v && tcpFlags(p) === 0x02);
  const isn = 500_000;
  const base = { v6, src: THERE[v], dst: HERE[v], sport: 7100 + v, dport: port(syn, 'src') };
  let expected = tcpSeq(syn) + 1;
  tun.writeBatch([tcpPacket({ ...base, seq: isn, ack: expected, flags: 0x12, window: 65535, options: [2, 4, 0x05, 0x50] })]);
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.write(Buffer.from(streamBytes(0, total)));
  const data: Uint8Array[] = [];
  let largest = 0;
  let bytes = 0;
  const deadline = Date.now() + 10_000;
  while (bytes < total && Date.now() < deadline) {
    const p = await next((x) => port(x, 'src') === port(syn, 'src'));
    const payload = tcpPayload(p);
    if (payload.length === 0) continue;
    largest = Math.max(largest, payload.length);
    if (tcpSeq(p) === (expected >>> 0)) {
      data.push(payload.slice());
      bytes += payload.length;
      expected += payload.length;
    }
    // Acknowledge everything in order so far (the kernel resends the rest).
    tun.writeBatch([tcpPacket({ ...base, seq: isn + 1, ack: expected >>> 0, flags: 0x10, window: 65535 })]);
  }
  client.destroy();
  const all = Buffer.concat(data);
  return { ok: all.length === total && all.equals(Buffer.from(streamBytes(0, total))), bytes: all.length, largestSegment: largest };
}

const results: Record<string, unknown> = {};
for (const v of [4, 6] as const) {
  results[`receives${v}`] = await kernelReceives(v);
  results[`sends${v}`] = await kernelSends(v);
}
results.segmentsChecked = segmentsChecked;
results.badChecksums = badChecksums;
results.maxRead = maxRead;
results.sliceCopies = sliceCopies;
console.log(JSON.stringify(results));
tun.close();
process.exit(0);
