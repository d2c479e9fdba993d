// Loads the helper's N-API addon (helper/native, built by `npm run build:native`) and describes
// what it exports. The addon is loaded on first use, so importing this module never fails; the
// first call tells the user how to build the addon when it is missing.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * The functions of umbra_native.node. Arguments are checked: a wrong type or range throws a
 * TypeError/RangeError, a failed system call a {@link NativeSystemError} whose message says what
 * to do about it. Linux only.
 */
export interface NativeAddon {
  /**
   * Opens /dev/net/tun (O_RDWR|O_NONBLOCK|O_CLOEXEC) and attaches a TUN interface
   * (IFF_TUN|IFF_NO_PI: bare IPv4/IPv6 packets, no extra header). `name` may be '' (the kernel
   * picks tunN) or a template with one '%d' such as 'umbra%d'; at most 15 bytes. Returns the fd
   * and the interface's actual name. The interface disappears when the fd is closed.
   */
  openTun(name: string): { fd: number; name: string };
  /**
   * Polls `fd` for readability on the main libuv loop (uv_poll_t, no thread pool). Each time it
   * is readable the addon reads what it can into `arena` (kind 'tun': one read() per packet,
   * packets one after another; 'tun-vnet': a TUN with offload headers, super-packets cut into
   * segments; 'udp': recvmmsg into slots of `slotSize`, GRO trains cut into datagrams),
   * describes the packets in `meta` and calls `onBatch` with their count: once per wake-up, or
   * more often when `meta` cannot describe all that was read. A failure of the poll or of a read stops the poller
   * (its handle is then dead) and goes to `onError`. A running poller keeps the process alive. An
   * exception thrown by a callback becomes an uncaught exception. Returns a handle for
   * {@link stopPoll}. One poller per fd. (The TUN and UDP modules say what `meta` holds.)
   */
  startPollInto(
    fd: number,
    kind: 'tun' | 'tun-vnet' | 'udp',
    arena: Uint8Array,
    slotSize: number,
    meta: Int32Array,
    onBatch: (count: number, added?: unknown) => void,
    onError: (err: Error) => void,
  ): number;
  /**
   * Stops a poller: once this returns, its callbacks never fire again, and its libuv handle is
   * closed so it no longer holds the loop open. Unknown or stopped handles are ignored.
   */
  stopPoll(handle: number): void;
  /**
   * Writes packets in order without blocking; returns how many were written. A dropped packet
   * (EAGAIN: the kernel's queue is full) ends the batch. Other errors (EINVAL: not an IP packet;
   * EIO: link down; an empty packet is a RangeError) throw, with a `written` property counting
   * the packets written before.
   */
  writePackets(fd: number, packets: readonly Uint8Array[]): number;
  /** Closes an fd, stopping first any poller still watching it. EBADF throws. */
  closeFd(fd: number): void;
  /** setsockopt(SOL_SOCKET, SO_MARK): the fwmark policy routing and nftables match on. Needs CAP_NET_ADMIN. */
  setSocketMark(fd: number, mark: number): void;
  /** getsockopt(SOL_SOCKET, SO_MARK). */
  getSocketMark(fd: number): number;
  /**
   * Sets SO_RCVBUF/SO_SNDBUF (bytes; 0 leaves one unchanged), with the *FORCE variants when
   * permitted (they ignore net.core.[rw]mem_max), else the plain ones (capped by it). Returns
   * the sizes the kernel then reports, which Linux doubles for its own bookkeeping.
   */
  setSocketBuffers(fd: number, rcv: number, snd: number): { rcv: number; snd: number };
  /**
   * getsockopt(SO_PEERCRED) on a connected Unix socket: the peer's pid, uid and gid as the
   * kernel recorded them at connect() time. Throws for other sockets or when not connected.
   */
  peerCredentials(fd: number): PeerCredentials;
  /** clock_gettime(CLOCK_BOOTTIME) in ms: monotonic, and counts time spent suspended. */
  bootClockMs(): number;
}

const ADDON_RELATIVE_PATH = join('helper', 'native', 'build', 'Release', 'umbra_native.node');
const EXPORTS: readonly (keyof NativeAddon)[] = [
  'openTun', 'startPollInto', 'stopPoll', 'writePackets', 'closeFd',
  'setSocketMark', 'getSocketMark', 'setSocketBuffers', 'peerCredentials', 'bootClockMs',
];

/**
 * Where the addon is expected: helper/native/build/Release/umbra_native.node under the project
 * root, found by walking up from this file's directory (helper/platform/ when run from source,
 * dist/helper/platform/ when compiled) to the first directory that has it, stopping at the
 * directory holding package.json. Returns the path at the project root when none has it.
 */
export function nativeAddonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (existsSync(join(dir, 'package.json')) || parent === dir) return candidate;
    dir = parent;
  }
}

let cached: NativeAddon | undefined;

/** The addon, loaded once. Throws an Error saying how to build it when it is missing or stale. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    throw new Error(`the native addon is not built (no ${path}): run npm run build:native`);
  }
  let addon: Partial<NativeAddon>;
  try {
    addon = createRequire(import.meta.url)(path) as Partial<NativeAddon>;
  } catch (e) {
    throw new Error(`loading the native addon ${path} failed: ${(e as Error).message}; run npm run build:native`, { cause: e });
  }
  const missing = EXPORTS.filter((name) => typeof addon[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(`the native addon ${path} is out of date (missing ${missing.join(', ')}): run npm run build:native`);
  }
  cached = addon as NativeAddon;
  return cached;
}

/**
 * The file descriptor under a node:net or node:dgram socket.
 *
 * Node has no public API for this, so this is the one place that reads Node internals: the
 * libuv handle wrapper (TCPWrap, PipeWrap, UDPWrap) exposes `fd` on Unix. A net.Socket keeps it
 * in `_handle`. A dgram.Socket keeps it in its internal state object (own symbol "state symbol")
 * as `handle`; its `_handle` getter leads there too but prints deprecation DEP0112, so it is
 * only the fallback. A Node upgrade that changes this breaks here, loudly. The fd stays owned by
 * Node: use it for socket options only, never close it.
 */
export function internalSocketFd(socket: object, what: string): number {
  type Handle = { fd?: unknown } | null | undefined;
  const state = Object.getOwnPropertySymbols(socket)
    .filter((key) => key.description === 'state symbol')
    .map((key) => (socket as Record<symbol, unknown>)[key])
    .find((value): value is { handle: Handle } => typeof value === 'object' && value !== null && 'handle' in value);
  const handle = state ? state.handle : (socket as { _handle?: Handle })._handle;
  if (handle === undefined || handle === null) {
    throw new Error(`${what} has no handle: it is closed or not yet open`);
  }
  const fd = handle.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new Error(`cannot get the file descriptor of ${what} (got ${String(fd)}): it is not bound or connected yet, or this Node version no longer exposes it`);
  }
  return fd;
}
