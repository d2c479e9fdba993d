// peerCredentials on real Unix sockets: a client in this process, a client in a child process
// (so a wrong implementation that returns our own pid fails), as root a child running as
// another user, and the errors for sockets that have no peer credentials.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerCredentials } from './peercred.js';

let dir: string;
let server: net.Server;
let socketPath: string;
const accepted: net.Socket[] = [];
let onAccept: ((s: net.Socket) => void) | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-peercred-'));
  chmodSync(dir, 0o755);
  socketPath = join(dir, 'ipc.sock');
  server = net.createServer((s) => {
    accepted.push(s);
    onAccept?.(s);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  chmodSync(socketPath, 0o777);
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function nextAccepted(): Promise<net.Socket> {
  return new Promise((resolve) => {
    onAccept = (s) => {
      onAccept = undefined;
      resolve(s);
    };
  });
}

/** Starts a child node that connects to the server and waits; resolves with it and the server's side. */
async function childClient(uid?: number): Promise<{ pid: number; serverSide: net.Socket; stop: () => void }> {
  const accepted = nextAccepted();
  const child = spawn(process.execPath, ['-e', `require('node:net').connect(${JSON.stringify(socketPath)}).on('data', () => process.exit(0))`], {
    stdio: 'ignore',
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  const serverSide = await accepted;
  return { pid: child.pid!, serverSide, stop: () => child.kill('SIGKILL') };
}

describe('peerCredentials', () => {
  it('gives this process for a client in this process, on both ends', async () => {
    const accepted = nextAccepted();
    const client = net.connect(socketPath);
    await new Promise((resolve) => client.once('connect', resolve));
    const serverSide = await accepted;
    const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    expect(peerCredentials(serverSide)).toEqual(me);
    expect(peerCredentials(client)).toEqual(me);
    client.destroy();
  });

  it('gives the pid of a client in another process', async () => {
    const { pid, serverSide, stop } = await childClient();
    try {
      expect(pid).not.toBe(process.pid);
      expect(peerCredentials(serverSide)).toEqual({ pid, uid: process.getuid!(), gid: process.getgid!() });
    } finally {
      stop();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('as root, gives the uid and gid of a client running as another user', async () => {
    const { pid, serverSide, stop } = await childClient(65534);
    try {
      expect(peerCredentials(serverSide)).toEqual({ pid, uid: 65534, gid: 65534 });
    } finally {
      stop();
    }
  });

  it('refuses TCP sockets and sockets that are not connected, with clear errors', async () => {
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const client = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    try {
      expect(() => peerCredentials(client)).toThrow(/only for Unix sockets/);
    } finally {
      client.destroy();
      await new Promise((resolve) => tcp.close(resolve));
    }
    expect(() => peerCredentials(new net.Socket())).toThrow(/closed or not yet open/);
  });
});
