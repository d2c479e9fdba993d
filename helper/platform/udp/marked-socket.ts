// A node:dgram UDP socket that can carry a fwmark (SO_MARK), for the helper's own queries (the
// endpoint's DNS lookups, the leak probes' tests): marked, policy routing (`ip rule not fwmark M
// table T`, as wg-quick does) sends them around the tunnel instead of into it. Not the data path,
// which uses the native batch socket (batch-socket.ts): a query wants node:dgram's per-send error
// (EPERM from a firewall rule is an answer worth reporting), the data path drops what is refused.
import dgram from 'node:dgram';
import { internalSocketFd, loadNative } from '../native.js';
import { checkUdpOptions, type UdpSocketOptions } from './udp-options.js';

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
  const { family, mark, port, address, bufferBytes } = checkUdpOptions(opts);
  const native = loadNative();
  const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port, address }, () => {
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
