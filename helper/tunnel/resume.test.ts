// A tunnel whose protocol (boot) clock jumps while its awake clock does not, as after a suspend,
// against a real WireGuard peer on a fake network that restarted meanwhile and forgot the
// session: the tunnel must hand-shake at once and never send on keys past REJECT_AFTER_TIME.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { REJECT_AFTER_TIME, REKEY_TIMEOUT } from '../wireguard/constants.js';
import { FakeNet, FakeTun, fakeDeps, packet, sleep } from './testing/fake-net.js';
import { CLOCK_CHECK_MS, Tunnel, type TunnelDeps } from './tunnel.js';

const HOUR = 3_600_000;

const isInitiation = (d: Uint8Array) => d[0] === 1;
const isTransport = (d: Uint8Array) => d[0] === 4;
/** The receiver index a transport datagram names: which session (the server's side of it) it uses. */
const receiverOf = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).getUint32(4, true);

let tunnels: Tunnel[] = [];
afterEach(async () => {
  for (const t of tunnels) await t.stop();
  tunnels = [];
});

/** `slept` moves the boot clock only; `awakeFor` moves both (time passing while awake). */
async function connectedTunnel(net: FakeNet, clocks: { slept: number; awakeFor?: number }): Promise<{ tunnel: Tunnel; tun: FakeTun }> {
  const tun = new FakeTun();
  const deps: TunnelDeps = {
    ...fakeDeps(net, tun, new FakeRunner()),
    // The boot clock counts the time asleep, the awake clock does not.
    now: () => performance.now() + (clocks.awakeFor ?? 0) + clocks.slept,
    awake: () => performance.now() + (clocks.awakeFor ?? 0),
  };
  const tunnel = await Tunnel.start(net.config(), {}, deps);
  tunnels.push(tunnel);
  for (let i = 0; i < 100 && !tunnel.device.peerList()[0]!.current; i++) await sleep(5);
  expect(tunnel.device.peerList()[0]!.current, 'the first handshake').toBeDefined();
  return { tunnel, tun };
}

describe('a tunnel back from a suspend', () => {
  // Past REJECT_AFTER_TIME only, and past the keys' erasure (KEY_ZEROING_TIME) too.
  for (const asleep of [REJECT_AFTER_TIME + 60_000, 8 * HOUR]) {
    it(`after ${asleep / 60_000} min asleep, while the server restarted: a handshake at once, and no packet on the old keys`, async () => {
      const net = new FakeNet();
      const clocks = { slept: 0 };
      const { tun } = await connectedTunnel(net, clocks);
      tun.read([packet(64, 1)]);
      await sleep(5);
      expect(net.delivered.length).toBe(1);
      const oldSession = receiverOf(net.datagrams.filter(isTransport).at(-1)!);
      await sleep(150); // awake, ticking: nothing to do
      const before = net.datagrams.length;
      expect(net.datagrams.slice(before).some(isInitiation)).toBe(false);

      net.restart(); // it forgot the session while we slept
      clocks.slept = asleep;
      const woke = performance.now();
      // Without a packet to send, the tunnel's next tick must notice and hand-shake.
      while (!net.datagrams.slice(before).some(isInitiation) && performance.now() - woke < CLOCK_CHECK_MS + 1_000) await sleep(5);
      const tookMs = performance.now() - woke;
      expect(net.datagrams.slice(before).filter(isInitiation).length, 'one initiation at once').toBe(1);
      // At the tunnel's next look at the clocks; the protocol's own timers take 15 s.
      expect(tookMs).toBeLessThan(CLOCK_CHECK_MS + 500);
      await sleep(20);
      expect(net.server.peerList()[0]!.stats.lastHandshakeAt, 'the restarted server completed the handshake').toBeDefined();

      tun.read([packet(64, 2)]);
      await sleep(20);
      expect(net.delivered.map((p) => p[63])).toEqual([1, 2]);
      const after = net.datagrams.slice(before).filter(isTransport);
      expect(after.length).toBeGreaterThan(0);
      expect(after.map(receiverOf), 'nothing sent on keys past REJECT_AFTER_TIME').not.toContain(oldSession);
    });
  }

  it('resumed() (logind said so) hand-shakes at once, even when the clocks cannot tell', async () => {
    const net = new FakeNet();
    const clocks = { slept: 0, awakeFor: 0 };
    const { tunnel } = await connectedTunnel(net, clocks);
    clocks.awakeFor = REKEY_TIMEOUT + 1_000; // past the last initiation's REKEY_TIMEOUT, awake all along
    await sleep(100);
    const before = net.datagrams.length;
    expect(net.datagrams.some(isInitiation)).toBe(true);
    tunnel.resumed();
    await sleep(5);
    expect(net.datagrams.slice(before).filter(isInitiation).length).toBe(1);
    tunnel.resumed(); // logind and the clocks both saw it: still one initiation per REKEY_TIMEOUT
    await sleep(5);
    expect(net.datagrams.slice(before).filter(isInitiation).length).toBe(1);
  });
});
