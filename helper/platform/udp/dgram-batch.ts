// A node:dgram socket behind the BatchUdpSocket interface: the fallback of the data path where
// the native batch socket is not available (and a reference for its tests). One datagram per
// system call; each received datagram is a batch of one.
import type dgram from 'node:dgram';
import type { BatchUdpSocket, UdpEndpoint } from './batch-socket.js';
import { dgramSocketFd } from './marked-socket.js';

export function dgramBatchSocket(socket: dgram.Socket): BatchUdpSocket {
  let closed = false;
  const info = socket.address();
  // Errors of single sends (no route, firewall) drop that datagram, as the batch socket does.
  const ignore = (): void => undefined;
  return {
    family: info.family === 'IPv6' ? 6 : 4,
    port: info.port,
    fd: dgramSocketFd(socket),
    get closed() {
      return closed;
    },
    send(data: Uint8Array, to: UdpEndpoint) {
      if (!closed) socket.send(data, to.port, to.host, ignore);
    },
    // node:dgram sends asynchronously and keeps the buffer until then: a fresh one each time.
    allocate: (size) => new Uint8Array(size),
    flush() {},
    onDatagrams(each, done) {
      socket.on('message', (msg, rinfo) => {
        each(msg, { host: rinfo.address, port: rinfo.port });
        done?.();
      });
    },
    // No GSO here: a datagram over the path MTU is fragmented by the kernel like any other.
    pathMtu: () => ({ cap: 0, fragmented: 0 }),
    onError(cb) {
      socket.on('error', cb);
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
