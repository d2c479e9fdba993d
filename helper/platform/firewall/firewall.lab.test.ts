// Lab test of the kill switch with real traffic: applies rulesets with Firewall (its nft runs in
// the client namespace through netnsRunner) and probes what passes, in a topology of three
// namespaces of its own (ukf-<pid>-c/-r/-k, see testdata/topology.ts) never connected to the
// host. Needs root, nft, iproute2, ping and the native addon (for SO_MARK); skipped otherwise.
// The namespaces are deleted afterwards, also when a test fails.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earlyBoot, EARLY_BOOT_NOTICE } from '../../commands/early-boot.js';
import { UMBRA_FWMARK } from '../routing/constants.js';
import { netnsRunner } from '../testing/netns-runner.js';
import { labSkipReason } from '../tun/testdata/lab-child.js';
import { bootSpec, removeBootRuleset, writeBootRuleset } from './boot.js';
import { Firewall, startWatchdog, type RestoreReason } from './firewall.js';
import { specHash, type KillSwitchSpec } from './ruleset.js';
import { NetChild, type NetEvent } from './testdata/net-child.js';
import { ADDR, buildLab, deleteLab, inNs, nftInput, sh, type Lab } from './testdata/topology.js';

const prefix = `ukf-${process.pid}`;
const reason =
  labSkipReason() ??
  (spawnSync('nft', ['--version']).status !== 0 ? 'nft is missing (apt-get install nftables)' : undefined) ??
  (spawnSync('ping', ['-V']).status !== 0 ? 'ping is missing' : undefined);

const SPEC: KillSwitchSpec = {
  tunnelInterface: 'umbra0',
  endpoints: [
    { address: ADDR.endpoint4, port: ADDR.endpointPort },
    { address: ADDR.endpoint6, port: ADDR.endpointPort },
  ],
  fwmark: UMBRA_FWMARK,
  dnsServers: [ADDR.dns4, ADDR.dns6],
  lanPrefixes: [],
};
const WITH_LAN: KillSwitchSpec = { ...SPEC, lanPrefixes: [ADDR.lan4, ADDR.lan6] };

const OTHER_TABLE = `table inet other {
  set blocked {
    type ipv4_addr
    elements = { 198.51.100.99 }
  }
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr @blocked drop
  }
}
`;

describe.skipIf(reason !== undefined)(`kill switch with real traffic, in namespaces ${prefix}-*${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: Lab;
  let client: NetChild;
  let router: NetChild;
  let container: NetChild;
  let fw: Firewall;
  let stateDir: string;

  const nftC = (...args: string[]) => inNs(lab.client, 'nft', ...args);
  const tables = () => nftC('list', 'tables').trim().split('\n').filter(Boolean).sort();
  const otherListing = () => nftC('list', 'table', 'inet', 'other');
  /** (Re)creates the bystander table `inet other`, so a test does not depend on an earlier one. */
  const ensureOther = () => nftInput(lab.client, `add table inet other\ndelete table inet other\n${OTHER_TABLE}`);

  // ---- probes (from the client unless said otherwise)
  const udp = (to: string, port: number, opts: { mark?: number; from?: NetChild } = {}) =>
    (opts.from ?? client).call({ cmd: 'udp', family: to.includes(':') ? 6 : 4, to, port, ...(opts.mark === undefined ? {} : { mark: opts.mark }) });
  const tcp = (to: string, port: number, from: NetChild = client) => from.call({ cmd: 'tcp', to, port });
  const ping = (ns: string, to: string) => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', '1', to]).status === 0;

  const udpPasses = (r: NetEvent) => r.sendError === null && (r.reply as { payload?: string } | null)?.payload === r.id;
  const tcpPasses = (r: NetEvent) => r.error === null && r.reply === r.id;
  /** Refused at once by our reject: EPERM from the send (UDP) or a reset/EPERM on connect (TCP). */
  const udpRefused = (r: NetEvent) => r.sendError === 'EPERM';
  const tcpRefused = (r: NetEvent) => (r.error === 'ECONNREFUSED' || r.error === 'EPERM') && (r.ms as number) < 1000;

  async function expectUdp(to: string, port: number, passes: boolean, opts: { mark?: number; from?: NetChild } = {}) {
    const r = await udp(to, port, opts);
    expect(passes ? udpPasses(r) : !udpPasses(r), `udp to ${to}:${port}${opts.mark ? ' marked' : ''}: ${JSON.stringify(r)}`).toBe(true);
    return r;
  }
  async function expectTcp(to: string, port: number, passes: boolean, from?: NetChild) {
    const r = await tcp(to, port, from);
    expect(passes ? tcpPasses(r) : !tcpPasses(r), `tcp to ${to}:${port}: ${JSON.stringify(r)}`).toBe(true);
    return r;
  }

  beforeAll(async () => {
    lab = buildLab(prefix);
    router = await NetChild.start(lab.router);
    await router.command(
      {
        cmd: 'serve',
        udp: [
          { address: ADDR.endpoint4, port: ADDR.endpointPort },
          { address: ADDR.endpoint6, port: ADDR.endpointPort },
          { address: ADDR.endpoint4, port: 7 },
          { address: ADDR.internet4, port: 7 },
          { address: ADDR.internet6, port: 7 },
          { address: ADDR.dns4, port: 53 },
          { address: ADDR.dns6, port: 53 },
          { address: ADDR.otherDns4, port: 53 },
          { address: ADDR.routerLan4, port: 7 },
          { address: ADDR.routerLan6, port: 7 },
          { address: ADDR.routerTun4, port: 7 },
          { address: ADDR.routerTun6, port: 7 },
        ],
        tcp: [53, 80],
      },
      'serving',
    );
    client = await NetChild.start(lab.client);
    container = await NetChild.start(lab.container);
    fw = new Firewall(netnsRunner(lab.client));
    stateDir = await mkdtemp(join(tmpdir(), 'umbra-ukf-'));
  });

  afterAll(async () => {
    await Promise.all([client?.kill(), router?.kill(), container?.kill()]);
    if (lab) deleteLab(lab);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('without the kill switch, everything in the lab is reachable (baseline)', async () => {
    expect(tables()).toEqual([]);
    await expectTcp(ADDR.internet4, 80, true);
    await expectUdp(ADDR.internet4, 7, true);
    await expectTcp(ADDR.internet6, 80, true);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    await expectUdp(ADDR.otherDns4, 53, true);
    await expectTcp(ADDR.routerLan4, 80, true);
    await expectTcp(ADDR.internet4, 80, true, container);
    await expectTcp(ADDR.routerTun4, 80, true, container);
    expect(ping(lab.client, ADDR.internet4)).toBe(true);
    expect(ping(lab.client, ADDR.internet6)).toBe(true);
    ensureOther();
    expect(tables()).toEqual(['table inet other']);
  });

  it('blocks the internet at once, but passes the marked UDP to the endpoint and the tunnel', async () => {
    const other = otherListing();
    await fw.apply(SPEC);
    expect(tables()).toEqual(['table inet other', 'table inet umbra']);
    expect(otherListing()).toBe(other);
    expect(await fw.currentSpecHash()).toBe(specHash(SPEC));

    // The internet, directly: refused at once (no timeouts), TCP, UDP, ICMP, IPv4 and IPv6.
    expect(tcpRefused(await expectTcp(ADDR.internet4, 80, false))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.internet4, 7, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.internet6, 80, false))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.internet6, 7, false))).toBe(true);
    expect(ping(lab.client, ADDR.internet4)).toBe(false);
    expect(ping(lab.client, ADDR.internet6)).toBe(false);

    // The encrypted UDP: marked to the endpoint passes (both families), the reply comes back;
    // unmarked, or to another port or host, it does not.
    const ok = await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    expect(ok.reply).toMatchObject({ from: ADDR.endpoint4, fromPort: ADDR.endpointPort });
    await expectUdp(ADDR.endpoint6, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    expect(udpRefused(await expectUdp(ADDR.endpoint4, ADDR.endpointPort, false))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.endpoint6, ADDR.endpointPort, false))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.endpoint4, 7, false, { mark: UMBRA_FWMARK }))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.internet4, 7, false, { mark: UMBRA_FWMARK }))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.endpoint4, ADDR.endpointPort, false, { mark: UMBRA_FWMARK + 1 }))).toBe(true);

    // Through the tunnel interface: anything.
    await expectTcp(ADDR.routerTun4, 80, true);
    await expectUdp(ADDR.routerTun4, 7, true);
    await expectTcp(ADDR.routerTun6, 80, true);
    await expectUdp(ADDR.routerTun6, 7, true);
    expect(ping(lab.client, ADDR.routerTun4)).toBe(true);
    expect(ping(lab.client, ADDR.routerTun6)).toBe(true);
    // The same internet host passes once it is routed into the tunnel.
    sh('ip', '-n', lab.client, 'route', 'add', `${ADDR.internet4}/32`, 'via', ADDR.routerTun4, 'dev', 'umbra0');
    try {
      await expectTcp(ADDR.internet4, 80, true);
    } finally {
      sh('ip', '-n', lab.client, 'route', 'del', `${ADDR.internet4}/32`);
    }

    // The LAN is blocked without "allow LAN".
    expect(tcpRefused(await expectTcp(ADDR.routerLan4, 80, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.routerLan6, 80, false))).toBe(true);
  });

  it('lets DNS go only through the tunnel to its servers', async () => {
    // Allowed servers through the tunnel: UDP and TCP, IPv4 and IPv6.
    await expectUdp(ADDR.dns4, 53, true);
    await expectTcp(ADDR.dns4, 53, true);
    await expectUdp(ADDR.dns6, 53, true);
    // Another server through the tunnel: refused.
    expect(udpRefused(await expectUdp(ADDR.otherDns4, 53, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.otherDns4, 53, false))).toBe(true);
    // The allowed server, but outside the tunnel: refused.
    sh('ip', '-n', lab.client, 'route', 'replace', `${ADDR.dns4}/32`, 'via', ADDR.routerLan4, 'dev', 'eth0');
    try {
      expect(udpRefused(await expectUdp(ADDR.dns4, 53, false))).toBe(true);
      expect(tcpRefused(await expectTcp(ADDR.dns4, 53, false))).toBe(true);
    } finally {
      sh('ip', '-n', lab.client, 'route', 'replace', `${ADDR.dns4}/32`, 'via', ADDR.routerTun4, 'dev', 'umbra0');
    }
    // Even with "allow LAN", a resolver in the LAN is not reachable on port 53.
    await fw.apply(WITH_LAN);
    sh('ip', '-n', lab.client, 'route', 'replace', `${ADDR.dns4}/32`, 'via', ADDR.routerLan4, 'dev', 'eth0');
    try {
      expect(udpRefused(await expectUdp(ADDR.routerLan4, 53, false))).toBe(true);
    } finally {
      sh('ip', '-n', lab.client, 'route', 'replace', `${ADDR.dns4}/32`, 'via', ADDR.routerTun4, 'dev', 'umbra0');
      await fw.apply(SPEC);
    }
  });

  it('keeps the DHCP and neighbour-discovery rules in the kernel', () => {
    const listing = nftC('list', 'table', 'inet', 'umbra');
    expect(listing).toContain('meta nfproto ipv4 udp sport 68 udp dport 67 accept');
    expect(listing).toContain('meta nfproto ipv4 udp sport 67 udp dport 68 accept');
    expect(listing).toContain('udp sport 546 udp dport 547 accept');
    expect(listing).toMatch(/icmpv6 type \{ nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert \} ip6 hoplimit 255 accept/);
  });

  it('passes the LAN prefixes only when given', async () => {
    await fw.apply(WITH_LAN);
    await expectTcp(ADDR.routerLan4, 80, true);
    await expectUdp(ADDR.routerLan4, 7, true);
    await expectTcp(ADDR.routerLan6, 80, true); // needs neighbour discovery with a global source
    await expectUdp(ADDR.routerLan6, 7, true);
    expect(ping(lab.client, ADDR.routerLan4)).toBe(true);
    // Still nothing beyond the LAN.
    expect(tcpRefused(await expectTcp(ADDR.internet4, 80, false))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.internet6, 7, false))).toBe(true);
    // And a container may reach the LAN.
    await expectTcp(ADDR.routerLan4, 80, true, container);
    await fw.apply(SPEC);
    expect(tcpRefused(await expectTcp(ADDR.routerLan4, 80, false))).toBe(true);
    await expectTcp(ADDR.routerLan4, 80, false, container);
  });

  it('keeps forwarded traffic (containers) in the tunnel', async () => {
    // Through the client's uplink: dropped (a timeout, not a refusal: forward drops).
    const direct = await tcp(ADDR.internet4, 80, container);
    expect(direct.error).toBe('TIMEOUT');
    await expectUdp(ADDR.internet4, 7, false, { from: container });
    // Through the tunnel: passes, replies included.
    await expectTcp(ADDR.routerTun4, 80, true, container);
    await expectUdp(ADDR.routerTun4, 7, true, { from: container });
    // DNS from the container to a server other than the tunnel's: refused in forward too.
    const dns = await udp(ADDR.otherDns4, 53, { from: container });
    expect(udpPasses(dns)).toBe(false);
  });

  it('replaces the ruleset atomically: no leak and no interruption while it switches', async () => {
    const other = otherListing();
    const count = 1500;
    const leak = client.call({ cmd: 'stream', to: ADDR.internet4, port: 7, count, id: 'leak' }, 30_000);
    const tunnel = client.call({ cmd: 'stream', to: ADDR.endpoint4, port: ADDR.endpointPort, mark: UMBRA_FWMARK, count, id: 'wg' }, 30_000);
    let switches = 0;
    const started = Date.now();
    while (Date.now() - started < 1200) {
      await fw.apply(switches % 2 === 0 ? WITH_LAN : SPEC);
      switches++;
    }
    const [l, t] = await Promise.all([leak, tunnel]);
    expect(switches).toBeGreaterThanOrEqual(10);
    // Every unmarked datagram was refused, and the internet host received none of them.
    expect(l.errors).toEqual({ EPERM: count });
    expect(router.events.filter((e) => e.event === 'udp-recv' && String(e.payload).startsWith('leak-'))).toEqual([]);
    // Every marked datagram went out and came back.
    expect(t.errors).toEqual({});
    expect(t.replies).toBe(count);
    // Exactly one table of ours, holding the last spec; the other table untouched.
    const last = switches % 2 === 0 ? SPEC : WITH_LAN;
    expect(tables()).toEqual(['table inet other', 'table inet umbra']);
    expect(await fw.currentSpecHash()).toBe(specHash(last));
    expect(otherListing()).toBe(other);
    await fw.apply(SPEC);
  });

  it('the watchdog restores the table after nft flush ruleset, a replacement or an edit', async () => {
    const restores: { why: RestoreReason; at: number }[] = [];
    const errors: string[] = [];
    const wd = startWatchdog(fw, { expected: () => SPEC, onRestore: (why) => restores.push({ why, at: Date.now() }), onError: (e) => errors.push(e.message) });
    const waitRestore = async (n: number, since: number) => {
      const deadline = since + 2500;
      while (restores.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(restores.length, `errors: ${errors.join('; ')}`).toBe(n);
      return restores[n - 1]!.at - since;
    };
    await fw.apply(SPEC);
    try {
      await wd.checkNow(); // the listing after apply is the reference

      let t0 = Date.now();
      nftC('flush', 'ruleset');
      expect(tables()).toEqual([]);
      expect(await waitRestore(1, t0)).toBeLessThanOrEqual(2000);
      expect(restores[0]!.why).toBe('the table was missing');
      expect(tables()).toEqual(['table inet umbra']);
      expect(udpRefused(await udp(ADDR.internet4, 7))).toBe(true);

      t0 = Date.now();
      nftInput(lab.client, 'delete table inet umbra\ntable inet umbra {\n\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\t}\n}\n');
      expect(await waitRestore(2, t0)).toBeLessThanOrEqual(2000);
      expect(restores[1]!.why).toBe('the table held a different ruleset');

      t0 = Date.now();
      nftC('insert', 'rule', 'inet', 'umbra', 'output', 'accept');
      expect(await waitRestore(3, t0)).toBeLessThanOrEqual(2000);
      expect(restores[2]!.why).toBe('the table had been modified');
      expect(nftC('list', 'table', 'inet', 'umbra').split('\n').map((l) => l.trim())).not.toContain('accept');
      expect(udpRefused(await udp(ADDR.internet4, 7))).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      wd.stop();
      ensureOther();
    }
  });

  it('remove() deletes only our table, and traffic flows again', async () => {
    await fw.apply(SPEC);
    const other = otherListing();
    await fw.remove();
    await fw.remove(); // absent: no error
    expect(tables()).toEqual(['table inet other']);
    expect(otherListing()).toBe(other);
    expect(await fw.isPresent()).toBe(false);
    await expectTcp(ADDR.internet4, 80, true);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true);
  });

  it('on boot: the boot file blocks everything, until a connection spec replaces it', async () => {
    const run = netnsRunner(lab.client);
    const out: string[] = [];
    const err: string[] = [];
    await fw.remove();
    ensureOther();
    // No file (setting off): nothing happens.
    expect(await earlyBoot(stateDir, run, (l) => out.push(l), (l) => err.push(l))).toBe(0);
    expect([out, err, tables()]).toEqual([[], [], ['table inet other']]);

    await writeBootRuleset(stateDir, bootSpec({ fwmark: UMBRA_FWMARK }));
    expect(await earlyBoot(stateDir, run, (l) => out.push(l), (l) => err.push(l))).toBe(0);
    expect(out).toEqual([EARLY_BOOT_NOTICE]);
    expect(err).toEqual([]);
    expect(tables()).toEqual(['table inet other', 'table inet umbra']);
    expect(await fw.currentSpecHash()).toBe(specHash(bootSpec({ fwmark: UMBRA_FWMARK })));

    expect(udpRefused(await expectUdp(ADDR.endpoint4, ADDR.endpointPort, false, { mark: UMBRA_FWMARK }))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.internet4, 80, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.routerTun4, 80, false))).toBe(true); // no tunnel yet
    expect(tcpRefused(await expectTcp(ADDR.routerLan4, 80, false))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.dns4, 53, false))).toBe(true);

    // Connecting: the helper applies the connection's spec; only now does the endpoint pass.
    await fw.apply(SPEC);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    expect(udpRefused(await expectUdp(ADDR.endpoint4, ADDR.endpointPort, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.internet4, 80, false))).toBe(true);

    // A corrupt boot file: exit 1 with nft's message, and the table in place is kept.
    await writeFile(join(stateDir, 'boot-killswitch.nft'), 'table inet umbra { nonsense }\n', { mode: 0o600 });
    expect(await earlyBoot(stateDir, run, (l) => out.push(l), (l) => err.push(l))).toBe(1);
    expect(err.at(-1)).toMatch(/could not turn on the kill switch on boot .* the kernel refused the kill-switch ruleset: .*syntax error/);
    expect(await fw.currentSpecHash()).toBe(specHash(SPEC));

    await removeBootRuleset(stateDir);
    await fw.remove();
    expect(tables()).toEqual(['table inet other']);
  });
});
