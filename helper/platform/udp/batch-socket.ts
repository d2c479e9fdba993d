// The data path's UDP socket, without node:dgram: the native addon owns the socket (opened with
// its fwmark and buffer sizes), reads it in batches with recvmmsg and writes it in batches with
// sendmmsg. A burst of datagrams then costs one system call and one call into JS, not one each
// (node:dgram also makes a send request object, and looks the address up, per datagram). There
// is no node:dgram fallback: the addon ships with every build, and the TUN needs it anyway.
import { loadNative, type NativeAddon } from '../native.js';
import { checkUdpOptions, type UdpSocketOptions } from './udp-options.js';

/** Where a datagram comes from or goes to; the same object for the same source while it sends. */
export interface UdpEndpoint {
  host: string;
  port: number;
}

export interface BatchUdpSocket {
  readonly family: 4 | 6;
  /** The bound local port. */
  readonly port: number;
  /** The socket's fd, for socket options and tests (the socket keeps owning it). */
  readonly fd: number;
  readonly closed: boolean;
  /**
   * Queues a datagram. Queued datagrams leave together in one sendmmsg at flush(), which runs by
   * itself at the end of the current task (a microtask), or at once when the queue is full.
   * `data` must stay unchanged until then. A datagram the kernel refuses (no route, firewall,
   * full buffer) is dropped, as the network would drop it.
   */
  send(data: Uint8Array, to: UdpEndpoint): void;
  /**
   * Memory for a datagram to send(): a slice of the socket's send buffer, reused once the
   * queue has been flushed (so it must be sent before the current task ends). Its bytes are
   * not cleared.
   */
  allocate(size: number): Uint8Array;
  flush(): void;
  /**
   * Sets work that must be done before queued datagrams leave (the deferred seals that fill
   * them in: tunnel/aead-batch.ts); it runs at every flush, before the datagrams are read.
   */
  runBeforeFlush(fn: () => void): void;
  /**
   * Sets the receiver: `each` for every datagram of a batch, then `done` once. `data` is a view
   * into the socket's receive buffer, valid only during that call (copy what you keep). Reading
   * starts with the first call.
   */
  onDatagrams(each: (data: Uint8Array, from: UdpEndpoint) => void, done?: () => void): void;
  /** Receives read errors, after which the socket reads no more. */
  onError(cb: (e: Error) => void): void;
  /**
   * What sending learnt of a path MTU below the datagrams: the GSO segment cap in force (0:
   * none) and how many datagrams went one by one (fragmented by the kernel) because of it.
   */
  pathMtu(): PathMtuStats;
  /**
   * The MTU the kernel routes this socket's datagrams to `to` with: the link's, or a smaller path
   * MTU it learnt from ICMP (0: no route there). A few system calls; no packet leaves.
   */
  routeMtu(to: UdpEndpoint): number;
  /** Stops reading and closes the socket; queued datagrams are dropped. Idempotent. */
  close(): void;
}

interface PathMtuStats {
  cap: number;
  fragmented: number;
}

interface AddedAddress {
  id: number;
  host: string;
  port: number;
  sockaddr: Uint8Array;
}

/** What this module needs of the addon beyond NativeAddon (loaded by the same loader). */
export interface UdpAddon extends NativeAddon {
  udpOpen(family: 4 | 6, port: number, address: string, mark: number, bufferBytes: number): { fd: number; port: number };
  udpSockaddr(host: string, port: number): Uint8Array;
  udpSend(fd: number, datagrams: readonly Uint8Array[], sockaddrs: readonly Uint8Array[], count: number): number;
  /** Whether udpSend may use GSO on fd (on for a new socket; off by itself where refused); sets it when given. */
  udpGso(fd: number, enabled?: boolean): boolean;
  udpPathMtu(fd: number): PathMtuStats;
  udpRouteMtu(fd: number, sockaddr: Uint8Array): number;
  startPollInto(
    fd: number,
    kind: 'tun' | 'udp',
    slots: Uint8Array,
    slotSize: number,
    meta: Int32Array,
    onBatch: (count: number, added: AddedAddress[] | undefined) => void,
    onError: (e: Error) => void,
  ): number;
}

/** The addon with the batch functions; throws, saying to rebuild it, when it predates them. */
export function loadUdpAddon(): UdpAddon {
  const n = loadNative() as Partial<UdpAddon>;
  for (const f of ['udpOpen', 'udpSockaddr', 'udpSend', 'udpPathMtu', 'udpRouteMtu'] as const) {
    if (typeof n[f] !== 'function') throw new Error(`the native addon is out of date (no ${f}): run npm run build:native`);
  }
  return n as UdpAddon;
}

/** Reads per recvmmsg (a read is one datagram, or a GRO train of many). */
const BATCH = 64;
/** Datagrams per call into JS; a wake-up that read more calls again. */
const PER_CALL = 256;
/** Datagrams queued before a send goes out by itself. */
const SEND_BATCH = 128;
/** The send buffer that allocate() slices. */
const SEND_ARENA = 512 * 1024;
/** Room for the largest UDP payload, so no datagram is cut; untouched pages cost no memory. */
const SLOT = 65536;

/**
 * Opens a UDP socket for the data path (see UdpSocketOptions; `address` defaults to the
 * family's wildcard). An IPv6 socket is IPv6-only, so both families can share a port.
 */
export function openBatchUdpSocket(opts: UdpSocketOptions): BatchUdpSocket {
  const { family, mark, port, address, bufferBytes } = checkUdpOptions(opts);
  const native = loadUdpAddon();
  const { fd, port: bound } = native.udpOpen(family, port, address, mark ?? -1, bufferBytes);

  let closed = false;
  let poll: number | undefined;
  let errorHandler: ((e: Error) => void) | undefined;
  // Send queue: parallel arrays, reused from batch to batch.
  const out: Uint8Array[] = [];
  const outTo: Uint8Array[] = [];
  let queued = 0;
  let flushScheduled = false;
  let beforeFlush: (() => void) | undefined;
  // Plain Uint8Arrays, never Buffers, for memory handed out as views: Buffer's slice() makes a
  // view, not a copy, and the engine copies what it keeps with slice().
  const arena = new Uint8Array(SEND_ARENA);
  let arenaUsed = 0;
  // Sockaddrs by endpoint object; host and port are checked too, in case an object is reused.
  const sockaddrs = new WeakMap<UdpEndpoint, { host: string; port: number; sa: Uint8Array }>();
  const sockaddrOf = (to: UdpEndpoint): Uint8Array => {
    const c = sockaddrs.get(to);
    if (c && c.host === to.host && c.port === to.port) return c.sa;
    const sa = native.udpSockaddr(to.host, to.port);
    sockaddrs.set(to, { host: to.host, port: to.port, sa });
    return sa;
  };

  const flush = (): void => {
    flushScheduled = false;
    if (queued === 0 || closed) return;
    const n = queued;
    queued = 0;
    try {
      // Should the work before sending fail, the datagrams are dropped, never sent unfinished.
      beforeFlush?.();
      native.udpSend(fd, out, outTo, n);
    } finally {
      // Let go of the datagrams (not of the arrays' capacity); the arena is free again.
      for (let i = 0; i < n; i++) out[i] = outTo[i] = EMPTY;
      arenaUsed = 0;
    }
  };

  return {
    family,
    port: bound,
    fd,
    get closed() {
      return closed;
    },
    send(data, to) {
      if (closed) return;
      out[queued] = data;
      outTo[queued] = sockaddrOf(to);
      if (++queued >= SEND_BATCH) flush();
      else if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flush);
      }
    },
    allocate(size) {
      if (arenaUsed + size > SEND_ARENA) {
        flush();
        if (size > SEND_ARENA) return new Uint8Array(size);
      }
      const at = arenaUsed;
      arenaUsed += (size + 7) & ~7;
      return new Uint8Array(arena.buffer, at, size);
    },
    flush,
    runBeforeFlush(fn) {
      beforeFlush = fn;
    },
    onDatagrams(each, done) {
      if (closed) throw new Error('the UDP socket is closed');
      if (poll !== undefined) throw new Error('onDatagrams may be called once');
      const slots = new Uint8Array(BATCH * SLOT); // zeroed pages are mapped only once written
      // Per datagram: its offset in slots, its length, its source's id.
      const meta = new Int32Array(PER_CALL * 3);
      const endpoints: UdpEndpoint[] = [];
      poll = native.startPollInto(
        fd,
        'udp',
        slots,
        SLOT,
        meta,
        (count, added) => {
          if (added) {
            for (const a of added) {
              const ep = { host: a.host, port: a.port };
              sockaddrs.set(ep, { host: a.host, port: a.port, sa: a.sockaddr });
              endpoints[a.id] = ep;
            }
          }
          for (let i = 0; i < 3 * count; i += 3) {
            each(new Uint8Array(slots.buffer, meta[i]!, meta[i + 1]!), endpoints[meta[i + 2]!]!);
          }
          done?.();
        },
        (e) => {
          poll = undefined;
          if (errorHandler) errorHandler(e);
          else throw e;
        },
      );
    },
    pathMtu() {
      return closed ? { cap: 0, fragmented: 0 } : native.udpPathMtu(fd);
    },
    routeMtu(to) {
      return closed ? 0 : native.udpRouteMtu(fd, sockaddrOf(to));
    },
    onError(cb) {
      errorHandler = cb;
    },
    close() {
      if (closed) return;
      closed = true;
      queued = 0;
      poll = undefined;
      native.closeFd(fd); // stops the poller first
    },
  };
}

const EMPTY = new Uint8Array(0);
