// findPeerUid on /proc/net/tcp text (rows as the kernel writes them), and loopbackPeerUid on a
// real connection of this process: the row it finds is the client's, owned by our uid.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { findPeerUid, loopbackPeerUid } from './peer-uid.js';

const HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
// 127.0.0.1:40000 (0x9C40) -> 127.0.0.1:8080 (0x1F90), established, uid 1000; the server's side
// of it, uid 0; a TIME_WAIT row of the same ports, uid 0 (no owner).
const TCP = [
  HEAD,
  '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0 100 0 0 10 0',
  '   1: 0100007F:9C40 0100007F:1F90 06 00000000:00000000 03:00000C2A 00000000     0        0 0 3 0',
  '   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 12 1 0 20 4 30 10 -1',
  '   3: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 13 1 0 20 4 30 10 -1',
].join('\n');
const TCP6 = [
  HEAD,
  '   0: 0000000000000000FFFF00000100007F:9C41 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 14 1 0 20 4 30 10 -1',
  '   1: 00000000000000000000000001000000:9C42 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 15 1 0 20 4 30 10 -1',
].join('\n');
const us = { address: '127.0.0.1', port: 8080 };

describe('findPeerUid', () => {
  it("finds the client's established row, not the server's or a TIME_WAIT one", () => {
    expect(findPeerUid(TCP, us, { address: '127.0.0.1', port: 40000 })).toBe(1000);
  });
  it('reads IPv4-mapped and IPv6 rows of tcp6', () => {
    expect(findPeerUid(TCP6, { address: '::ffff:127.0.0.1', port: 8080 }, { address: '::ffff:127.0.0.1', port: 40001 })).toBe(1001);
    expect(findPeerUid(TCP6, { address: '::1', port: 8080 }, { address: '::1', port: 40002 })).toBe(1002);
  });
  it('says nothing for a connection it does not list', () => {
    expect(findPeerUid(TCP, us, { address: '127.0.0.1', port: 40001 })).toBeUndefined();
    expect(findPeerUid(TCP, { address: '127.0.0.1', port: 8081 }, { address: '127.0.0.1', port: 40000 })).toBeUndefined();
  });
});

describe('loopbackPeerUid', () => {
  it('without tables: unsupported; with tables but no row: unknown', async () => {
    expect(await loopbackPeerUid(us, { address: '127.0.0.1', port: 1 }, async () => undefined)).toBe('unsupported');
    expect(await loopbackPeerUid(us, { address: '127.0.0.1', port: 1 }, async (p) => (p.endsWith('tcp') ? TCP : undefined))).toBe('unknown');
  });

  it.skipIf(process.platform !== 'linux')('finds our own uid for a real loopback connection', async () => {
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      const s = await accepted;
      const uid = await loopbackPeerUid({ address: s.localAddress!, port: s.localPort! }, { address: s.remoteAddress!, port: s.remotePort! });
      expect(uid).toBe(process.getuid!());
    } finally {
      client.destroy();
      server.close();
    }
  });
});
