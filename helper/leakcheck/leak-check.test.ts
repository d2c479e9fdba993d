// The leak checker with its I/O replaced: what it asks, what it concludes, and the address it
// remembers from before the VPN.
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_SETTINGS, type LeakCheckProgress, type Settings, type TunnelStatus } from '../ipc/schema.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import type { FirewallSpec } from '../platform/firewall/firewall.js';
import { specHash } from '../platform/firewall/ruleset.js';
import { echoTargets, ipv6RouteTarget, LeakChecker, PUBLIC_V6_PROBE, uniqueTestName, type LeakProbes } from './leak-check.js';
import { PreVpnMemory } from './pre-vpn.js';
import type { RouteFact } from './verdicts.js';

const SPEC: FirewallSpec = {
  block: true,
  tunnelInterface: 'umbra0',
  tunnelAddresses: ['100.64.1.2'],
  tunnelsIpv6: true,
  endpoints: [{ address: '203.0.113.2', port: 51820 }],
  fwmark: 0x756d,
  dnsServers: ['203.0.113.250'],
  lookupResolvers: [],
  allowLan: false,
};
/** Connected without the kill switch, an IPv4-only tunnel: the guard. */
const GUARD: FirewallSpec = { ...SPEC, block: false, tunnelsIpv6: false, dnsServers: [] };
const LAB: Partial<Settings> = {
  echoUrls: ['http://203.0.113.250/'],
  echoUrl6: 'http://[2001:db8:f::250]/',
  dnsLeakTest: { zone: 'lab.test', apiUrl: 'http://203.0.113.250/dns-askers' },
  stunServers: ['stun:203.0.113.250:3478'],
};
const SERVER = { id: 'lab-0', name: 'lab 0', endpoint: '203.0.113.2:51820', publicKey: `${'A'.repeat(43)}=`, source: 'import' as const };

function status(o: Partial<TunnelStatus> = {}): TunnelStatus {
  return { state: 'disconnected', blocked: false, firewallActive: false, firewall: { wanted: 'none', kernel: 'none' }, addresses: [], dns: [], rxBytes: 0, txBytes: 0, attempt: 0, ...o };
}
const CONNECTED = status({ state: 'connected', blocked: true, firewallActive: true, firewall: { wanted: 'block', kernel: 'block' }, server: SERVER, interfaceName: 'umbra0', addresses: ['100.64.1.2/32'], dns: ['203.0.113.250'] });

/** A world the probes answer from: where routes go, what echo services see, who asked the DNS. */
function world(o: { connected: boolean; ispRouted?: boolean; v6Open?: boolean }) {
  const exit = '203.0.113.2';
  const own = '198.51.100.2';
  const calls: string[] = [];
  const route = (a: string): RouteFact => {
    if (a.includes(':')) return { target: a, ok: true, dev: 'eth0', gateway: '2001:db8:c::1', src: '2001:db8:c::2' };
    if (o.connected && !(o.ispRouted && a === '203.0.113.251')) return { target: a, ok: true, dev: 'umbra0', src: '100.64.1.2' };
    return { target: a, ok: true, dev: 'eth0', gateway: '198.51.100.1', src: own };
  };
  const probes: LeakProbes = {
    echo: async (url, family) => {
      calls.push(`echo ${url} ${family ?? '-'}`);
      if (url.includes('[')) {
        if (!o.v6Open) throw new Error('EPERM');
        return '2001:db8:c::2';
      }
      return o.connected ? exit : own;
    },
    routeGet: async (a) => {
      calls.push(`route ${a}`);
      return route(a);
    },
    ownAddresses: async () => [own, '2001:db8:c::2'],
    resolvers: async () => [
      { address: '203.0.113.250', source: 'nameserver in /r' },
      ...(o.ispRouted ? [{ address: '203.0.113.251', source: 'nameserver in /r' }] : []),
    ],
    dnsQuery: async (server, name) => {
      calls.push(`dns ${server} ${name}`);
      const r = route(server);
      asked.set(name, r.ok && r.dev === 'umbra0' ? exit : own);
      return 'NOERROR';
    },
    askers: async (_api, name) => (asked.has(name) ? [asked.get(name)!] : []),
  };
  const asked = new Map<string, string>();
  return { probes, calls };
}

function checker(o: {
  status: TunnelStatus;
  settings?: Partial<Settings>;
  table?: { present: boolean; hash?: string; block?: boolean; listing?: string };
  expected?: FirewallSpec;
  probes: LeakProbes;
  wants?: boolean;
  progress?: (p: LeakCheckProgress) => void;
}) {
  const restoreNow = vi.fn(async () => {});
  const c = new LeakChecker({
    run: new FakeRunner(),
    status: () => o.status,
    settings: () => ({ ...DEFAULT_SETTINGS, ...LAB, ...o.settings }),
    wantsConnection: () => o.wants ?? o.status.state !== 'disconnected',
    firewall: { read: async () => o.table ?? { present: false } },
    expectedBlock: () => o.expected,
    expectedIsBoot: () => false,
    restoreNow,
    dns: { backend: 'resolv-conf', resolvConfPath: '/r' },
    isTunnelDevice: (d) => d.startsWith('umbra'),
    now: () => 1_700_000_000_000,
    log: () => {},
    probes: o.probes,
    ...(o.progress ? { progress: o.progress } : {}),
  });
  return { c, restoreNow };
}

const verdicts = (r: { checks: { id: string; verdict: string }[] }) => Object.fromEntries(r.checks.map((x) => [x.id, x.verdict]));
const listing = `table inet umbra {\n\tcomment "umbra firewall v2 block=1 spec=${specHash(SPEC)}"\n}`;
const guardListing = `table inet umbra {\n\tcomment "umbra firewall v2 block=0 spec=${specHash(GUARD)}"\n}`;
const GUARDED = status({ ...CONNECTED, blocked: false, firewall: { wanted: 'guard', kernel: 'guard' } });

describe('the leak checker', () => {
  it('connected with the kill switch: everything passes, the report names the exit', async () => {
    const w = world({ connected: true });
    const { c } = checker({ status: CONNECTED, settings: { killSwitch: true }, table: { present: true, hash: specHash(SPEC), listing }, expected: SPEC, probes: w.probes });
    c.preVpn.v4 = { address: '198.51.100.2', at: 1, url: 'http://203.0.113.250/' };
    const r = await c.run();
    expect(verdicts(r)).toEqual({ 'public-ip': 'pass', dns: 'pass', ipv6: 'pass', 'kill-switch': 'pass' });
    expect(r.addresses).toMatchObject({ seen: ['203.0.113.2'], preVpn: '198.51.100.2', own: ['198.51.100.2', '2001:db8:c::2'], tunnel: ['100.64.1.2'] });
    expect(r.stunServers).toEqual(['stun:203.0.113.250:3478']);
    expect(r.serverId).toBe('lab-0');
    // The IPv6 route check looks up the IPv6 echo service's own address.
    expect(w.calls).toContain('route 2001:db8:f::250');
    // One fresh name per resolver, under the zone.
    expect(w.calls.filter((x) => x.startsWith('dns '))).toEqual([expect.stringMatching(/^dns 203\.0\.113\.250 umbra-[0-9a-f]{16}\.lab\.test$/)]);
  });

  it('measures the exit through the same echo services once a connection is up, and again in each check', async () => {
    const w = world({ connected: true });
    const up = { ...CONNECTED, server: { ...SERVER, exitIp: '203.0.113.11' }, connectedSince: 5 };
    const { c } = checker({ status: up, probes: w.probes });
    c.onStatus(up);
    expect(c.exit.decorate(up).measuredExit?.state).toBe('measuring');
    await vi.waitFor(() => expect(c.exit.decorate(up).measuredExit?.state).toBe('measured'));
    expect(c.exit.decorate(up).measuredExit).toMatchObject({ ipv4: '203.0.113.2', matchesCatalog: false });
    expect(w.calls.filter((x) => x.startsWith('echo '))).toEqual(['echo http://203.0.113.250/ -', 'echo http://[2001:db8:f::250]/ -']);
    // A leak check asks again and its answer is kept (the helper's echo services only).
    await c.run();
    expect(w.calls.filter((x) => x.startsWith('echo '))).toHaveLength(4);
    expect(c.exit.decorate(up).measuredExit?.state).toBe('measured');
  });

  it('tells each check as it finishes: the kill switch first, public IP before a slow IPv6 echo, then the report', async () => {
    const w = world({ connected: true, v6Open: true });
    let releaseV6!: () => void;
    const v6Held = new Promise<void>((r) => (releaseV6 = r));
    const probes: LeakProbes = { ...w.probes, echo: async (url, family, ms) => (url.includes('[') ? v6Held.then(() => w.probes.echo(url, family, ms)) : w.probes.echo(url, family, ms)) };
    const seen: LeakCheckProgress[] = [];
    const { c } = checker({ status: CONNECTED, settings: { killSwitch: true }, table: { present: true, hash: specHash(SPEC), listing }, expected: SPEC, probes, progress: (p) => seen.push(structuredClone(p)) });
    const run = c.run();
    await vi.waitFor(() => expect(seen.at(-1)?.done.map((r) => r.id)).toEqual(['public-ip', 'kill-switch']));
    expect(seen[0]).toEqual({ checkedAt: 1_700_000_000_000, running: ['public-ip', 'dns', 'ipv6', 'kill-switch'], done: [] });
    expect(seen[1]).toMatchObject({ running: ['public-ip', 'dns', 'ipv6'], done: [{ id: 'kill-switch', verdict: 'pass' }] });
    expect(seen.at(-1)!.running).toEqual(['dns', 'ipv6']); // DNS counts what the IPv6 echo saw too
    releaseV6();
    const report = await run;
    expect(seen.at(-1)).toEqual({ checkedAt: report.checkedAt, running: [], done: report.checks });
    // One event to begin, then one per result.
    expect(seen.map((p) => p.done.length)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a resolver routed around the tunnel without the kill switch: DNS fails (route and active test)', async () => {
    const w = world({ connected: true, ispRouted: true });
    const { c } = checker({ status: { ...CONNECTED, blocked: false, firewallActive: false }, probes: w.probes });
    const r = await c.run();
    const dns = r.checks.find((x) => x.id === 'dns')!;
    expect(dns.verdict).toBe('fail');
    expect(dns.evidence.map((e) => e.text).join('\n')).toMatch(/203\.0\.113\.251 via 198\.51\.100\.1 dev eth0/);
    expect(dns.evidence.map((e) => e.text).join('\n')).toMatch(/via 203\.0\.113\.251: answered NOERROR; asked by 198\.51\.100\.2/);
    expect(verdicts(r)['kill-switch']).toBe('warn');
  });

  it('IPv6 open beside an IPv4-only tunnel: IPv6 fails', async () => {
    const w = world({ connected: true, v6Open: true });
    const { c } = checker({ status: { ...CONNECTED, blocked: false }, probes: w.probes });
    const r = await c.run();
    expect(r.checks.find((x) => x.id === 'ipv6')).toMatchObject({ verdict: 'fail', finding: expect.stringMatching(/saw 2001:db8:c::2/) });
  });

  it('the table missing: fail as found, then the watchdog is asked to restore it', async () => {
    const w = world({ connected: true });
    const told: LeakCheckProgress[] = [];
    const { c, restoreNow } = checker({ status: CONNECTED, settings: { killSwitch: true }, table: { present: false }, expected: SPEC, probes: w.probes, progress: (p) => told.push(structuredClone(p)) });
    const r = await c.run();
    const ks = r.checks.find((x) => x.id === 'kill-switch')!;
    expect(ks.verdict).toBe('fail');
    expect(restoreNow).toHaveBeenCalledOnce();
    expect(ks.evidence.at(-1)).toEqual({ label: 'After this check', text: 'the helper put the kill switch’s table back' });
    // Told last, once the repair is done, with how it went.
    expect(told.at(-1)).toEqual({ checkedAt: r.checkedAt, running: [], done: r.checks });
    expect(told.at(-2)?.running).toEqual(['kill-switch']);
    // Without the kill switch's rules, the resolvers and IPv6 count as they are routed.
    expect(verdicts(r).ipv6).toBe('fail');
    // The watchdog said it restored the table: the next check warns about it.
    c.noteRestore('the table was missing');
    const again = checker({ status: CONNECTED, settings: { killSwitch: true }, table: { present: true, hash: specHash(SPEC), listing }, expected: SPEC, probes: w.probes });
    again.c.noteRestore('the table was missing');
    expect(verdicts(await again.c.run())['kill-switch']).toBe('warn');
  });

  it('connected without the kill switch: the guard is expected, and the verdict says the kill switch is off', async () => {
    const w = world({ connected: true, ispRouted: true });
    const table = { present: true, hash: specHash(GUARD), block: false, listing: guardListing };
    const { c, restoreNow } = checker({ status: GUARDED, settings: { killSwitch: false }, table, expected: GUARD, probes: w.probes });
    const r = await c.run();
    const ks = r.checks.find((x) => x.id === 'kill-switch')!;
    expect(ks).toMatchObject({ verdict: 'warn', finding: expect.stringMatching(/^The kill switch is off: if the tunnel drops/) });
    expect(ks.evidence.map((e) => e.text).join('\n')).toMatch(/guards only/);
    expect(restoreNow).not.toHaveBeenCalled();
    // The guard blocks no DNS: a resolver routed around the tunnel still fails.
    expect(verdicts(r).dns).toBe('fail');
    // ... but it does refuse IPv6 beside this IPv4-only tunnel, though IPv6 is routed out eth0.
    expect(r.checks.find((x) => x.id === 'ipv6')).toMatchObject({ verdict: 'pass', finding: expect.stringMatching(/tunnels IPv4 only/) });
    // An IPv6-carrying tunnel's guard refuses nothing: the same route is a fail.
    const v6: FirewallSpec = { ...GUARD, tunnelsIpv6: true };
    const open = checker({ status: GUARDED, table: { ...table, hash: specHash(v6) }, expected: v6, probes: w.probes });
    expect(verdicts(await open.c.run()).ipv6).toBe('fail');
  });

  it('the guard missing while connected: fail as found, then restored', async () => {
    const w = world({ connected: true });
    const { c, restoreNow } = checker({ status: GUARDED, table: { present: false }, expected: GUARD, probes: w.probes });
    const r = await c.run();
    expect(r.checks.find((x) => x.id === 'kill-switch')).toMatchObject({ verdict: 'fail', finding: expect.stringMatching(/kill switch is off, and the connection’s guards are missing/) });
    expect(restoreNow).toHaveBeenCalledOnce();
    expect(verdicts(r).ipv6).toBe('fail'); // without its table nothing refuses IPv6
  });

  it('disconnected: your own address is exposed (warn) and remembered as the address without the VPN', async () => {
    const w = world({ connected: false });
    const { c } = checker({ status: status(), probes: w.probes });
    const r = await c.run();
    expect(r.checks.find((x) => x.id === 'public-ip')).toMatchObject({ verdict: 'warn', finding: expect.stringContaining('your own address 198.51.100.2') });
    expect(c.preVpn.v4).toMatchObject({ address: '198.51.100.2' });
    expect(r.addresses.tunnel).toEqual([]);
  });

  it('takes the expected spec after reading the table (a change under way is not a mismatch)', async () => {
    const w = world({ connected: true });
    const before: FirewallSpec = { ...SPEC, tunnelInterface: undefined, tunnelAddresses: [] };
    let expected = before;
    const c = new LeakChecker({
      run: new FakeRunner(),
      status: () => CONNECTED,
      settings: () => ({ ...DEFAULT_SETTINGS, ...LAB, killSwitch: true }),
      wantsConnection: () => true,
      // The read waits for the apply under way (the Firewall's queue): it sees the new table, and
      // by then the helper expects the new spec.
      firewall: {
        read: async () => {
          expected = SPEC;
          return { present: true, hash: specHash(SPEC), listing };
        },
      },
      expectedBlock: () => expected,
      expectedIsBoot: () => false,
      restoreNow: async () => {},
      dns: { backend: 'resolv-conf', resolvConfPath: '/r' },
      isTunnelDevice: (d) => d.startsWith('umbra'),
      now: () => 1,
      log: () => {},
      probes: w.probes,
    });
    expect(verdicts(await c.run())).toMatchObject({ 'kill-switch': 'pass', ipv6: 'pass' });
  });

  it('concurrent calls share one run', async () => {
    const w = world({ connected: false });
    const { c } = checker({ status: status(), probes: w.probes });
    const [a, b] = await Promise.all([c.run(), c.run()]);
    expect(a).toBe(b);
    expect(w.calls.filter((x) => x.startsWith('echo http://203'))).toHaveLength(1);
  });
});

describe('settings to targets', () => {
  it('echo URLs: the defaults, a given IPv6 URL, derived host names, or none', () => {
    expect(echoTargets({})).toEqual({ v4: ['https://api.ipify.org/', 'https://ipv4.icanhazip.com/'], v6: ['https://api6.ipify.org/'] });
    expect(echoTargets({ echoUrls: ['http://203.0.113.250/', 'https://echo.example/'] })).toEqual({ v4: ['http://203.0.113.250/', 'https://echo.example/'], v6: ['https://echo.example/'] });
    expect(echoTargets({ echoUrls: ['http://203.0.113.250/'], echoUrl6: null })).toEqual({ v4: ['http://203.0.113.250/'], v6: [] });
    expect(echoTargets(DEFAULT_SETTINGS).v6).toEqual(['https://api6.ipify.org/']);
  });

  it('the IPv6 route target: the echo service’s literal address, else a public one (looked up only)', () => {
    expect(ipv6RouteTarget(['http://[2001:DB8:f::250]:80/'])).toBe('2001:db8:f::250');
    expect(ipv6RouteTarget(['https://api6.ipify.org/'])).toBe(PUBLIC_V6_PROBE);
  });

  it('test names are fresh labels under the zone', () => {
    expect(uniqueTestName('Lab.Test.', () => 'abc')).toBe('umbra-abc.lab.test');
    expect(uniqueTestName('lab.test')).not.toBe(uniqueTestName('lab.test'));
  });
});

describe('the address without the VPN', () => {
  function memory(o: { allowed?: () => boolean; answer?: () => Promise<{ address: string; url: string } | undefined> } = {}) {
    const probe4 = vi.fn(o.answer ?? (async () => ({ address: '198.51.100.2', url: 'u' })));
    const m = new PreVpnMemory({ probe4, probe6: async () => undefined, allowed: o.allowed ?? (() => true), now: () => 42, log: () => {} });
    return { m, probe4 };
  }

  it('is looked up after each disconnect, not while connected or blocked', async () => {
    const { m, probe4 } = memory();
    m.onStatus(status());
    m.onStatus(CONNECTED);
    expect(probe4).not.toHaveBeenCalled();
    m.onStatus(status({ state: 'disconnecting' }));
    m.onStatus(status());
    await m.idle();
    expect(probe4).toHaveBeenCalledOnce();
    expect(m.v4).toEqual({ address: '198.51.100.2', url: 'u', at: 42 });
    // Disconnected but blocked (kill switch on boot): no look.
    m.onStatus(status({ blocked: true }));
    await m.idle();
    expect(probe4).toHaveBeenCalledOnce();
    // The block lifted: look.
    m.onStatus(status());
    await m.idle();
    expect(probe4).toHaveBeenCalledTimes(2);
  });

  it('drops an answer that arrives after a connect began', async () => {
    let answer: (v: { address: string; url: string }) => void = () => {};
    const { m } = memory({ answer: () => new Promise((r) => (answer = r)) });
    m.onStatus(CONNECTED);
    m.onStatus(status());
    m.onStatus(status({ state: 'connecting', server: SERVER }));
    answer({ address: '203.0.113.2', url: 'u' });
    await m.idle();
    expect(m.v4).toBeUndefined();
  });

  it('does not look when not allowed, and keeps what a check saw only when allowed', async () => {
    const { m, probe4 } = memory({ allowed: () => false });
    m.probeSoon();
    await m.idle();
    expect(probe4).not.toHaveBeenCalled();
    m.remember({ address: '203.0.113.2', url: 'u' }, undefined);
    expect(m.v4).toBeUndefined();
  });
});
