// The TUN device: an interface whose packets the helper reads and writes through an fd (Linux,
// via the native addon). Addresses, MTU and link state are set elsewhere (with `ip`).
import { loadNative } from '../native.js';

export interface TunDevice {
  /** The interface name the kernel gave (e.g. 'umbra0' for the template 'umbra%d'). */
  readonly name: string;
  /** True once close() has run. */
  readonly closed: boolean;
  /**
   * Hands one IPv4/IPv6 packet to the kernel, as if it had arrived on the interface. false: the
   * kernel would have blocked and the packet was dropped. Throws on other errors and once closed.
   */
  write(packet: Uint8Array): boolean;
  /** Writes packets in order; returns how many were written (a dropped one ends the batch). */
  writeBatch(packets: readonly Uint8Array[]): number;
  /**
   * Sets the receiver of the packets the kernel sends into the interface, in batches of at most
   * 128 (each Buffer is one whole packet). Reading starts with the first call; until then the
   * kernel queues packets (and drops them once its queue is full). A later call replaces the
   * receiver.
   */
  onPackets(cb: (packets: Buffer[]) => void): void;
  /**
   * Sets the receiver of read errors. A read error stops reading for good (close the device).
   * With no receiver set, the error is thrown as an uncaught exception, like an EventEmitter
   * 'error' nobody listens to.
   */
  onError(cb: (err: Error) => void): void;
  /** Stops reading and closes the fd, which removes the interface. Idempotent. */
  close(): void;
}

/**
 * Creates a TUN interface. `name` may be a fixed name, a template with one '%d' ('umbra%d'),
 * or omitted (the kernel picks 'tunN'). Needs root or CAP_NET_ADMIN; errors say what is wrong.
 */
export function openTun(name = ''): TunDevice {
  const native = loadNative();
  const { fd, name: actualName } = native.openTun(name);

  let closed = false;
  let pollHandle: number | undefined;
  let pollFailed = false;
  let packetHandler: ((packets: Buffer[]) => void) | undefined;
  let errorHandler: ((err: Error) => void) | undefined;

  const assertOpen = (): void => {
    if (closed) throw new Error(`TUN device ${actualName} is closed`);
  };

  return {
    name: actualName,
    get closed() {
      return closed;
    },
    write(packet) {
      assertOpen();
      return native.writePacket(fd, packet);
    },
    writeBatch(packets) {
      assertOpen();
      return native.writePackets(fd, packets);
    },
    onPackets(cb) {
      assertOpen();
      packetHandler = cb;
      if (pollHandle !== undefined || pollFailed) return;
      pollHandle = native.startPoll(
        fd,
        (packets) => packetHandler?.(packets),
        (err) => {
          pollHandle = undefined; // the addon has stopped this poller for good
          pollFailed = true;
          if (errorHandler) errorHandler(err);
          else throw err;
        },
      );
    },
    onError(cb) {
      errorHandler = cb;
    },
    close() {
      if (closed) return;
      closed = true;
      if (pollHandle !== undefined) native.stopPoll(pollHandle);
      pollHandle = undefined;
      native.closeFd(fd);
    },
  };
}
