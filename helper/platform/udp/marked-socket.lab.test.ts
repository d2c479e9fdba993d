// Lab test of SO_MARK: inside a namespace of its own (utun-<pid>, never connected to the host),
// a policy rule sends packets marked 0x1234 to table 100, whose route leads into a TUN the
// test reads, while the main table says "unreachable". So a socket from openUdpSocket with that
// mark gets its datagram out (and the test sees it arrive on the TUN), and unmarked or
// differently marked sockets get EHOSTUNREACH/ENETUNREACH: it fails if the mark is not applied.
// Needs root and /dev/net/tun; skipped otherwise. The namespace is deleted afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUdp4 } from '../tun/testdata/ipv4-udp.js';
import { ipIn, LabChild, labSkipReason } from '../tun/testdata/lab-child.js';

const ns = `utun-${process.pid}`;
const MARK = 0x1234;

const reason = labSkipReason();

const ipNs = (...args: string[]): string => ipIn(ns, ...args);

/** Payloads of the packets read from the TUN (IPv4 or IPv6 carrying UDP). */
function tunPayloads(child: LabChild): { version: number; dst: string; srcPort: number; payload: string }[] {
  return child.events
    .filter((e) => e.event === 'batch')
    .flatMap((e) => (e.packets as string[]).map((hex) => Buffer.from(hex, 'hex')))
    .flatMap((b) => {
      const v4 = parseUdp4(b);
      if (v4) return [{ version: 4, dst: v4.dst, srcPort: v4.srcPort, payload: v4.payload.toString() }];
      if (b.length >= 48 && b[0]! >> 4 === 6 && b[6] === 17) {
        const dst = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(24 + 2 * i).toString(16)).join(':');
        return [{ version: 6, dst, srcPort: b.readUInt16BE(40), payload: b.subarray(48).toString() }];
      }
      return [];
    });
}

describe.skipIf(reason !== undefined)(`SO_MARK steers policy routing, in namespace ${ns}${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let child: LabChild | undefined;

  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', ns]); // a leftover of this same process, if any
    execFileSync('ip', ['netns', 'add', ns]);
    ipNs('link', 'set', 'lo', 'up');
  });

  afterAll(async () => {
    await child?.kill();
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('a marked socket is routed by its fwmark rule, and asks its route MTU with it; unmarked and other marks are not', async () => {
    child = await LabChild.start(ns);
    const tun = (await child.call({ cmd: 'open-tun', name: 'umark%d' }, 'tun-opened')).name as string;
    ipNs('addr', 'add', '100.64.9.1/24', 'dev', tun);
    ipNs('-6', 'addr', 'add', '2001:db8:7::1/64', 'dev', tun, 'nodad');
    ipNs('link', 'set', 'dev', tun, 'up');
    for (const [family, prefix] of [['-4', '203.0.113.0/24'], ['-6', '2001:db8:9::/64']] as const) {
      ipNs(family, 'route', 'add', 'unreachable', prefix);
      ipNs(family, 'route', 'add', prefix, 'dev', tun, 'table', '100');
      ipNs(family, 'rule', 'add', 'fwmark', `0x${MARK.toString(16)}`, 'lookup', '100', 'priority', '1000');
    }
    await child.call({ cmd: 'poll' }, 'polling');

    const marked = await child.call({ cmd: 'udp-open', id: 'marked', family: 4, mark: MARK }, 'udp-opened');
    const marked6 = await child.call({ cmd: 'udp-open', id: 'marked6', family: 6, mark: MARK }, 'udp-opened');
    const plain = await child.call({ cmd: 'udp-open', id: 'plain', family: 4 }, 'udp-opened');
    const other = await child.call({ cmd: 'udp-open', id: 'other', family: 4, mark: 0x4321 }, 'udp-opened');
    expect([marked.mark, marked6.mark, plain.mark, other.mark]).toEqual([MARK, MARK, 0, 0x4321]);
    // Buffers were forced to 4 MiB (the kernel reports double) although this is a fresh namespace.
    expect([marked.rcv, marked.snd]).toEqual([8 * 1024 * 1024, 8 * 1024 * 1024]);

    const send = (id: string, to: string, payload: string) =>
      child!.call({ cmd: 'udp-send', id, to, port: 5353, payload }, 'udp-sent');
    expect((await send('marked', '203.0.113.7', 'marked-v4')).errors).toEqual([]);
    expect((await send('marked6', '2001:db8:9::7', 'marked-v6')).errors).toEqual([]);
    expect((await send('plain', '203.0.113.7', 'plain-v4')).errors).toEqual(['EHOSTUNREACH']);
    expect((await send('other', '203.0.113.7', 'other-v4')).errors).toEqual(['EHOSTUNREACH']);

    await child.waitFor(() => tunPayloads(child!).some((p) => p.payload === 'marked-v6'));
    await child.waitFor(() => tunPayloads(child!).some((p) => p.payload === 'marked-v4'));
    const seen = tunPayloads(child);
    expect(seen.find((p) => p.payload === 'marked-v4')).toEqual({ version: 4, dst: '203.0.113.7', srcPort: marked.port, payload: 'marked-v4' });
    expect(seen.find((p) => p.payload === 'marked-v6')).toEqual({ version: 6, dst: '2001:db8:9:0:0:0:0:7', srcPort: marked6.port, payload: 'marked-v6' });
    expect(seen.map((p) => p.payload)).not.toContain('plain-v4');
    expect(seen.map((p) => p.payload)).not.toContain('other-v4');

    // The data path's socket asks its route's MTU as it sends: with its mark (table 100's route
    // says 1300 and 1350), and 0 where it has no route.
    ipNs('-4', 'route', 'change', '203.0.113.0/24', 'dev', tun, 'table', '100', 'mtu', '1300');
    ipNs('-6', 'route', 'change', '2001:db8:9::/64', 'dev', tun, 'table', '100', 'mtu', '1350');
    const routeMtu = async (family: 4 | 6, to: string, mark?: number) =>
      (await child!.call({ cmd: 'route-mtu', family, to, ...(mark === undefined ? {} : { mark }) }, 'route-mtu')).mtu;
    expect(await routeMtu(4, '203.0.113.7', MARK)).toBe(1300);
    expect(await routeMtu(6, '2001:db8:9::7', MARK)).toBe(1350);
    expect(await routeMtu(4, '203.0.113.7')).toBe(0);
    expect(await routeMtu(4, '203.0.113.7', 0x4321)).toBe(0);

    await child.call({ cmd: 'close' }, 'closed');
    expect(await child.exitsWithin(3000)).toBe(true);
  });
});
