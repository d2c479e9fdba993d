// A receive batch's datagrams, held until the batch ends so that their transport payloads are
// opened in one call into the addon (aead-batch.ts) before the engine sees any of them. The
// engine still judges each one (index, expiry, replay, allowed IPs), in the order they came.
import { readCounterLE } from '../wireguard/bytes.js';
import type { Device, Endpoint } from '../wireguard/device.js';
import { TRANSPORT_COUNTER_OFFSET, TRANSPORT_HEADER_SIZE } from '../wireguard/messages/transport-data.js';
import { MAX_JOBS, type AeadBatch } from './aead-batch.js';

export class ReceiveBatch {
  private readonly data: Uint8Array[] = [];
  private readonly from: Endpoint[] = [];
  private readonly keys: (Uint8Array | undefined)[] = [];
  private readonly authentic = new Uint8Array(MAX_JOBS);

  constructor(
    private readonly device: Device,
    private readonly aead: AeadBatch,
  ) {}

  /** Holds a datagram; it must stay unchanged until finish() (a receive buffer does, until the batch's callback ends). */
  add(d: Uint8Array, from: Endpoint): void {
    this.data.push(d);
    this.from.push(from);
  }

  /** Opens what can be opened in one call, then hands every datagram to the engine in order. */
  finish(now: number): void {
    const { data, from, keys, device, aead, authentic } = this;
    const n = data.length;
    try {
      for (let i = 0; i < n; i++) {
        const d = data[i]!;
        const key = device.openingKey(d, now);
        keys[i] = key !== undefined && aead.queueOpen(key, readCounterLE(d, TRANSPORT_COUNTER_OFFSET), d, TRANSPORT_HEADER_SIZE) ? key : undefined;
      }
      // Cleared first: an answer that went missing counts as not authentic.
      authentic.fill(0);
      aead.run(authentic);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const key = keys[i];
        device.receiveBatched(data[i]!, from[i]!, now, key, key !== undefined && authentic[k++] === 1);
      }
    } finally {
      // Views of a receive buffer that is about to be reused: never kept past the batch.
      data.length = 0;
      from.length = 0;
      keys.length = 0;
    }
  }
}
