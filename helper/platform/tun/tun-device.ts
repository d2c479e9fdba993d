// The TUN device of the data path: an interface whose packets the helper reads and writes through
// an fd (Linux, via the native addon), a batch at a time. It opens with the kernel's TCP offloads
// (see helper/native/src/offload.cc): the local TCP stack hands over 64 KiB at a time, which the
// addon cuts into segments, and the received segments of a TCP flow go back in joined, so the
// kernel handles a burst once instead of per packet. Where the kernel refuses the offloads it is
// a plain TUN behind the same interface. Addresses, MTU and link state are set elsewhere.
import { loadNative, type NativeAddon } from '../native.js';

export interface TunDevice {
  /** The interface name the kernel gave (e.g. 'umbra0' for the template 'umbra%d'). */
  readonly name: string;
  /** True once close() has run. */
  readonly closed: boolean;
  /**
   * Sets the receiver of the packets the kernel sends into the interface, a batch at a time.
   * Each packet is a view valid only during the call (copy what you keep). Reading starts with
   * this call; until then the kernel queues packets (and drops them once its queue is full).
   * Called once.
   */
  onPackets(cb: (packets: readonly Uint8Array[]) => void): void;
  /**
   * Sets the receiver of read errors. A read error stops reading for good (close the device).
   * With no receiver set, the error is thrown as an uncaught exception, like an EventEmitter
   * 'error' nobody listens to.
   */
  onError(cb: (err: Error) => void): void;
  /**
   * Hands packets to the kernel in order, as if they had arrived on the interface. Returns how
   * many went in: what a full queue refuses is dropped, and ends the batch. Throws on other
   * errors (not an IP packet, the device is gone, the link is down) and once closed.
   */
  writeBatch(packets: readonly Uint8Array[]): number;
  /** Stops reading and closes the fd, which removes the interface. Idempotent. */
  close(): void;
}

interface TunAddon extends NativeAddon {
  openTunVnet(name: string): { fd: number; name: string };
  tunWriteCoalesced(fd: number, packets: readonly Uint8Array[], count: number): number;
}

/** Bytes of packets per batch (up to ~30 super-packets cut up), and packets per batch. */
const ARENA_BYTES = 2 * 1024 * 1024;
export const MAX_BATCH_PACKETS = 2048;

/**
 * Creates a TUN interface, with offloads unless `offload` is false (or the kernel refuses them).
 * `name` may be a fixed name, a template with one '%d' ('umbra%d'), or omitted (the kernel picks
 * 'tunN'). Needs root or CAP_NET_ADMIN; errors say what is wrong.
 */
export function openTun(name = '', { offload = true }: { offload?: boolean } = {}): TunDevice {
  const native = loadNative() as Partial<TunAddon> & NativeAddon;
  for (const f of ['openTunVnet', 'tunWriteCoalesced'] as const) {
    if (typeof native[f] !== 'function') throw new Error(`the native addon is out of date (no ${f}): run npm run build:native`);
  }
  const addon = native as TunAddon;
  if (offload) {
    try {
      return fromFd(addon, addon.openTunVnet(name), true);
    } catch (e) {
      // An older kernel without TUN offloads: the plain TUN below.
      if ((e as { syscall?: string }).syscall !== 'ioctl(TUNSETOFFLOAD)') throw e;
    }
  }
  return fromFd(addon, addon.openTun(name), false);
}

function fromFd(native: TunAddon, opened: { fd: number; name: string }, vnet: boolean): TunDevice {
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
      const meta = new Int32Array(MAX_BATCH_PACKETS * 2);
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
          // The addon has stopped this poller for good; it is not restarted.
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
      if (packets.length === 0) return 0;
      return vnet ? native.tunWriteCoalesced(fd, packets, packets.length) : native.writePackets(fd, packets);
    },
    close() {
      if (closed) return;
      closed = true;
      poll = undefined;
      native.closeFd(fd); // stops the poller first
    },
  };
}
