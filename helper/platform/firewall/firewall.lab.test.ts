// Lab test of the firewall with real traffic: applies rulesets with Firewall (its nft runs in the
// client namespace through netnsRunner) and probes what passes, in a topology of three namespaces
// of its own (ukf-<pid>-c/-r/-k, see testdata/topology.ts) never connected to the host. Needs
// root, nft, iproute2, ping and the native addon (for SO_MARK); skipped otherwise. The namespaces
// are deleted afterwards, also when a test fails.
//
// The proofs of issue 10 ((a) to (g) below) each show their probe failing without the rule they
// prove: they load the same ruleset with that rule taken out or changed back to what it was
// (applyEdited), or the same probe in a case where the rule does not apply, and expect the
// opposite result. So a probe that could not see the leak fails the test.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earlyBoot, EARLY_BOOT_NOTICE } from '../../commands/early-boot.js';
import { UMBRA_FWMARK } from '../routing/constants.js';
import { netnsRunner } from '../testing/netns-runner.js';
import { labSkipReason } from '../tun/testdata/lab-child.js';
import { bootSpec, removeBootRuleset, writeBootRuleset } from './boot.js';
import { Firewall, kernelKind, startWatchdog, type RestoreReason } from './firewall.js';
import { buildRuleset, specHash, type FirewallSpec } from './ruleset.js';
import { startRulesetMonitor } from './ruleset-monitor.js';
import { NetChild, type NetEvent } from './testdata/net-child.js';
import { ADDR, buildLab, deleteLab, inNs, nftInput, sh, type Lab } from './testdata/topology.js';

const prefix = `ukf-${process.pid}`;
const reason =
  labSkipReason() ??
  (spawnSync('nft', ['--version']).status !== 0 ? 'nft is missing (apt-get install nftables)' : undefined) ??
  (spawnSync('ping', ['-V']).status !== 0 ? 'ping is missing' : undefined);

/** Connected with the kill switch: the tunnel (umbra0) carries IPv4 and IPv6. */
const SPEC: FirewallSpec = {
  block: true,
  tunnelInterface: 'umbra0',
  tunnelAddresses: [ADDR.clientTun4, ADDR.clientTun6],
  tunnelsIpv6: true,
  endpoints: [
    { address: ADDR.endpoint4, port: ADDR.endpointPort },
    { address: ADDR.endpoint6, port: ADDR.endpointPort },
  ],
  fwmark: UMBRA_FWMARK,
  dnsServers: [ADDR.dns4, ADDR.dns6],
  lookupResolvers: [],
  allowLan: false,
};
const WITH_LAN: FirewallSpec = { ...SPEC, allowLan: true };
/** Connected without the kill switch. */
const GUARD: FirewallSpec = { ...SPEC, block: false, dnsServers: [] };
/** Connected without the kill switch, through a tunnel that carries only IPv4. */
const GUARD_V4: FirewallSpec = { ...GUARD, tunnelAddresses: [ADDR.clientTun4], tunnelsIpv6: false };
/** A block while the helper looks up a hostname endpoint (no tunnel yet). */
const LOOKUP: FirewallSpec = { ...bootSpec({ fwmark: UMBRA_FWMARK }), lookupResolvers: [ADDR.routerLan4, ADDR.routerLan6] };

/** The router's link-local address as the client reaches it. */
const ROUTER_LINK = `${ADDR.routerLink6}%eth0`;

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

/** A table inet umbra that is not ours (no marker): it lets everything out. */
const FOREIGN_TABLE = 'table inet umbra {\n\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\t}\n}\n';

describe.skipIf(reason !== undefined)(`firewall with real traffic, in namespaces ${prefix}-*${reason ? ` (skipped: ${reason})` : ''}`, () => {
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
  const kind = async () => kernelKind(await fw.read());

  /**
   * Loads the ruleset for `spec` with `edit` applied to its text (a rule taken out, or put back as
   * it was before issue 10), bypassing Firewall: the opposite case that shows a probe depends on
   * that rule. The edit must change the text.
   */
  function applyEdited(spec: FirewallSpec, edit: (text: string) => string): void {
    const text = buildRuleset(spec);
    const edited = edit(text);
    expect(edited, 'the edit changes the ruleset').not.toBe(text);
    nftInput(lab.client, edited);
  }
  const withoutLines = (pattern: RegExp) => (text: string) => text.split('\n').filter((l) => !pattern.test(l)).join('\n');

  // ---- probes (from the client unless said otherwise)
  const udp = (to: string, port: number, opts: { mark?: number; from?: NetChild } = {}) =>
    (opts.from ?? client).call({ cmd: 'udp', family: to.includes(':') ? 6 : 4, to, port, ...(opts.mark === undefined ? {} : { mark: opts.mark }) });
  const tcp = (to: string, port: number, from: NetChild = client) => from.call({ cmd: 'tcp', to, port });
  /** One ping; `waitS` bounds the wait for the answer (short where none is expected). */
  const ping = (ns: string, to: string, waitS = 1, ...extra: string[]) =>
    spawnSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', String(waitS), ...extra, to]).status === 0;
  /** One datagram from a socket that `serve`/`listen` bound to address:port in `from`. */
  const sendFrom = (from: NetChild, address: string, port: number, to: string, toPort: number) =>
    from.call({ cmd: 'send-from', address, port, to, toPort });
  /** Whether `at` received the datagram `id` (waiting up to `ms` for it). */
  const received = async (at: NetChild, id: string, ms = 400) => {
    try {
      await at.waitFor((e) => e.event === 'udp-recv' && e.payload === id, ms);
      return true;
    } catch {
      return false;
    }
  };
  const routerGot = (id: string) => router.events.some((e) => e.event === 'udp-recv' && e.payload === id);

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
          { address: ADDR.routerLan4, port: 53 }, // the system resolver on the LAN
          { address: ADDR.routerLan6, port: 53 },
          { address: `${ADDR.routerLink6}%to-c`, port: 7 },
          { address: `${ADDR.routerLink6}%to-c`, port: 53 },
          { address: ADDR.routerTun4, port: 7 },
          { address: ADDR.routerTun6, port: 7 },
        ],
        tcp: [53, 80],
      },
      'serving',
    );
    await router.command({ cmd: 'listen', udp: [{ address: '0.0.0.0', port: 67 }] }, 'listening'); // a DHCP server
    client = await NetChild.start(lab.client);
    await client.command(
      {
        cmd: 'listen',
        udp: [
          { address: '0.0.0.0', port: 40051 }, // a local port that never talked to the endpoint
          { address: '::', port: 40051 },
          { address: '0.0.0.0', port: 40053 }, // one that never asked the resolver
          { address: '0.0.0.0', port: 68, broadcast: true }, // the DHCP client's
        ],
      },
      'listening',
    );
    container = await NetChild.start(lab.container);
    fw = new Firewall(netnsRunner(lab.client));
    stateDir = await mkdtemp(join(tmpdir(), 'umbra-ukf-'));
  });

  afterAll(async () => {
    await Promise.all([client?.kill(), router?.kill(), container?.kill()]);
    if (lab) deleteLab(lab);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('without a firewall, everything in the lab is reachable (baseline)', async () => {
    expect(tables()).toEqual([]);
    expect(await kind()).toBe('none');
    await expectTcp(ADDR.internet4, 80, true);
    await expectUdp(ADDR.internet4, 7, true);
    await expectTcp(ADDR.internet6, 80, true);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    await expectUdp(ADDR.otherDns4, 53, true);
    await expectUdp(ADDR.routerLan4, 53, true);
    await expectTcp(ADDR.routerLan4, 80, true);
    await expectTcp(ROUTER_LINK, 80, true);
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
    expect(tables()).toEqual(['table arp umbra', 'table inet other', 'table inet umbra']);
    expect(otherListing()).toBe(other);
    expect(await fw.currentSpecHash()).toBe(specHash(SPEC));
    expect(await kind()).toBe('block');

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

    // The LAN is blocked without "allow LAN", the fixed ranges (link-local) too.
    expect(tcpRefused(await expectTcp(ADDR.routerLan4, 80, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.routerLan6, 80, false))).toBe(true);
    expect(tcpRefused(await expectTcp(ROUTER_LINK, 80, false))).toBe(true);
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
    // Even with "allow LAN", a resolver in the LAN is not reachable on port 53 (the LAN host is).
    await fw.apply(WITH_LAN);
    try {
      await expectUdp(ROUTER_LINK, 7, true);
      expect(udpRefused(await expectUdp(ROUTER_LINK, 53, false))).toBe(true);
    } finally {
      await fw.apply(SPEC);
    }
  });

  it('keeps the DHCPv6 and neighbour-discovery rules in the kernel', () => {
    const listing = nftC('list', 'table', 'inet', 'umbra');
    expect(listing).toContain('udp sport 546 udp dport 547 accept');
    expect(listing).toMatch(/icmpv6 type \{ nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert \} ip6 hoplimit 255 accept/);
  });

  it('neighbour discovery works with global addresses under the block (cold neighbour caches)', async () => {
    const coldCaches = () => {
      sh('ip', '-n', lab.client, '-6', 'neigh', 'flush', 'dev', 'eth0');
      sh('ip', '-n', lab.router, '-6', 'neigh', 'flush', 'dev', 'to-c');
    };
    // The default route's gateway is a global address: the client solicits it from its global
    // address, the router answers from the one asked for.
    await fw.apply(SPEC);
    coldCaches();
    await expectUdp(ADDR.endpoint6, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    // Opposite case: the rules as they were (only from/to link-local or multicast addresses).
    applyEdited(SPEC, (t) =>
      t
        .replace('icmpv6 type { nd-router-solicit', 'ip6 daddr { fe80::/10, ff02::/16 } icmpv6 type { nd-router-solicit')
        .replace('icmpv6 type { nd-router-advert', 'ip6 saddr { ::, fe80::/10 } icmpv6 type { nd-router-advert'),
    );
    coldCaches();
    await expectUdp(ADDR.endpoint6, ADDR.endpointPort, false, { mark: UMBRA_FWMARK });
    await fw.apply(SPEC);
    await expectUdp(ADDR.endpoint6, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
  });

  it('(a) CVE-2019-14899: a LAN host gets no answer from the tunnel address, nor ARP for it (guard and block)', async () => {
    const mac = (JSON.parse(sh('ip', '-n', lab.client, '-j', 'link', 'show', 'eth0')) as { address: string }[])[0]!.address;
    const R = lab.router;
    const quiet = (...args: string[]) => spawnSync('ip', ['-n', R, ...args]);
    /** What the router, as a host on the client's LAN, learns over eth0 about the tunnel's addresses. */
    const attack = (v6Source: string, expectAnswers: boolean) => {
      const wait = expectAnswers ? 2 : 0.5;
      try {
        // ARP: "who has 100.64.0.2?" asked on the link.
        quiet('neigh', 'del', ADDR.clientTun4, 'dev', 'to-c');
        sh('ip', '-n', R, 'route', 'replace', `${ADDR.clientTun4}/32`, 'dev', 'to-c');
        ping(R, ADDR.clientTun4, 0.5);
        const neigh = sh('ip', '-n', R, 'neigh', 'show', ADDR.clientTun4, 'dev', 'to-c');
        const arp = /lladdr/.test(neigh) && !/FAILED|INCOMPLETE/.test(neigh);
        // Packets: the attacker knows the MAC anyway (it is the client's on the link).
        sh('ip', '-n', R, 'neigh', 'replace', ADDR.clientTun4, 'lladdr', mac, 'dev', 'to-c', 'nud', 'permanent');
        const v4 = ping(R, ADDR.clientTun4, wait);
        sh('ip', '-n', R, '-6', 'route', 'replace', `${ADDR.clientTun6}/128`, 'via', ADDR.clientLink6, 'dev', 'to-c', 'src', v6Source);
        const v6 = ping(R, ADDR.clientTun6, wait);
        return { arp, v4, v6, neigh: neigh.trim() };
      } finally {
        quiet('route', 'del', `${ADDR.clientTun4}/32`, 'dev', 'to-c');
        quiet('neigh', 'del', ADDR.clientTun4, 'dev', 'to-c');
        quiet('-6', 'route', 'del', `${ADDR.clientTun6}/128`);
      }
    };
    const none = { arp: false, v4: false, v6: false };
    const pick = ({ arp, v4, v6 }: { arp: boolean; v4: boolean; v6: boolean }) => ({ arp, v4, v6 });
    const prerouting = /CVE-2019-14899/;
    const arpRule = /arp operation request/;
    const ipRules = (l: string) => prerouting.test(l) && !arpRule.test(l);

    // Guard (connected, kill switch off): chains accept, so only the guard stops these.
    await fw.apply(GUARD);
    expect(await kind()).toBe('guard');
    let r = attack(ADDR.routerLan6, false);
    expect(pick(r), r.neigh).toEqual(none);
    expect(r.neigh).toMatch(/INCOMPLETE|FAILED/);
    // Its own traffic through the tunnel still works (the guard only stops what comes in elsewhere).
    await expectTcp(ADDR.routerTun4, 80, true);
    await expectTcp(ADDR.routerTun6, 80, true);
    // Opposite cases: without the ARP rule the link learns the address; without the prerouting
    // rules the tunnel address answers over eth0.
    applyEdited(GUARD, withoutLines(arpRule));
    r = attack(ADDR.routerLan6, false);
    expect(pick(r), r.neigh).toEqual({ arp: true, v4: false, v6: false });
    applyEdited(GUARD, (t) => t.split('\n').filter((l) => !ipRules(l)).join('\n'));
    expect(pick(attack(ADDR.routerLan6, true))).toEqual({ arp: false, v4: true, v6: true });

    // Block (kill switch on): the same. (The input chain's policy drop also stops these packets
    // from a public LAN address; with allow LAN a LAN-range source gets past it, so the
    // prerouting guard is what holds there: see the link-local attacker below.)
    await fw.apply(SPEC);
    expect(pick(attack(ADDR.routerLan6, false))).toEqual(none);
    applyEdited(SPEC, withoutLines(arpRule));
    expect(pick(attack(ADDR.routerLan6, false))).toEqual({ arp: true, v4: false, v6: false });

    await fw.apply(WITH_LAN);
    expect(pick(attack(ADDR.routerLink6, false))).toEqual(none);
    applyEdited(WITH_LAN, (t) => t.split('\n').filter((l) => !ipRules(l)).join('\n'));
    expect(pick(attack(ADDR.routerLink6, true))).toEqual({ arp: false, v4: false, v6: true });
    await fw.apply(SPEC);
  });

  it('(b) guard with an IPv4-only tunnel: IPv6 outside the tunnel does not leave, IPv4 does', async () => {
    await fw.apply(GUARD_V4);
    expect(await kind()).toBe('guard');
    const v6 = await expectUdp(ADDR.internet6, 7, false);
    expect(udpRefused(v6)).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.internet6, 80, false))).toBe(true);
    expect(ping(lab.client, ADDR.internet6, 0.5)).toBe(false);
    expect(tcpRefused(await expectTcp(ADDR.routerLan6, 80, false))).toBe(true); // a global LAN prefix is no exception
    // IPv4 is not filtered.
    await expectUdp(ADDR.internet4, 7, true);
    await expectTcp(ADDR.internet4, 80, true);
    // The exceptions: the tunnel, the marked UDP to an IPv6 endpoint, the link-local LAN.
    await expectTcp(ADDR.routerTun6, 80, true);
    await expectUdp(ADDR.endpoint6, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    expect(udpRefused(await expectUdp(ADDR.endpoint6, ADDR.endpointPort, false))).toBe(true);
    await expectTcp(ROUTER_LINK, 80, true);
    expect(routerGot(v6.id!)).toBe(false);

    // Opposite case: the same guard for a tunnel that carries IPv6 lets it out.
    await fw.apply({ ...GUARD_V4, tunnelsIpv6: true });
    const out = await expectUdp(ADDR.internet6, 7, true);
    expect(routerGot(out.id!)).toBe(true);
    await expectTcp(ADDR.internet6, 80, true);
    await fw.apply(SPEC);
  });

  it('(c) block: only marked DNS reaches the lookup resolvers, and only their answers come back', async () => {
    await fw.apply(LOOKUP);
    const unmarked = await expectUdp(ADDR.routerLan4, 53, false);
    expect(udpRefused(unmarked)).toBe(true);
    expect(tcpRefused(await expectTcp(ADDR.routerLan4, 53, false))).toBe(true);
    const answer = await expectUdp(ADDR.routerLan4, 53, true, { mark: UMBRA_FWMARK });
    expect(answer.reply).toMatchObject({ from: ADDR.routerLan4, fromPort: 53 });
    await expectUdp(ADDR.routerLan6, 53, true, { mark: UMBRA_FWMARK });
    // Marked, but to another server or port: refused.
    expect(udpRefused(await expectUdp(ADDR.otherDns4, 53, false, { mark: UMBRA_FWMARK }))).toBe(true);
    expect(udpRefused(await expectUdp(ADDR.routerLan4, 7, false, { mark: UMBRA_FWMARK }))).toBe(true);
    // From the resolver's port 53 to a port that did not ask: not delivered.
    const unasked = await sendFrom(router, ADDR.routerLan4, 53, ADDR.clientLan4, 40053);
    expect(await received(client, unasked.id!)).toBe(false);
    expect(routerGot(unmarked.id!)).toBe(false);

    // Opposite cases: the resolver rule without its mark lets anyone's DNS out; the answers rule
    // without "established" lets the resolver's address in; without resolvers the marked query is refused.
    applyEdited(LOOKUP, (t) => t.replace(/meta mark 0x[0-9a-f]+ (ip6? daddr [^\n]* th dport 53 accept)/g, '$1'));
    await expectUdp(ADDR.routerLan4, 53, true);
    applyEdited(LOOKUP, (t) => t.replace(/(th sport 53) ct state established accept/g, '$1 accept'));
    const nowIn = await sendFrom(router, ADDR.routerLan4, 53, ADDR.clientLan4, 40053);
    expect(await received(client, nowIn.id!, 2000)).toBe(true);
    await fw.apply(bootSpec({ fwmark: UMBRA_FWMARK }));
    expect(udpRefused(await expectUdp(ADDR.routerLan4, 53, false, { mark: UMBRA_FWMARK }))).toBe(true);
    await fw.apply(SPEC);
  });

  it("(d) block: UDP from the endpoint reaches only the marked socket's own flow", async () => {
    await fw.apply(SPEC);
    const to4 = await sendFrom(router, ADDR.endpoint4, ADDR.endpointPort, ADDR.clientLan4, 40051);
    const to6 = await sendFrom(router, ADDR.endpoint6, ADDR.endpointPort, ADDR.clientLan6, 40051);
    expect(await received(client, to4.id!)).toBe(false);
    expect(await received(client, to6.id!, 0)).toBe(false);
    const own = await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });
    expect(own.reply).toMatchObject({ from: ADDR.endpoint4, fromPort: ADDR.endpointPort });
    await expectUdp(ADDR.endpoint6, ADDR.endpointPort, true, { mark: UMBRA_FWMARK });

    // Opposite case: the rule as it was (any datagram from the endpoint's address and port).
    applyEdited(SPEC, (t) => t.replace(/(udp sport \d+) ct state established accept/g, '$1 accept'));
    const again4 = await sendFrom(router, ADDR.endpoint4, ADDR.endpointPort, ADDR.clientLan4, 40051);
    const again6 = await sendFrom(router, ADDR.endpoint6, ADDR.endpointPort, ADDR.clientLan6, 40051);
    expect(await received(client, again4.id!, 2000)).toBe(true);
    expect(await received(client, again6.id!, 2000)).toBe(true);
    await fw.apply(SPEC);
  });

  it('(e) block: DHCP from port 68 leaves only as a broadcast; port 67 gets in only as a broadcast or reply', async () => {
    await fw.apply(SPEC);
    const unicast = await sendFrom(client, '0.0.0.0', 68, ADDR.routerLan4, 67);
    expect(unicast.sendError).toBe('EPERM');
    const broadcast = await sendFrom(client, '0.0.0.0', 68, '255.255.255.255', 67);
    expect(broadcast.sendError).toBeNull();
    expect(await received(router, broadcast.id!, 2000)).toBe(true);
    const unasked = await sendFrom(router, '0.0.0.0', 67, ADDR.clientLan4, 68);
    expect(await received(client, unasked.id!)).toBe(false);
    expect(routerGot(unicast.id!)).toBe(false);

    // Opposite case: the rules as they were (68 -> 67 to any address, 67 -> 68 from anywhere).
    applyEdited(SPEC, (t) =>
      t
        .replace('ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept', 'meta nfproto ipv4 udp sport 68 udp dport 67 accept')
        .replace('udp sport 67 udp dport 68 ct state established accept', 'udp sport 67 udp dport 68 accept'),
    );
    // (Inbound first: once the unicast is out, the server's datagram would be a reply to it.)
    const gets = await sendFrom(router, '0.0.0.0', 67, ADDR.clientLan4, 68);
    expect(await received(client, gets.id!, 2000)).toBe(true);
    const leaves = await sendFrom(client, '0.0.0.0', 68, ADDR.routerLan4, 67);
    expect(leaves.sendError).toBeNull();
    expect(await received(router, leaves.id!, 2000)).toBe(true);
    await fw.apply(SPEC);
  });

  it('(f) allow LAN: a public subnet handed out on the interface does not become LAN', async () => {
    // A lease of 203.0.113.77/24: the internet host 203.0.113.250 is now "on the link".
    sh('ip', '-n', lab.client, 'addr', 'add', '203.0.113.77/24', 'dev', 'eth0');
    sh('ip', '-n', lab.router, 'route', 'add', '203.0.113.77/32', 'dev', 'to-c');
    try {
      await fw.apply(WITH_LAN);
      expect(tcpRefused(await expectTcp(ADDR.internet4, 80, false))).toBe(true);
      const probe = await expectUdp(ADDR.internet4, 7, false);
      expect(udpRefused(probe)).toBe(true);
      expect(tcpRefused(await expectTcp(ADDR.routerLan6, 80, false))).toBe(true); // the handed-out /64 neither
      // The fixed ranges are the LAN.
      await expectTcp(ROUTER_LINK, 80, true);
      await expectUdp(ROUTER_LINK, 7, true);
      expect(routerGot(probe.id!)).toBe(false);

      // Opposite case: with the handed-out /24 in the LAN's ranges (what reading the interface
      // did), the same probes leave.
      applyEdited(WITH_LAN, (t) => t.replaceAll('{ 10.0.0.0/8, ', '{ 203.0.113.0/24, 10.0.0.0/8, '));
      await expectTcp(ADDR.internet4, 80, true);
      await expectUdp(ADDR.internet4, 7, true);
    } finally {
      sh('ip', '-n', lab.router, 'route', 'del', '203.0.113.77/32', 'dev', 'to-c');
      sh('ip', '-n', lab.client, 'addr', 'del', '203.0.113.77/24', 'dev', 'eth0');
      await fw.apply(SPEC);
    }
  });

  it('(g) guard: from the tunnel only replies are forwarded to other interfaces', async () => {
    await fw.apply(GUARD);
    // The server side of the tunnel starts a flow to the container behind the client: dropped.
    expect(ping(lab.router, ADDR.container4, 0.5, '-I', ADDR.routerTun4)).toBe(false);
    // The container's own flows through the tunnel get their replies, its LAN traffic is not filtered.
    await expectTcp(ADDR.routerTun4, 80, true, container);
    await expectTcp(ADDR.internet4, 80, true, container);
    // Opposite case: without the drop, the tunnel reaches the container.
    applyEdited(GUARD, withoutLines(/nothing else from the tunnel/));
    expect(ping(lab.router, ADDR.container4, 2, '-I', ADDR.routerTun4)).toBe(true);
    await fw.apply(SPEC);
  });

  it('keeps forwarded traffic (containers) in the tunnel', async () => {
    await fw.apply(SPEC);
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
    // Switch for as long as the traffic flows (each stream sends for at least count ms), however
    // fast this machine's nft is: the point is replacements under traffic, not their rate.
    let streaming = true;
    const both = Promise.all([leak, tunnel]).finally(() => (streaming = false));
    let switches = 0;
    while (streaming) {
      await fw.apply(switches % 2 === 0 ? WITH_LAN : SPEC);
      switches++;
    }
    const [l, t] = await both;
    expect(switches, 'replacements made while both streams ran').toBeGreaterThanOrEqual(3);
    // Every unmarked datagram was refused, and the internet host received none of them.
    expect(l.errors).toEqual({ EPERM: count });
    expect(router.events.filter((e) => e.event === 'udp-recv' && String(e.payload).startsWith('leak-'))).toEqual([]);
    // Every marked datagram went out and came back.
    expect(t.errors).toEqual({});
    expect(t.replies).toBe(count);
    // Exactly our two tables, holding the last spec; the other table untouched.
    const last = switches % 2 === 0 ? SPEC : WITH_LAN;
    expect(tables()).toEqual(['table arp umbra', 'table inet other', 'table inet umbra']);
    expect(await fw.currentSpecHash()).toBe(specHash(last));
    expect(otherListing()).toBe(other);
    await fw.apply(SPEC);
  });

  it('the watchdog restores the tables after nft flush ruleset, a replacement or an edit', async () => {
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
      expect(tables()).toEqual(['table arp umbra', 'table inet umbra']);
      expect(udpRefused(await udp(ADDR.internet4, 7))).toBe(true);

      t0 = Date.now();
      nftInput(lab.client, `delete table inet umbra\n${FOREIGN_TABLE}`);
      expect(await waitRestore(2, t0)).toBeLessThanOrEqual(2000);
      expect(restores[1]!.why).toBe('the table held a different ruleset');

      t0 = Date.now();
      nftC('insert', 'rule', 'inet', 'umbra', 'output', 'accept');
      expect(await waitRestore(3, t0)).toBeLessThanOrEqual(2000);
      expect(restores[2]!.why).toBe('the table had been modified');
      expect(nftC('list', 'table', 'inet', 'umbra').split('\n').map((l) => l.trim())).not.toContain('accept');
      expect(udpRefused(await udp(ADDR.internet4, 7))).toBe(true);

      // The ARP guard's table alone deleted.
      t0 = Date.now();
      nftC('delete', 'table', 'arp', 'umbra');
      expect(await waitRestore(4, t0)).toBeLessThanOrEqual(2000);
      expect(restores[3]!.why).toBe('the table had been modified');
      expect(tables()).toEqual(['table arp umbra', 'table inet umbra']);
      expect(errors).toEqual([]);
    } finally {
      wd.stop();
      ensureOther();
    }
  });

  it('watching nft monitor, the watchdog restores the tables at once without polling', async () => {
    const restores: RestoreReason[] = [];
    const events = startRulesetMonitor({ spawn: (argv) => spawn('ip', ['netns', 'exec', lab.client, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] }) });
    // An interval no test waits out: only a reported change can bring a check.
    const wd = startWatchdog(fw, { intervalMs: 600_000, events, expected: () => SPEC, onRestore: (why) => restores.push(why) });
    await fw.apply(SPEC);
    try {
      const deadline = Date.now() + 5000;
      while (!events.alive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(events.alive).toBe(true);
      await wd.checkNow();
      await new Promise((r) => setTimeout(r, 300)); // nft monitor has subscribed by now
      nftC('flush', 'ruleset');
      const t0 = Date.now();
      while (restores.length < 1 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
      expect(restores).toEqual(['the table was missing']);
      expect(tables()).toEqual(['table arp umbra', 'table inet umbra']);
    } finally {
      wd.stop();
      events.stop();
      ensureOther();
    }
  });

  it('remove() deletes only our tables, and traffic flows again', async () => {
    await fw.apply(SPEC);
    const other = otherListing();
    await fw.remove();
    await fw.remove(); // absent: no error
    expect(tables()).toEqual(['table inet other']);
    expect(otherListing()).toBe(other);
    expect(await fw.isPresent()).toBe(false);
    expect(await kind()).toBe('none');
    await expectTcp(ADDR.internet4, 80, true);
    await expectUdp(ADDR.endpoint4, ADDR.endpointPort, true);
    // A table of our name without our marker is someone else's.
    nftInput(lab.client, FOREIGN_TABLE);
    expect(await kind()).toBe('foreign');
    await fw.remove();
    expect(tables()).toEqual(['table inet other']);
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
    expect(await kind()).toBe('block');

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
