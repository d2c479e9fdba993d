// openUdpSocket outside any lab: binding, loopback traffic, argument checks, errors, and (as
// root) the mark and forced buffer sizes as socket options. Nothing is sent beyond loopback; that
// the mark steers routing is tested in marked-socket.lab.test.ts.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '../native.js';
import { dgramSocketFd, openUdpSocket } from './marked-socket.js';
import { DEFAULT_SOCKET_BUFFER_BYTES } from './udp-options.js';

const isRoot = process.getuid?.() === 0;
const opened: dgram.Socket[] = [];

async function open(opts: Parameters<typeof openUdpSocket>[0]): Promise<dgram.Socket> {
  const socket = await openUdpSocket(opts);
  opened.push(socket);
  return socket;
}

function echoOnce(socket: dgram.Socket, to: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('message', (msg) => resolve(msg.toString()));
    socket.send(payload, socket.address().port, to, (err) => err && reject(err));
  });
}

afterEach(() => {
  for (const s of opened.splice(0)) {
    try {
      s.close();
    } catch {
      // already closed by the test
    }
  }
});

describe('openUdpSocket', () => {
  it('binds an IPv4 socket to a kernel-chosen port that carries datagrams, unmarked', async () => {
    const socket = await open({ family: 4, address: '127.0.0.1' });
    expect(socket.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    expect(socket.address().port).toBeGreaterThan(0);
    expect(await echoOnce(socket, '127.0.0.1', 'loop4')).toBe('loop4');
    expect(loadNative().getSocketMark(dgramSocketFd(socket))).toBe(0);
  });

  it('binds an IPv6 socket', async () => {
    const socket = await open({ family: 6, address: '::1' });
    expect(socket.address()).toMatchObject({ address: '::1', family: 'IPv6' });
    expect(await echoOnce(socket, '::1', 'loop6')).toBe('loop6');
  });

  it('checks its options', async () => {
    await expect(openUdpSocket({ family: 5 as 4 })).rejects.toThrow(TypeError);
    await expect(openUdpSocket({ family: 4, mark: -1 })).rejects.toThrow(RangeError);
    await expect(openUdpSocket({ family: 4, mark: 1.5 })).rejects.toThrow(RangeError);
    await expect(openUdpSocket({ family: 4, mark: 2 ** 32 })).rejects.toThrow(RangeError);
    await expect(openUdpSocket({ family: 4, port: 65536 })).rejects.toThrow(RangeError);
  });

  it('rejects when the port is taken', async () => {
    const first = await open({ family: 4, address: '127.0.0.1' });
    await expect(openUdpSocket({ family: 4, address: '127.0.0.1', port: first.address().port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it.skipIf(isRoot)('without CAP_NET_ADMIN, a mark rejects with what is needed', async () => {
    await expect(openUdpSocket({ family: 4, address: '127.0.0.1', mark: 0x1234 })).rejects.toThrow('setting SO_MARK needs root (or CAP_NET_ADMIN)');
  });

  it.skipIf(!isRoot)('as root, sets the mark on the socket', async () => {
    const socket = await open({ family: 4, address: '127.0.0.1', mark: 0xca6c });
    expect(loadNative().getSocketMark(dgramSocketFd(socket))).toBe(0xca6c);
  });

  it.skipIf(!isRoot)('as root, forces buffer sizes past net.core.[rw]mem_max (the kernel reports double)', async () => {
    const standard = await open({ family: 4, address: '127.0.0.1' });
    expect(standard.getRecvBufferSize()).toBe(2 * DEFAULT_SOCKET_BUFFER_BYTES);
    expect(standard.getSendBufferSize()).toBe(2 * DEFAULT_SOCKET_BUFFER_BYTES);
    const big = await open({ family: 4, address: '127.0.0.1', bufferBytes: 16 * 1024 * 1024 });
    expect(big.getRecvBufferSize()).toBe(32 * 1024 * 1024);
    const untouched = await open({ family: 4, address: '127.0.0.1', bufferBytes: 0 });
    expect(untouched.getRecvBufferSize()).toBeLessThan(2 * DEFAULT_SOCKET_BUFFER_BYTES);
  });
});

describe('dgramSocketFd', () => {
  it('gives the fd of a bound socket and a clear error otherwise', async () => {
    const socket = await open({ family: 4, address: '127.0.0.1' });
    expect(dgramSocketFd(socket)).toBeGreaterThan(2);
    const unbound = dgram.createSocket('udp4');
    expect(() => dgramSocketFd(unbound)).toThrow(/not bound or connected yet/);
    unbound.close();
    expect(() => dgramSocketFd(unbound)).toThrow(/closed or not yet open/);
  });
});
