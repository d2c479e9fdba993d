// A receive batch opened in one call, then judged by the engine datagram by datagram: what the
// engine would take is delivered in order, a changed datagram is dropped, and a batch whose open
// failed is not handed over again with the next one.
import { describe, expect, it } from 'vitest';
import { ipv4, Pair } from '../wireguard/testing/pair.js';
import { AeadBatch, loadAeadBatchAddon, type AeadBatchAddon } from './aead-batch.js';
import { loadNativeAead } from './node-aead.js';
import { ReceiveBatch } from './receive-batch.js';

const addon = loadAeadBatchAddon();
const direct = loadNativeAead();
const FROM_A = { host: 'a', port: 40000 };

/** A's next transport datagram for B, copied into a big receive buffer at `at` (as recvmmsg would). */
function datagramsFromA(p: Pair, payloads: Uint8Array[]): Uint8Array[] {
  const slots = new Uint8Array(256 * 1024);
  return payloads.map((payload, i) => {
    p.a.device.send(ipv4('100.64.0.2', '100.64.0.1', payload), p.now);
    const d = p.wire.pop()!.data;
    slots.set(d, i * 2048);
    return slots.subarray(i * 2048, i * 2048 + d.length);
  });
}

describe.skipIf(!addon || !direct)('ReceiveBatch', () => {
  it('delivers what authenticates, in order, and drops a changed datagram and a replay', () => {
    const p = new Pair();
    p.aToB();
    const before = p.b.delivered.length;
    const held = new ReceiveBatch(p.b.device, new AeadBatch(addon!, direct!));
    const ds = datagramsFromA(p, [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
    ds[1]![20]! ^= 1;
    for (const d of ds) held.add(d, FROM_A);
    held.add(ds[0]!, FROM_A); // the same datagram again in the batch: opened once, then replayed
    held.finish(p.now);
    expect(p.b.delivered.slice(before)).toEqual([ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(1)), ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(3))]);
    expect(p.b.device.drops.get('unauthenticated')).toBe(1);
    expect(p.b.device.drops.get('replay')).toBe(1);
  });

  it('forgets a batch whose open threw: the next batch is only its own datagrams', () => {
    const p = new Pair();
    p.aToB();
    let fail = true;
    const flaky: AeadBatchAddon = {
      aeadBatch: (...args) => {
        if (fail) throw new Error('boom');
        return addon!.aeadBatch(...args);
      },
    };
    const held = new ReceiveBatch(p.b.device, new AeadBatch(flaky, direct!));
    const [first] = datagramsFromA(p, [Uint8Array.of(7)]);
    held.add(first!, FROM_A);
    expect(() => held.finish(p.now)).toThrow(/boom/);
    fail = false;
    const before = p.b.delivered.length;
    const [second] = datagramsFromA(p, [Uint8Array.of(8)]);
    held.add(second!, FROM_A);
    held.finish(p.now);
    expect(p.b.delivered.slice(before)).toEqual([ipv4('100.64.0.2', '100.64.0.1', Uint8Array.of(8))]);
  });
});
