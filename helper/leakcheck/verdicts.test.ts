import { describe, expect, it } from 'vitest';
import {
  canonicalIp, classifyRoute, dnsCheck, formatRoute, ipv6Check, killSwitchCheck, killSwitchHolds, publicIpCheck, trimListing, worst,
  type DnsFacts, type Ipv6Facts, type KillSwitchFacts, type PublicIpFacts, type RouteFact, type StateFacts,
} from './verdicts.js';

const connected: StateFacts = { state: 'connected', wantsConnection: true, tunnelInterface: 'umbra0', killSwitchHolds: true };
const disconnected: StateFacts = { state: 'disconnected', wantsConnection: false, killSwitchHolds: false };
const viaTunnel = (target: string): RouteFact => ({ target, ok: true, dev: 'umbra0', src: '100.64.1.2' });
const viaEth0 = (target: string): RouteFact => ({ target, ok: true, dev: 'eth0', gateway: '198.51.100.1', src: '198.51.100.2' });
const evidenceText = (r: { evidence: { label: string; text: string }[] }) => r.evidence.map((e) => `${e.label}: ${e.text}`).join('\n');

describe('helpers', () => {
  it('canonicalIp: one spelling per address, undefined for anything else', () => {
    expect(canonicalIp('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalIp('[2001:db8::1]')).toBe('2001:db8::1');
    expect(canonicalIp('::ffff:203.0.113.2')).toBe('203.0.113.2');
    expect(canonicalIp(' 198.51.100.2\n')).toBe('198.51.100.2');
    expect(canonicalIp('fe80::1%eth0')).toBeUndefined();
    expect(canonicalIp('example.com')).toBeUndefined();
  });

  it('worst: fail over warn over pass', () => {
    expect(worst([])).toBe('pass');
    expect(worst(['pass', 'warn'])).toBe('warn');
    expect(worst(['warn', 'fail', 'pass'])).toBe('fail');
  });

  it('classifyRoute: tunnel, blocked, unreachable, local, outside', () => {
    expect(classifyRoute(viaTunnel('203.0.113.250'), connected)).toBe('tunnel');
    expect(classifyRoute(viaEth0('203.0.113.251'), connected)).toBe('blocked');
    expect(classifyRoute(viaEth0('203.0.113.251'), { ...connected, killSwitchHolds: false })).toBe('outside');
    expect(classifyRoute({ target: '2001:db8::1', ok: false, error: 'Network is unreachable' }, connected)).toBe('unreachable');
    expect(classifyRoute({ target: '2001:db8::1', ok: true, type: 'blackhole' }, disconnected)).toBe('unreachable');
    expect(classifyRoute({ target: '127.0.0.53', ok: true, dev: 'lo' }, disconnected)).toBe('local');
    // No tunnel interface: nothing is "through the tunnel".
    expect(classifyRoute(viaTunnel('203.0.113.250'), disconnected)).toBe('outside');
  });

  it('formatRoute reads like ip route get', () => {
    expect(formatRoute(viaEth0('203.0.113.251'))).toBe('203.0.113.251 via 198.51.100.1 dev eth0 src 198.51.100.2');
    expect(formatRoute({ target: '2001:db8::1', ok: false, error: 'Network is unreachable' })).toBe('2001:db8::1: no route (Network is unreachable)');
    expect(formatRoute({ target: '2001:db8::1', ok: true, type: 'unreachable' })).toBe('unreachable 2001:db8::1');
  });

  it('trimListing keeps a listing short and says what was left out', () => {
    const listing = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const t = trimListing(listing, 10).split('\n');
    expect(t).toHaveLength(11);
    expect(t[9]).toBe('line 9');
    expect(t[10]).toBe('… (40 more lines: nft list table inet umbra)');
    expect(trimListing(listing, 49).split('\n').at(-1)).toBe('… (1 more line: nft list table inet umbra)');
    expect(trimListing('a\nb\n\n')).toBe('a\nb');
  });
});

describe('public IP', () => {
  const base: PublicIpFacts = {
    ...connected,
    serverName: 'lab 0',
    preVpn: { address: '198.51.100.2', at: Date.UTC(2025, 0, 1, 12) },
    own: ['198.51.100.2'],
    echo: [{ url: 'http://203.0.113.250/', address: '203.0.113.2' }],
  };

  it('connected: pass when the internet sees the exit address, naming it in the evidence', () => {
    const r = publicIpCheck({ ...base, exitIp: '203.0.113.2' });
    expect(r.verdict).toBe('pass');
    expect(r.finding).toBe('The internet sees 203.0.113.2, the exit address of lab 0');
    expect(evidenceText(r)).toContain('Seen by http://203.0.113.250/: 203.0.113.2');
    expect(evidenceText(r)).toContain('Seen without the VPN: 198.51.100.2 (2025-01-01 12:00:00 UTC)');
  });

  it('connected without a known exit: pass when it differs from the address without the VPN', () => {
    const r = publicIpCheck(base);
    expect(r.verdict).toBe('pass');
    expect(r.finding).toBe('The internet sees 203.0.113.2 (the VPN, lab 0), not your own address 198.51.100.2');
  });

  it('connected: fail when the internet sees your own address', () => {
    const r = publicIpCheck({ ...base, echo: [{ url: 'http://203.0.113.250/', address: '198.51.100.2' }] });
    expect(r.verdict).toBe('fail');
    expect(r.finding).toMatch(/your own address 198\.51\.100\.2: traffic leaves outside the tunnel/);
    // This machine's own address counts even before the helper saw it without the VPN.
    expect(publicIpCheck({ ...base, preVpn: undefined, echo: [{ url: 'u', address: '198.51.100.2' }] }).verdict).toBe('fail');
  });

  it('connected: warn when it cannot compare, or sees another exit, or no service answers', () => {
    expect(publicIpCheck({ ...base, preVpn: undefined, own: [] }).verdict).toBe('warn');
    const other = publicIpCheck({ ...base, exitIp: '203.0.113.18' });
    expect(other.verdict).toBe('warn');
    expect(other.finding).toMatch(/not the exit address of lab 0 \(203\.0\.113\.18\)/);
    const silent = publicIpCheck({ ...base, echo: [{ url: 'http://203.0.113.250/', error: 'no answer within 3000 ms' }] });
    expect(silent.verdict).toBe('warn');
    expect(evidenceText(silent)).toContain('no answer (no answer within 3000 ms)');
  });

  it('disconnected: your own address is exposed — a warning (by choice, not a leak)', () => {
    const r = publicIpCheck({ ...disconnected, own: ['198.51.100.2'], echo: [{ url: 'http://203.0.113.250/', address: '198.51.100.2' }] });
    expect(r.verdict).toBe('warn');
    expect(r.finding).toBe('Not connected: the internet sees your own address 198.51.100.2 (exposed by choice while the VPN is off, not a leak)');
  });

  it('blocked (boot block, or connecting with the kill switch): pass when nothing gets out, fail when something does', () => {
    const blocked = { ...disconnected, killSwitchHolds: true, own: [] };
    expect(publicIpCheck({ ...blocked, echo: [{ url: 'u', error: 'EPERM' }] }).verdict).toBe('pass');
    expect(publicIpCheck({ ...blocked, echo: [{ url: 'u', address: '198.51.100.2' }] }).verdict).toBe('fail');
    const connecting: PublicIpFacts = { ...base, state: 'connecting', killSwitchHolds: false };
    const r = publicIpCheck({ ...connecting, echo: [{ url: 'u', address: '198.51.100.2' }] });
    expect(r.verdict).toBe('fail');
    expect(r.finding).toMatch(/the tunnel is not up yet and the kill switch does not block it/);
  });
});

describe('DNS', () => {
  const base: DnsFacts = {
    ...connected,
    backend: 'resolv-conf',
    resolvers: [{ address: '203.0.113.250', source: 'nameserver in /etc/resolv.conf', route: viaTunnel('203.0.113.250') }],
    tunnelAddresses: ['203.0.113.2', '203.0.113.250'],
    ownAddresses: ['198.51.100.2'],
  };
  const isp = { address: '203.0.113.251', source: 'nameserver in /etc/resolv.conf', route: viaEth0('203.0.113.251') };

  it('pass: every resolver through the tunnel; the evidence has the routes', () => {
    const r = dnsCheck(base);
    expect(r.verdict).toBe('pass');
    expect(r.finding).toBe('The resolver is reached through the tunnel');
    expect(evidenceText(r)).toContain('Resolver 203.0.113.250 (nameserver in /etc/resolv.conf): through the tunnel: 203.0.113.250 dev umbra0 src 100.64.1.2');
  });

  it('a resolver outside the tunnel: blocked by the kill switch passes; not blocked fails', () => {
    expect(dnsCheck({ ...base, resolvers: [...base.resolvers, isp] }).verdict).toBe('pass');
    const r = dnsCheck({ ...base, killSwitchHolds: false, resolvers: [...base.resolvers, isp] });
    expect(r.verdict).toBe('fail');
    expect(r.finding).toBe('DNS leaks: 203.0.113.251 is reached outside the tunnel');
    expect(evidenceText(r)).toContain('OUTSIDE the tunnel: 203.0.113.251 via 198.51.100.1 dev eth0');
  });

  it('disconnected: the ISP resolver is a warning, not a leak', () => {
    const r = dnsCheck({ ...base, ...disconnected, resolvers: [isp], tunnelAddresses: [] });
    expect(r.verdict).toBe('warn');
    expect(r.finding).toMatch(/^Not connected: DNS goes straight to 203\.0\.113\.251/);
  });

  const active = (askers: string[] | undefined, extra: object = {}) => ({
    zone: 'lab.test',
    apiUrl: 'http://203.0.113.250/dns-askers',
    queries: [{ resolver: '203.0.113.250', name: 'umbra-1.lab.test', answer: 'NOERROR', ...(askers ? { askers } : { askersError: 'HTTP 500' }), ...extra }],
  });

  it('the active test: pass when only the VPN asked; fail for your own address or a stranger', () => {
    const ok = dnsCheck({ ...base, active: active(['203.0.113.2']) });
    expect(ok.verdict).toBe('pass');
    expect(ok.finding).toMatch(/the leak-test DNS was asked only by the VPN/);
    expect(evidenceText(ok)).toContain('umbra-1.lab.test via 203.0.113.250: answered NOERROR; asked by 203.0.113.2');

    const own = dnsCheck({ ...base, active: active(['203.0.113.2', '198.51.100.2']) });
    expect(own.verdict).toBe('fail');
    expect(own.finding).toBe('DNS leaks: the leak-test DNS was asked by your own address 198.51.100.2');

    const stranger = dnsCheck({ ...base, active: active(['192.0.2.53']) });
    expect(stranger.verdict).toBe('fail');
    expect(stranger.finding).toMatch(/asked by 192\.0\.2\.53, which is not the VPN's/);
    // Nothing known to be the tunnel's: it cannot be told apart.
    expect(dnsCheck({ ...base, tunnelAddresses: [], active: active(['192.0.2.53']) }).verdict).toBe('warn');
  });

  it('the active test proves nothing when the service cannot be asked or saw nothing', () => {
    expect(dnsCheck({ ...base, active: active(undefined) }).verdict).toBe('warn');
    const none = dnsCheck({ ...base, active: active([]) });
    expect(none.verdict).toBe('warn');
    expect(none.finding).toMatch(/saw none of the test queries/);
    // A query refused by the kill switch that nobody saw: fine.
    expect(dnsCheck({ ...base, active: { ...active([]), queries: [{ resolver: '203.0.113.251', name: 'x.lab.test', error: 'EPERM', askers: [] }] } }).verdict).toBe('pass');
  });

  it('LAN DNS: the local resolver the user named for a domain is expected outside the tunnel; any other is still a leak', () => {
    const corp = { ...isp, address: '198.51.100.53', route: viaEth0('198.51.100.53'), expectedFor: ['corp.example'] };
    const r = dnsCheck({ ...base, killSwitchHolds: false, resolvers: [...base.resolvers, corp] });
    expect(r.verdict).toBe('pass');
    expect(r.finding).toBe('The resolver is reached through the tunnel; names under corp.example go to 198.51.100.53 on the local network, as you set');
    expect(evidenceText(r)).toContain('on the local network, as you set for corp.example (Local network domains): 198.51.100.53 via 198.51.100.1 dev eth0');
    expect(dnsCheck({ ...base, killSwitchHolds: false, resolvers: [...base.resolvers, corp, isp] }).finding).toBe('DNS leaks: 203.0.113.251 is reached outside the tunnel');
  });

  it('no resolvers found, or only a local stub: a warning', () => {
    expect(dnsCheck({ ...base, resolvers: [], resolversError: 'ENOENT' }).finding).toMatch(/No DNS resolvers found \(resolv-conf\): ENOENT/);
    expect(dnsCheck({ ...base, resolvers: [{ address: '127.0.0.53', source: 's', route: { target: '127.0.0.53', ok: true, dev: 'lo' } }] }).verdict).toBe('warn');
  });
});

describe('IPv6', () => {
  const base: Ipv6Facts = { ...connected, route: viaEth0('2001:db8:f::250'), echo6: { url: 'http://[2001:db8:f::250]/', error: 'EPERM' }, own6: ['2001:db8:c::2'] };

  it('pass: routed outside but blocked by the kill switch, and the echo service unreachable', () => {
    const r = ipv6Check(base);
    expect(r.verdict).toBe('pass');
    expect(r.finding).toBe('IPv6 outside the tunnel is blocked by the kill switch');
    expect(evidenceText(r)).toContain('Route to 2001:db8:f::250: outside the tunnel, but blocked by the kill switch: 2001:db8:f::250 via 198.51.100.1 dev eth0');
  });

  it('fail: an IPv4-only tunnel without the kill switch lets IPv6 out', () => {
    const open = { ...base, killSwitchHolds: false };
    const r = ipv6Check({ ...open, echo6: { url: 'http://[2001:db8:f::250]/', address: '2001:db8:c::2' } });
    expect(r.verdict).toBe('fail');
    expect(r.finding).toBe('IPv6 leaks: the echo service was reached outside the tunnel and saw 2001:db8:c::2');
    // Even when the echo service does not answer, the route alone is a leak.
    expect(ipv6Check(open).verdict).toBe('fail');
    expect(ipv6Check({ ...open, echo6: undefined }).finding).toMatch(/can leave outside the tunnel \(dev eth0\) and the kill switch does not block it/);
  });

  it('could not test: routed into the tunnel, but the IPv6 echo timed out (never a pass)', () => {
    const r = ipv6Check({ ...base, route: viaTunnel('2001:db8:f::250'), echo6: { url: 'http://[2001:db8:f::250]/', error: 'no answer within 3000 ms' } });
    expect(r.verdict).toBe('warn');
    expect(r.finding).toMatch(/^Could not test: .*no answer within 3000 ms/);
    // With no IPv6 echo configured, the route is all there is to go on.
    expect(ipv6Check({ ...base, route: viaTunnel('2001:db8:f::250'), echo6: undefined })).toMatchObject({ verdict: 'pass', finding: 'IPv6 is routed into the tunnel' });
  });

  it('pass: tunnelled, or no IPv6 route at all', () => {
    expect(ipv6Check({ ...base, route: viaTunnel('2001:db8:f::250'), echo6: { url: 'u', address: '2001:db8:10::2' } }).finding).toBe('IPv6 goes through the tunnel: the internet sees 2001:db8:10::2');
    expect(ipv6Check({ ...base, ...disconnected, route: { target: '2001:db8::1', ok: false, error: 'Network is unreachable' }, echo6: undefined }).verdict).toBe('pass');
  });

  it('the guard of an IPv4-only tunnel refuses IPv6 outside it: a pass that says why', () => {
    const open = { ...base, killSwitchHolds: false, echo6: undefined };
    expect(ipv6Check(open).verdict).toBe('fail');
    const refused = ipv6Check({ ...open, ipv6Refused: true });
    expect(refused).toMatchObject({ verdict: 'pass', finding: 'IPv6 outside the tunnel is refused: this connection tunnels IPv4 only' });
    expect(evidenceText(refused)).toContain('Route to 2001:db8:f::250: outside the tunnel, but refused by the connection’s firewall (IPv4-only tunnel): 2001:db8:f::250 via 198.51.100.1 dev eth0');
    // What the echo service saw still wins over the rules.
    expect(ipv6Check({ ...open, ipv6Refused: true, echo6: { url: 'u', address: '2001:db8:c::2' } }).verdict).toBe('fail');
  });

  it('disconnected: IPv6 going out directly is a warning', () => {
    expect(ipv6Check({ ...base, ...disconnected, echo6: { url: 'u', address: '2001:db8:c::2' } }).verdict).toBe('warn');
  });
});

describe('kill switch', () => {
  const listing = 'table inet umbra {\n\tcomment "umbra kill switch v1 spec=aaaa"\n}';
  const base: KillSwitchFacts = {
    state: 'connected', wantsConnection: true, setting: true, onBoot: false, expectedHash: 'a'.repeat(32),
    table: { present: true, hash: 'a'.repeat(32), listing }, now: 1_000_000_000,
  };

  it('pass: the table the helper applied is in the kernel; the evidence is its listing', () => {
    const r = killSwitchCheck(base);
    expect(r.verdict).toBe('pass');
    expect(r.evidence).toContainEqual({ label: 'nft list table inet umbra', text: listing });
    expect(killSwitchHolds(base)).toBe(true);
  });

  it('fail: missing, or holding another ruleset', () => {
    const gone = killSwitchCheck({ ...base, table: { present: false } });
    expect(gone.verdict).toBe('fail');
    expect(gone.finding).toMatch(/missing from the kernel/);
    expect(killSwitchHolds({ ...base, table: { present: false } })).toBe(false);
    const other = killSwitchCheck({ ...base, table: { present: true, hash: 'b'.repeat(32), listing } });
    expect(other.verdict).toBe('fail');
    expect(killSwitchHolds({ ...base, table: { present: true, hash: 'b'.repeat(32) } })).toBe(false);
    // On and wanting a connection, but the helper has applied nothing (yet): missing is still a fail.
    expect(killSwitchCheck({ ...base, expectedHash: undefined, table: { present: false } }).verdict).toBe('fail');
  });

  it('warn: restored by the watchdog a moment ago, an unmarked table, or off while connected', () => {
    const r = killSwitchCheck({ ...base, lastRestore: { at: base.now - 5_000, why: 'the table was missing' } });
    expect(r.verdict).toBe('warn');
    expect(r.finding).toMatch(/the kill-switch table was missing at .* and the helper had to restore it/);
    expect(killSwitchCheck({ ...base, lastRestore: { at: base.now - 3_600_000, why: 'the table was missing' } }).verdict).toBe('pass');
    expect(killSwitchCheck({ ...base, table: { present: true, listing } }).verdict).toBe('warn');
    const off = killSwitchCheck({ ...base, setting: false, expectedHash: undefined, table: { present: false } });
    expect(off.verdict).toBe('warn');
    expect(off.finding).toMatch(/off: if the tunnel drops/);
  });

  it('disconnected: no table is what the settings ask for; the boot block is expected', () => {
    expect(killSwitchCheck({ ...base, state: 'disconnected', wantsConnection: false, expectedHash: undefined, table: { present: false } }).verdict).toBe('pass');
    expect(killSwitchCheck({ ...base, state: 'disconnected', wantsConnection: false, expectedHash: undefined, table: { present: true, listing } }).verdict).toBe('warn');
    const boot = killSwitchCheck({ ...base, state: 'disconnected', wantsConnection: false, onBoot: true, expectedIsBoot: true });
    expect(boot.verdict).toBe('pass');
    expect(boot.finding).toMatch(/on boot/);
  });

  it('the guard (connected, kill switch off): "off" while it holds, a fail when it does not', () => {
    const guard: KillSwitchFacts = { ...base, setting: false, expectedGuard: true, table: { present: true, hash: 'a'.repeat(32), block: false, listing } };
    const r = killSwitchCheck(guard);
    expect(r.verdict).toBe('warn');
    expect(r.finding).toMatch(/^The kill switch is off: if the tunnel drops, traffic goes out unprotected/);
    expect(r.evidence).toContainEqual({ label: 'In the kernel', text: `table inet umbra with spec ${'a'.repeat(32)} (guards only)` });
    expect(killSwitchHolds(guard)).toBe(false); // it blocks nothing the other checks could count on
    expect(killSwitchCheck({ ...guard, table: { present: false } })).toMatchObject({ verdict: 'fail', finding: expect.stringMatching(/guards are missing from the kernel/) });
    expect(killSwitchCheck({ ...guard, table: { present: true, hash: 'b'.repeat(32), block: false } })).toMatchObject({ verdict: 'fail', finding: expect.stringMatching(/not the ones the helper applied/) });
    // A guard table in the kernel never counts as a block, even when the helper expects none.
    expect(killSwitchHolds({ ...base, expectedHash: undefined, table: { present: true, hash: 'a'.repeat(32), block: false } })).toBe(false);
    expect(killSwitchHolds({ ...base, table: { present: true, hash: 'a'.repeat(32), block: true } })).toBe(true);
  });

  it('an unreadable firewall is a warning, not a pass', () => {
    expect(killSwitchCheck({ ...base, table: { error: 'nft is not installed' } }).verdict).toBe('warn');
    expect(killSwitchHolds({ ...base, table: { error: 'x' } })).toBe(false);
  });
});
