// Who is on the other end of a Unix socket: the IPC server uses this to decide what a client
// may do (DESIGN.md: the helper is root; the UI runs as a user).
import type net from 'node:net';
import { internalSocketFd, loadNative, type PeerCredentials } from './native.js';

export type { PeerCredentials } from './native.js';

/**
 * The pid, uid and gid of the process at the other end of a connected Unix socket (SO_PEERCRED,
 * recorded by the kernel when it connected; a client cannot forge them). Throws for TCP
 * sockets, closed sockets and sockets not yet connected.
 */
export function peerCredentials(socket: net.Socket): PeerCredentials {
  return loadNative().peerCredentials(internalSocketFd(socket, 'the Unix socket'));
}
