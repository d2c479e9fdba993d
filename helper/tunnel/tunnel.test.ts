// The tunnel with fake system parts (TUN, sockets, `ip`) and a real WireGuard peer on the other
// side of the fake network: the handshake goes out while the routes are still being applied,
// a failed start undoes everything (after the routing has finished), and packets move in
// batches both ways.
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError, type CommandRunner, type RunResult } from '../platform/exec.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { FakeNet, FakeTun, fakeDeps, packet, reply, sleep } from './testing/fake-net.js';
import { CLOCK_CHECK_MS, Tunnel } from './tunnel.js';

/** A runner whose `ip -batch` calls wait until released; records what ran. */
class SlowRunner implements CommandRunner {
  readonly lines: string[] = [];
  private releases: (() => void)[] = [];
  failBatch = false;
  run(argv: string[]): Promise<RunResult> {
    this.lines.push(argv.join(' '));
    if (!argv.includes('-batch')) return Promise.resolve({ stdout: '', stderr: '' });
    return new Promise((resolve, reject) => {
      this.releases.push(() => {
        if (this.failBatch) reject(new CommandError(argv, 1, 'RTNETLINK answers: File exists\nCommand failed -:2\n'));
        else resolve({ stdout: '', stderr: '' });
      });
    });
  }
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
  get pending(): number {
    return this.releases.length;
  }
}

let tunnels: Tunnel[] = [];
afterEach(async () => {
  for (const t of tunnels) await t.stop();
  tunnels = [];
});

describe('Tunnel.start', () => {
  it('sends the handshake initiation while the routes are still being applied', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const started = Tunnel.start(net.config(), {}, fakeDeps(net, tun, run));
    while (run.pending === 0) await sleep(1);
    await sleep(5);
    // The routing has not finished, yet the initiation went out and the server answered.
    expect(net.sent.flat().some((d) => d[0] === 1)).toBe(true);
    expect(net.server.peerList()[0]!.stats.lastHandshakeAt).toBeDefined();
    run.release();
    const t = await started;
    tunnels.push(t);
    expect(run.lines).toEqual(['ip -batch -']);
  });

  it("runs the caller's work for the new interface beside the routing, after the initiation, and returns when both are done", async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const seen: { name: string; routingPending: number; initiated: boolean }[] = [];
    let finish!: () => void;
    let returned = false;
    const started = Tunnel.start(net.config(), {
      // After the microtasks queued before it, as the real firewall's `nft` starts: the socket
      // sends what it queued at the end of the task.
      onInterface: async (name) => {
        await Promise.resolve();
        seen.push({ name, routingPending: run.pending, initiated: net.sent.flat().some((d) => d[0] === 1) });
        return new Promise<void>((r) => (finish = r));
      },
    }, fakeDeps(net, tun, run)).then((t) => ((returned = true), t));
    while (seen.length === 0) await sleep(1);
    expect(seen).toEqual([{ name: tun.name, routingPending: 1, initiated: true }]);
    run.release();
    await sleep(5);
    expect(returned).toBe(false); // the routes are made, the caller's work is not done
    finish();
    tunnels.push(await started);
    expect(returned).toBe(true);
  });

  it('gives the TUN of a tunnel that carries no IPv6 no link-local address, before the link goes up; leaves it otherwise', async () => {
    const net = new FakeNet();
    const run = new FakeRunner();
    tunnels.push(await Tunnel.start(net.config(), {}, { ...fakeDeps(net, new FakeTun(), run), kernelHasIpv6: () => true }));
    const batch = run.calls.find((c) => c.argv.join(' ') === 'ip -batch -')!.input!.split('\n');
    const noLinkLocal = batch.findIndex((l) => / addrgenmode none$/.test(l));
    expect(noLinkLocal).toBeGreaterThanOrEqual(0);
    expect(batch.findIndex((l) => /^link set .* up$/.test(l))).toBeGreaterThan(noLinkLocal);

    const withV6 = net.config();
    withV6.peers[0]!.allowedIPs.push({ family: 6, address: '::', bytes: new Uint8Array(16), prefix: 0 });
    const run6 = new FakeRunner();
    tunnels.push(await Tunnel.start(withV6, {}, { ...fakeDeps(new FakeNet(), new FakeTun(), run6), kernelHasIpv6: () => true }));
    const noV4Only = new FakeRunner();
    tunnels.push(await Tunnel.start(new FakeNet().config(), {}, { ...fakeDeps(new FakeNet(), new FakeTun(), noV4Only), kernelHasIpv6: () => false }));
    for (const r of [run6, noV4Only]) expect(r.calls.map((c) => c.input ?? '').join('')).not.toContain('addrgenmode');
  });

  it('back from a suspend (the boot clock ran on, the awake clock did not): a handshake at once', async () => {
    const net = new FakeNet();
    const run = new SlowRunner();
    let slept = 0;
    const d = { ...fakeDeps(net, new FakeTun(), run), now: () => performance.now() + slept, awake: () => performance.now() };
    const started = Tunnel.start(net.config(), {}, d);
    while (run.pending === 0) await sleep(1);
    run.release();
    tunnels.push(await started);
    await sleep(120);
    const initiations = () => net.sent.flat().filter((x) => x[0] === 1).length;
    const before = initiations();
    await sleep(200);
    expect(initiations()).toBe(before); // awake, nothing to do
    slept = 8 * 3_600_000; // a night's sleep
    // Noticed at the tunnel's next look at the clocks (it has no deadline sooner).
    for (let waited = 0; initiations() === before && waited < CLOCK_CHECK_MS + 500; waited += 20) await sleep(20);
    expect(initiations()).toBe(before + 1);
  });

  it('with a longer clockCheckMs (logind tells of a resume) it does not look every second; resumed() hand-shakes', async () => {
    const net = new FakeNet();
    const run = new SlowRunner();
    let slept = 0;
    const d = { ...fakeDeps(net, new FakeTun(), run), now: () => performance.now() + slept, awake: () => performance.now() };
    const started = Tunnel.start(net.config(), { clockCheckMs: 60_000 }, d);
    while (run.pending === 0) await sleep(1);
    run.release();
    const t = await started;
    tunnels.push(t);
    await sleep(120);
    const initiations = () => net.sent.flat().filter((x) => x[0] === 1).length;
    const before = initiations();
    slept = 8 * 3_600_000;
    await sleep(CLOCK_CHECK_MS + 500);
    expect(initiations()).toBe(before); // no look at the clocks: the default tunnel would have hand-shaken by now
    t.resumed();
    for (let waited = 0; initiations() === before && waited < 1000; waited += 20) await sleep(20);
    expect(initiations()).toBe(before + 1);
  });

  it('holds the engine\'s events back until start() has returned', async () => {
    const net = new FakeNet();
    const run = new SlowRunner();
    const events: string[] = [];
    const started = Tunnel.start(net.config(), { onEvent: (e) => events.push(e.type) }, fakeDeps(net, new FakeTun(), run));
    while (run.pending === 0) await sleep(1);
    await sleep(5); // the handshake has completed by now
    expect(events).toEqual([]);
    run.release();
    tunnels.push(await started);
    events.push('returned');
    await sleep(1);
    expect(events).toEqual(['returned', 'handshake-initiated', 'handshake-complete']);
  });

  it('a routing failure undoes everything, once the routing has finished', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    run.failBatch = true;
    const started = Tunnel.start(net.config(), {}, fakeDeps(net, tun, run)).catch((e: unknown) => e);
    while (run.pending === 0) await sleep(1);
    run.release();
    const err = await started;
    expect((err as Error).message).toMatch(/File exists/);
    expect(tun.closed).toBe(true);
    expect(net.socket!.closed).toBe(true);
    // Line 1 of the batch (the address) was applied, so it was undone.
    expect(run.lines).toEqual(['ip -batch -', 'ip -4 address del 100.64.1.2/32 dev umbra0']);
  });

  it('starts without an IPv6 socket where IPv6 is off, unless an endpoint needs one', async () => {
    const net = new FakeNet();
    const families: number[] = [];
    const d = fakeDeps(net, new FakeTun(), new FakeRunner());
    const open = d.openUdpSocket;
    d.openUdpSocket = (o) => {
      families.push(o.family);
      if (o.family === 6) throw new Error('EAFNOSUPPORT: IPv6 is off');
      return open(o);
    };
    // A listening config asks for both families; IPv6 failing is no reason to stay down.
    const cfg = net.config();
    const t = await Tunnel.start({ ...cfg, interface: { ...cfg.interface, listenPort: 51821 } }, {}, d);
    tunnels.push(t);
    expect(families.sort()).toEqual([4, 6]);
    // An IPv6 endpoint does need it: the error is passed on, and what was done is undone.
    const tun = new FakeTun();
    const d6 = { ...d, openTun: () => tun };
    const v6 = { ...cfg, peers: cfg.peers.map((p) => ({ ...p, endpoint: { host: '2001:db8::2', port: 51820 } })) };
    await expect(Tunnel.start(v6, {}, d6)).rejects.toThrow(/IPv6 is off/);
    expect(tun.closed).toBe(true);
  });

  it('a failure of the data path waits for the routing, then undoes it too', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const d = fakeDeps(net, tun, run);
    d.openUdpSocket = () => {
      throw new Error('no sockets today');
    };
    const started = Tunnel.start(net.config(), {}, d).catch((e: unknown) => e);
    while (run.pending === 0) await sleep(1);
    await sleep(5);
    expect(run.lines).toEqual(['ip -batch -']); // nothing undone while the routing still runs
    run.release();
    expect(((await started) as Error).message).toBe('no sockets today');
    expect(tun.closed).toBe(true);
    expect(run.lines.slice(1)).toEqual([
      'ip -4 rule del fwmark 0x7578 table main',
      'ip -4 rule del table main suppress_prefixlength 0',
      'ip -4 rule del not fwmark 0x756d table 30061',
      'ip -4 route del 0.0.0.0/0 dev umbra0 table 30061',
      'ip link set dev umbra0 mtu 1500 down',
      'ip -4 address del 100.64.1.2/32 dev umbra0',
    ]);
  });
});

describe('the data path', () => {
  it('encrypts a TUN batch into one send batch, and writes a received batch to the TUN at once', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const started = Tunnel.start(net.config(), {}, fakeDeps(net, tun, run));
    while (run.pending === 0) await sleep(1);
    run.release();
    const t = await started;
    tunnels.push(t);
    await sleep(5);
    net.sent.length = 0;

    tun.read([packet(100, 1), packet(1400, 2), packet(60, 3)]);
    await sleep(5);
    expect(net.sent.map((b) => b.length)).toEqual([3]);
    expect(net.delivered.map((p) => p[p.length - 1])).toEqual([1, 2, 3]);

    // The server sends two packets back; each arrives as its own batch here.
    const peer = net.server.peerList()[0]!;
    for (const [n, tag] of [[80, 7], [1300, 8]] as const) net.server.send(reply(n, tag), performance.now());
    await sleep(5);
    expect(peer.endpoint).toBeDefined();
    expect(tun.written.flat().map((p) => [p.length, p[p.length - 1]])).toEqual([[80, 7], [1300, 8]]);
    expect(t.peerStatus().rxBytes).toBeGreaterThan(0);
  });

  it('reports the datagrams its sockets sent in fragments for a small path MTU', async () => {
    const net = new FakeNet();
    const t = await Tunnel.start(net.config(), {}, fakeDeps(net, new FakeTun(), new FakeRunner()));
    tunnels.push(t);
    expect(t.peerStatus().pathMtuFragmented).toBe(0);
    net.pathMtuFragmented = 17;
    expect(t.peerStatus().pathMtuFragmented).toBe(17);
  });

  it("reports a path MTU the kernel learnt below the tunnel's packets, with the MTU that fits", async () => {
    const net = new FakeNet();
    const t = await Tunnel.start(net.config(), {}, fakeDeps(net, new FakeTun(), new FakeRunner()));
    tunnels.push(t);
    expect(t.pathMtu()).toBeUndefined(); // 1500 carries a tunnel of 1420 whole
    net.routeMtu = 1400;
    expect(t.pathMtu()).toEqual({ learnt: 1400, mtuThatFits: 1340 });
    net.routeMtu = 0; // no route to the server: nothing to say of its path
    expect(t.pathMtu()).toBeUndefined();
    net.routeMtu = new Error('EPERM'); // asking failed: status still answers, without the figure
    expect(t.peerStatus()).toMatchObject({ pathMtuFragmented: 0 });
    expect(t.pathMtu()).toBeUndefined();
  });

  it('reports the handshake messages its engine dropped over the budget (a flood)', async () => {
    const net = new FakeNet();
    const t = await Tunnel.start(net.config(), {}, fakeDeps(net, new FakeTun(), new FakeRunner()));
    tunnels.push(t);
    expect(t.peerStatus().handshakeFloodDropped).toBe(0);
    // Initiation-shaped datagrams (type 1, 148 bytes): far more than a second's budget.
    const junk = Array.from({ length: 2000 }, () => {
      const d = new Uint8Array(148);
      d[0] = 1;
      return d;
    });
    net.socket!.receive(junk);
    expect(t.peerStatus().handshakeFloodDropped).toBeGreaterThan(1000);
  });

  it('stop() closes the TUN and the sockets and removes the routes', async () => {
    const net = new FakeNet();
    const tun = new FakeTun();
    const run = new SlowRunner();
    const started = Tunnel.start(net.config(), {}, fakeDeps(net, tun, run));
    while (run.pending === 0) await sleep(1);
    run.release();
    const t = await started;
    expect(await t.stop()).toEqual([]);
    expect(await t.stop()).toEqual([]);
    expect(tun.closed).toBe(true);
    expect(net.socket!.closed).toBe(true);
    // The routes, the two rules and split tunnelling's rule (tunnel.ts always adds it), the address.
    expect(run.lines.filter((l) => l.includes(' del '))).toHaveLength(5);
  });
});
