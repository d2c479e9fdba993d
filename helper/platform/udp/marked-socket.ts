// The helper's UDP socket for encrypted WireGuard traffic: a node:dgram socket that can carry a
// fwmark (SO_MARK), so that policy routing (`ip rule not fwmark M table T`, as wg-quick does)
// sends the tunnel's own packets around the tunnel instead of into it.
import dgram from 'node:dgram';
import { internalSocketFd, loadNative } from '../native.js';

/** Socket buffer size asked for by default: room for bursts at high packet rates. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UdpSocketOptions {
  family: 4 | 6;
  /** SO_MARK to set (needs root or CAP_NET_ADMIN); none when omitted. */
  mark?: number;
  /** Local port; 0 (the default) lets the kernel choose. */
  port?: number;
  /** Local address; the wildcard of the family by default. */
  address?: string;
  /** Receive and send buffer size asked for; DEFAULT_SOCKET_BUFFER_BYTES by default, 0 keeps the system's. */
  bufferBytes?: number;
}

/** The fd of a bound dgram socket, for socket options only (Node keeps owning it). */
export function dgramSocketFd(socket: dgram.Socket): number {
  return internalSocketFd(socket, 'the UDP socket');
}

/**
 * Opens and binds a UDP socket, then applies the mark and the buffer sizes through its fd.
 * Rejects, with the socket closed, when the bind or the mark fails. Buffer sizes are best
 * effort: without CAP_NET_ADMIN they are capped by net.core.[rw]mem_max.
 */
export async function openUdpSocket(opts: UdpSocketOptions): Promise<dgram.Socket> {
  const { family, mark, port = 0, bufferBytes = DEFAULT_SOCKET_BUFFER_BYTES } = opts;
  if (family !== 4 && family !== 6) throw new TypeError(`family must be 4 or 6, not ${String(family)}`);
  if (mark !== undefined && !(Number.isInteger(mark) && mark >= 0 && mark <= 0xffffffff)) {
    throw new RangeError(`mark must be an integer from 0 to 0xffffffff, not ${String(mark)}`);
  }
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new RangeError(`port must be an integer from 0 to 65535, not ${String(port)}`);
  }
  const native = loadNative();
  const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port, address: opts.address ?? (family === 4 ? '0.0.0.0' : '::') }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const fd = dgramSocketFd(socket);
    if (mark !== undefined) native.setSocketMark(fd, mark);
    if (bufferBytes > 0) {
      try {
        native.setSocketBuffers(fd, bufferBytes, bufferBytes);
      } catch {
        // Best effort: the socket works with the system's default sizes.
      }
    }
    return socket;
  } catch (e) {
    socket.close();
    throw e;
  }
}
