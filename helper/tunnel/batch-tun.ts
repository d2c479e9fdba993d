// The TUN side of the data path, in batches. The system one opens the TUN with the kernel's TCP
// offloads (see helper/native/src/offload.cc): the local TCP stack hands over 64 KiB at a time,
// which the addon cuts into segments, and the received segments of a TCP flow go back in joined,
// so the kernel handles a burst once instead of per packet. Without offloads (an older kernel,
// or a TunDevice from elsewhere) it is the plain TUN behind the same interface.
import { loadNative, type NativeAddon } from '../platform/native.js';
import type { TunDevice } from '../platform/tun/tun-device.js';

export interface BatchTun {
  /** The interface name the kernel gave. */
  readonly name: string;
  readonly closed: boolean;
  /**
   * Sets the receiver of the packets the kernel sends into the interface, a batch at a time.
   * Each packet is a view valid only during the call (copy what you keep). Reading starts with
   * the first call.
   */
  onPackets(cb: (packets: readonly Uint8Array[]) => void): void;
  /** Receives read errors; a read error stops reading for good. */
  onError(cb: (err: Error) => void): void;
  /**
   * Hands packets to the kernel in order (what a full queue refuses is dropped). Throws on
   * other errors (the device is gone, the link is down) and once closed.
   */
  writeBatch(packets: readonly Uint8Array[]): void;
  /** Stops reading and closes the fd, which removes the interface. Idempotent. */
  close(): void;
}

interface TunAddon extends NativeAddon {
  openTunVnet(name: string): { fd: number; name: string };
  tunWriteCoalesced(fd: number, packets: readonly Uint8Array[], count: number): number;
  startPollInto(
    fd: number,
    kind: 'tun' | 'tun-vnet',
    arena: Uint8Array,
    slotSize: number,
    meta: Int32Array,
    onBatch: (count: number) => void,
    onError: (e: Error) => void,
  ): number;
}

/** Bytes of packets per batch (up to ~30 super-packets cut up), and packets per batch. */
const ARENA_BYTES = 2 * 1024 * 1024;
const MAX_PACKETS = 2048;

/**
 * Opens a TUN with offloads (unless `offload` is false); falls back to a plain one when the
 * addon predates them or the kernel refuses them. `name` as for openTun.
 */
export function openBatchTun(name = '', { offload = true }: { offload?: boolean } = {}): BatchTun {
  const native = loadNative() as Partial<TunAddon> & NativeAddon;
  const hasOffload = typeof native.openTunVnet === 'function' && typeof native.tunWriteCoalesced === 'function' && typeof native.startPollInto === 'function';
  if (hasOffload && offload) {
    try {
      return fromFd(native as TunAddon, native.openTunVnet!(name), true);
    } catch (e) {
      if ((e as { syscall?: string }).syscall !== 'ioctl(TUNSETOFFLOAD)') throw e;
    }
  }
  if (typeof native.startPollInto !== 'function') throw new Error('the native addon is out of date (no startPollInto): run npm run build:native');
  return fromFd(native as TunAddon, native.openTun(name), false);
}

function fromFd(native: TunAddon, opened: { fd: number; name: string }, vnet: boolean): BatchTun {
  const { fd, name } = opened;
  let closed = false;
  let poll: number | undefined;
  let errorHandler: ((e: Error) => void) | undefined;
  const assertOpen = (): void => {
    if (closed) throw new Error(`TUN device ${name} is closed`);
  };
  return {
    name,
    get closed() {
      return closed;
    },
    onPackets(cb) {
      assertOpen();
      if (poll !== undefined) throw new Error('onPackets may be called once');
      // A plain Uint8Array, not a Buffer: Buffer's slice() makes a view, not a copy, and the
      // engine copies the packets it keeps (waiting for a handshake) with slice().
      const arena = new Uint8Array(ARENA_BYTES);
      const meta = new Int32Array(MAX_PACKETS * 2);
      const views: Uint8Array[] = [];
      poll = native.startPollInto(
        fd,
        vnet ? 'tun-vnet' : 'tun',
        arena,
        0,
        meta,
        (count) => {
          views.length = count;
          // (A view straight on the buffer: cheaper than subarray(), which looks up a species.)
          for (let i = 0; i < count; i++) views[i] = new Uint8Array(arena.buffer, meta[2 * i]!, meta[2 * i + 1]!);
          cb(views);
        },
        (e) => {
          poll = undefined;
          if (errorHandler) errorHandler(e);
          else throw e;
        },
      );
    },
    onError(cb) {
      errorHandler = cb;
    },
    writeBatch(packets) {
      assertOpen();
      if (packets.length === 0) return;
      if (vnet) native.tunWriteCoalesced(fd, packets, packets.length);
      else native.writePackets(fd, packets);
    },
    close() {
      if (closed) return;
      closed = true;
      poll = undefined;
      native.closeFd(fd); // stops the poller first
    },
  };
}

/** A TunDevice (one Buffer per packet, one write per packet) behind the BatchTun interface. */
export function tunDeviceAsBatch(tun: TunDevice): BatchTun {
  return {
    name: tun.name,
    get closed() {
      return tun.closed;
    },
    onPackets: (cb) => tun.onPackets(cb),
    onError: (cb) => tun.onError(cb),
    writeBatch(packets) {
      tun.writeBatch(packets);
    },
    close: () => tun.close(),
  };
}
