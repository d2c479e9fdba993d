// The options of the helper's UDP sockets, checked in one place: the data path's batch socket
// (batch-socket.ts) and the marked node:dgram socket of its own queries (marked-socket.ts).

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

/** The options with their defaults filled in; throws a TypeError/RangeError for a bad one. */
export function checkUdpOptions(opts: UdpSocketOptions): Required<Omit<UdpSocketOptions, 'mark'>> & { mark: number | undefined } {
  const { family, mark, port = 0, bufferBytes = DEFAULT_SOCKET_BUFFER_BYTES } = opts;
  if (family !== 4 && family !== 6) throw new TypeError(`family must be 4 or 6, not ${String(family)}`);
  if (mark !== undefined && !(Number.isInteger(mark) && mark >= 0 && mark <= 0xffffffff)) {
    throw new RangeError(`mark must be an integer from 0 to 0xffffffff, not ${String(mark)}`);
  }
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new RangeError(`port must be an integer from 0 to 65535, not ${String(port)}`);
  }
  return { family, mark, port, bufferBytes, address: opts.address ?? (family === 4 ? '0.0.0.0' : '::') };
}
