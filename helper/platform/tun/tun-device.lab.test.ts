// Lab test of the TUN device and its poller: a child process inside a namespace of its own
// (utun-<pid>, never connected to the host) opens a real TUN through openTun(), with the kernel's
// offloads and without (the plain TUN where a kernel refuses them); the test gives it an address
// and checks both directions through the kernel, batching, close and exit.
// Needs root and /dev/net/tun; skipped otherwise. The namespace is deleted afterwards, also when
// a test fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildUdp4, parseUdp4, type Udp4Packet } from './testdata/ipv4-udp.js';
import { MAX_BATCH_PACKETS } from './tun-device.js';
import { ipIn, LabChild, labSkipReason, type LabEvent } from './testdata/lab-child.js';

const ns = `utun-${process.pid}`;

const reason = labSkipReason();

const ipNs = (...args: string[]): string => ipIn(ns, ...args);

/** The IPv4/UDP packets of the batch events from index `from` on. */
function udpPackets(child: LabChild, from = 0): Udp4Packet[] {
  return child.events
    .slice(from)
    .filter((e) => e.event === 'batch')
    .flatMap((e) => (e.packets as string[]).map((hex) => parseUdp4(Buffer.from(hex, 'hex'))))
    .filter((p): p is Udp4Packet => p !== undefined);
}

async function waitForUdp(child: LabChild, from: number, match: (p: Udp4Packet) => boolean, timeoutMs = 5000): Promise<Udp4Packet> {
  await child.waitFor(() => udpPackets(child, from).some(match), from, timeoutMs);
  return udpPackets(child, from).find(match)!;
}

describe.skipIf(reason !== undefined)(`TUN device in namespace ${ns}${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const children: LabChild[] = [];

  async function startChild(): Promise<LabChild> {
    const child = await LabChild.start(ns);
    children.push(child);
    return child;
  }

  /** A child with a TUN named from `template`, addressed 100.64.7.1/24, up and polled. */
  async function childWithTun(template: string, offload = true): Promise<{ child: LabChild; name: string }> {
    const child = await startChild();
    const opened = await child.call({ cmd: 'open-tun', name: template, offload }, 'tun-opened');
    const name = opened.name as string;
    ipNs('addr', 'add', '100.64.7.1/24', 'dev', name);
    ipNs('link', 'set', 'dev', name, 'up');
    await child.call({ cmd: 'poll' }, 'polling');
    return { child, name };
  }

  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', ns]); // a leftover of this same process, if any
    execFileSync('ip', ['netns', 'add', ns]);
    ipNs('link', 'set', 'lo', 'up');
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
  });

  afterAll(async () => {
    for (const child of children.splice(0)) await child.kill();
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it.each([
    ['with offloads', true],
    ['without offloads', false],
  ])('%s: reads what the kernel routes into the TUN, in batches, and writes packets the kernel delivers', async (_mode, offload) => {
    const { child, name } = await childWithTun('utest%d', offload);
    expect(name).toMatch(/^utest\d+$/);

    // Kernel -> TUN: a datagram to 100.64.7.2 (on the TUN's /24) leaves through the TUN.
    await child.call({ cmd: 'udp-open', id: 'tx' }, 'udp-opened');
    let from = child.events.length;
    const sent = await child.call({ cmd: 'udp-send', id: 'tx', to: '100.64.7.2', port: 7777, payload: 'hello-tun' }, 'udp-sent');
    expect(sent.errors).toEqual([]);
    const first = await waitForUdp(child, from, (p) => p.payload.toString() === 'hello-tun');
    expect(first).toMatchObject({ version: 4, protocol: 17, src: '100.64.7.1', dst: '100.64.7.2', dstPort: 7777 });

    // A burst queued before the poller runs comes out in order, in batches no larger than the arena's.
    from = child.events.length;
    const burst = await child.call({ cmd: 'udp-send', id: 'tx', to: '100.64.7.2', port: 7778, payload: 'burst', count: 300 }, 'udp-sent');
    expect(burst.errors).toEqual([]);
    await waitForUdp(child, from, (p) => p.payload.toString() === 'burst-299');
    const received = udpPackets(child, from).filter((p) => p.dstPort === 7778).map((p) => p.payload.toString());
    expect(received).toEqual(Array.from({ length: 300 }, (_, i) => `burst-${i}`));
    const sizes = child.events.slice(from).filter((e) => e.event === 'batch').map((e) => (e.packets as string[]).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH_PACKETS);
    expect(Math.max(...sizes)).toBeGreaterThan(1); // batching happened

    // TUN -> kernel: a datagram from 100.64.7.2 reaches a socket bound to 100.64.7.1.
    const rx = await child.call({ cmd: 'udp-open', id: 'rx', address: '100.64.7.1' }, 'udp-opened');
    const packet = buildUdp4('100.64.7.2', '100.64.7.1', 4444, rx.port as number, Buffer.from('from-tun'));
    const written = await child.call({ cmd: 'write', hex: packet.toString('hex') }, 'written');
    expect(written.count).toBe(1);
    const msg = await child.waitFor((e) => e.event === 'udp-message' && e.id === 'rx');
    expect(msg).toMatchObject({ payload: 'from-tun', from: '100.64.7.2', fromPort: 4444 });

    // Something that is not an IP packet is refused with a clear error.
    const bad = await child.request({ cmd: 'write', hex: '00112233445566778899aabbccddeeff00112233' }, (e) => e.event !== 'batch');
    expect(bad).toMatchObject({ event: 'error', code: 'EINVAL' });
    expect(bad.message).toMatch(/not an IPv4 or IPv6 packet/);

    // Close: the interface goes away and nothing is left to keep the process alive.
    expect(await child.call({ cmd: 'close-tun' }, 'tun-closed')).toEqual({
      event: 'tun-closed', id: 'tun', closed: true, writeAfterClose: `TUN device ${name} is closed`,
    });
    expect(ipNs('-o', 'link', 'show')).not.toContain(name);
    await child.call({ cmd: 'close' }, 'closed');
    expect(await child.exitsWithin(3000)).toBe(true);
    expect((await child.exited).code).toBe(0);
  });

  it('a running poller keeps the process alive (the control for the exit check above)', async () => {
    const { child } = await childWithTun('ukeep%d');
    await child.call({ cmd: 'close', keepTun: true }, 'closed');
    expect(await child.exitsWithin(1500)).toBe(false);
  });

  it('a poller whose interface is deleted reports an error, stops, and lets the process exit', async () => {
    const { child, name } = await childWithTun('udel%d');
    const from = child.events.length;
    ipNs('link', 'del', 'dev', name);
    const err = await child.waitFor((e) => e.event === 'tun-error', from);
    expect(err.message).toMatch(/interface (was )?deleted/);
    // Nothing spins: the poller stopped, so after close the process ends by itself.
    await child.call({ cmd: 'close' }, 'closed');
    expect(await child.exitsWithin(3000)).toBe(true);
    expect(child.events.filter((e: LabEvent) => e.event === 'tun-error')).toHaveLength(1);
  });

  it('tells an unprivileged user that creating a TUN needs root', async () => {
    const child = await LabChild.start(ns, 65534);
    children.push(child);
    const denied = await child.request({ cmd: 'open-tun', name: 'uperm0' }, (e) => e.event === 'error' || e.event === 'tun-opened');
    // EACCES where /dev/net/tun is 0600 (open fails), EPERM where it is 0666 (TUNSETIFF fails):
    // the device node's mode decides which, and both mean "needs root".
    expect(denied).toMatchObject({ event: 'error' });
    expect(['EPERM', 'EACCES']).toContain(denied.code);
    expect(denied.message).toMatch(/needs root \(or CAP_NET_ADMIN\)/);
  });

  it('turns kernel refusals of TUNSETIFF into errors a person can act on', async () => {
    const child = await startChild();
    const badName = await child.request({ cmd: 'open-tun', id: 'bad', name: 'bad/name' }, (e) => e.event === 'error' || e.event === 'tun-opened');
    expect(badName).toMatchObject({ event: 'error', code: 'EINVAL' });
    expect(badName.message).toMatch(/TUN name "bad\/name" was refused/);

    const notTun = await child.request({ cmd: 'open-tun', id: 'lo', name: 'lo' }, (e) => e.event === 'error' || e.event === 'tun-opened');
    expect(notTun).toMatchObject({ event: 'error', code: 'EINVAL' });

    await child.call({ cmd: 'open-tun', id: 'a', name: 'ubusy0' }, 'tun-opened');
    const busy = await child.request({ cmd: 'open-tun', id: 'b', name: 'ubusy0' }, (e) => e.event === 'error' || e.event === 'tun-opened');
    expect(busy).toMatchObject({ event: 'error', code: 'EBUSY' });
    expect(busy.message).toMatch(/"ubusy0" is busy/);

    await child.call({ cmd: 'close' }, 'closed');
    expect(await child.exitsWithin(3000)).toBe(true);
    expect(ipNs('-o', 'link', 'show')).not.toContain('ubusy0');
  });
});
