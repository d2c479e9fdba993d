// The firewall's ruleset text: which rules each spec produces (block and guard), that no rule lets
// everything through, validation, the spec hash and marker; and that nft accepts every generated
// ruleset in check mode (`nft -c -f`, which changes nothing), run inside a throwaway network
// namespace of its own (ukfc-<pid>) all the same. The nft part needs root, nft and ip; it is
// skipped otherwise.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UMBRA_FWMARK } from '../routing/constants.js';
import { CONNECTED, GUARD } from './testdata/specs.js';
import {
  bootSpec,
  buildRuleset,
  hasArpTable,
  markerComment,
  normalizeSpec,
  parseMarker,
  PRIVATE_PREFIXES,
  removalScript,
  specHash,
  type FirewallSpec,
} from './ruleset.js';

const GUARD_V4_ONLY: FirewallSpec = { ...GUARD, tunnelsIpv6: false, endpoints: [{ address: '2001:db8:ff::2', port: 51820 }, { address: '203.0.113.2', port: 51820 }] };

const SPECS: Record<string, FirewallSpec> = {
  connected: CONNECTED,
  connecting: { ...CONNECTED, tunnelInterface: undefined, tunnelAddresses: [] },
  boot: bootSpec({ fwmark: UMBRA_FWMARK }),
  bootLan: bootSpec({ fwmark: UMBRA_FWMARK, allowLan: true }),
  hostname: { ...bootSpec({ fwmark: UMBRA_FWMARK }), lookupResolvers: ['198.51.100.1', '2001:db8:1::1'] },
  ipv6: {
    block: true,
    tunnelInterface: 'umbra1',
    tunnelAddresses: ['2001:db8:64::2'],
    tunnelsIpv6: true,
    endpoints: [{ address: '2001:db8:ff::2', port: 51820 }],
    fwmark: 0xffffffff,
    dnsServers: ['2001:db8:64::53', 'fd00::53'],
    lookupResolvers: ['2001:db8:1::1'],
    allowLan: true,
  },
  switching: {
    block: true,
    tunnelInterface: 'umbra0',
    tunnelAddresses: ['100.64.0.2', '100.64.0.3'],
    tunnelsIpv6: false,
    endpoints: [
      { address: '203.0.113.2', port: 51820 },
      { address: '198.51.100.7', port: 53 },
      { address: '2001:db8::7', port: 51820 },
    ],
    fwmark: UMBRA_FWMARK,
    dnsServers: ['100.64.0.53', '100.64.0.54', '2001:db8:64::53'],
    lookupResolvers: ['198.51.100.1', '198.51.100.3'],
    allowLan: true,
  },
  guard: GUARD,
  guardV4Only: GUARD_V4_ONLY,
  guardNoTunnel: { ...GUARD_V4_ONLY, tunnelInterface: undefined, tunnelAddresses: [] },
  guardEmpty: { ...GUARD, tunnelInterface: undefined, tunnelAddresses: [], endpoints: [] },
  empty: { ...bootSpec({ fwmark: 1 }) },
  lanDns: { ...CONNECTED, lanDnsServers: ['198.51.100.53', '2001:db8:1::53'] },
};

/** Every combination of the settings and states that shape a spec. */
function allCombinations(): FirewallSpec[] {
  const out: FirewallSpec[] = [];
  for (const block of [true, false])
    for (const allowLan of [true, false])
      for (const tunnelsIpv6 of [true, false])
        for (const tunnel of [true, false])
          for (const addresses of [[], ['100.64.0.2'], ['2001:db8:64::2'], ['100.64.0.2', '2001:db8:64::2']])
            for (const endpoints of [[], [{ address: '203.0.113.2', port: 51820 }], [{ address: '2001:db8:ff::2', port: 443 }]])
              for (const lookups of [[], ['198.51.100.1', '2001:db8:1::1']]) {
                if (!tunnel && addresses.length > 0) continue; // refused: the guard needs the interface
                out.push({
                  block,
                  ...(tunnel ? { tunnelInterface: 'umbra0' } : {}),
                  tunnelAddresses: addresses,
                  tunnelsIpv6,
                  endpoints,
                  fwmark: UMBRA_FWMARK,
                  dnsServers: tunnel ? ['100.64.0.53', '2001:db8:64::53'] : [],
                  lookupResolvers: lookups,
                  allowLan,
                });
              }
  return out;
}

/** The rule lines (inside chains) of a ruleset, per chain; arp chains as `arp:<name>`. */
function chains(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let table = '';
  let current: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const t = /^table (\w+) umbra \{$/.exec(line);
    const open = /^chain (\w+) \{$/.exec(line);
    if (t) table = t[1] === 'inet' ? '' : `${t[1]}:`;
    else if (open) {
      current = table + open[1]!;
      out[current] = [];
    } else if (line === '}') current = undefined;
    else if (current && line && !line.startsWith('type ')) out[current]!.push(line);
  }
  return out;
}

/** The `type ... policy ...;` line of each base chain. */
const heads = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('type filter hook'));

/** A rule with no match before its verdict. */
const bare = (rule: string) => /^(counter )?(accept|drop|reject( with [\w -]+)?)( comment "[^"]*")?$/.test(rule);
const acceptsEverything = (rule: string) => /^(counter )?accept( comment "[^"]*")?$/.test(rule);
const label = (r: string) => /comment "([^"]+)"/.exec(r)?.[1] ?? r;

describe('buildRuleset: the transaction', () => {
  it('replaces tables inet umbra and arp umbra in one transaction, and names no other table', () => {
    for (const [name, spec] of Object.entries(SPECS)) {
      const text = buildRuleset(spec);
      const statements = text.split('\n').filter((l) => /^(add|delete|table|flush|destroy)\b/.test(l));
      const withArp = spec.tunnelAddresses.some((a) => !a.includes(':'));
      expect(statements, name).toEqual([
        'add table inet umbra',
        'delete table inet umbra',
        'add table arp umbra',
        'delete table arp umbra',
        'table inet umbra {',
        ...(withArp ? ['table arp umbra {'] : []),
      ]);
      expect(hasArpTable(spec)).toBe(withArp);
      expect(text).not.toMatch(/flush ruleset/);
      expect(text.match(/\btable (?!(inet|arp) umbra\b)\S+/g), name).toBeNull();
    }
  });

  it('has a removal script that deletes only our two tables, present or not', () => {
    expect(removalScript()).toBe('add table inet umbra\ndelete table inet umbra\nadd table arp umbra\ndelete table arp umbra\n');
  });

  it('builds for every combination of settings (nothing the network hands out can make it throw)', () => {
    const combos = allCombinations();
    expect(combos.length).toBe(240);
    const texts = new Set(combos.map((s) => buildRuleset(s)));
    // One text per meaning: the settings reach the rules, and what a mode ignores changes nothing.
    expect(texts.size).toBe(new Set(combos.map(specHash)).size);
    expect(texts.size).toBeGreaterThan(80);
  });
});

describe('buildRuleset: block (the kill switch)', () => {
  it('blocks by default in input, output and forward, before the usual filter tables', () => {
    const text = buildRuleset(CONNECTED);
    for (const hook of ['input', 'output', 'forward']) {
      expect(text).toContain(`type filter hook ${hook} priority filter - 10; policy drop;`);
    }
    expect(heads(text).filter((h) => h.includes('policy accept'))).toEqual([
      'type filter hook prerouting priority raw; policy accept;', // the guard's own chain: it only drops
      'type filter hook input priority filter - 10; policy accept;', // the arp table: it only drops
    ]);
    const c = chains(text);
    // Output ends with rejects (fail fast), not a silent drop.
    expect(c.output!.slice(-2)).toEqual(['meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited']);
  });

  it('no rule in any chain accepts everything; every accept is qualified', () => {
    for (const spec of [...Object.values(SPECS), ...allCombinations()]) {
      for (const [chain, rules] of Object.entries(chains(buildRuleset(spec)))) {
        for (const rule of rules) expect(acceptsEverything(rule), `${chain}: ${rule}`).toBe(false);
        for (const rule of rules.filter((r) => /\baccept\b/.test(r))) {
          expect(rule, chain).toMatch(/\b(oif|iif|oifname|iifname|ip6? [sd]addr|udp|tcp|th|icmpv6|meta mark|meta l4proto|ct status|ct state)\b/);
        }
      }
    }
  });

  it('lets the encrypted UDP out only with the mark, and in only as its replies', () => {
    const c = chains(buildRuleset(SPECS.switching!));
    expect(c.output).toContain('meta mark 0x0000756d ip daddr 203.0.113.2 udp dport 51820 accept comment "encrypted UDP to the VPN server"');
    expect(c.output).toContain('meta mark 0x0000756d ip daddr 198.51.100.7 udp dport 53 accept comment "encrypted UDP to the VPN server"');
    expect(c.output).toContain('meta mark 0x0000756d ip6 daddr 2001:db8::7 udp dport 51820 accept comment "encrypted UDP to the VPN server"');
    expect(c.input).toContain('ip saddr 203.0.113.2 udp sport 51820 ct state established accept comment "encrypted UDP from the VPN server (replies only)"');
    expect(c.input).toContain('ip6 saddr 2001:db8::7 udp sport 51820 ct state established accept comment "encrypted UDP from the VPN server (replies only)"');
    // Nothing from an endpoint is accepted unless it is a reply (not to any local port).
    const fromEndpoint = c.input!.filter((r) => /203\.0\.113\.2\b|198\.51\.100\.7|2001:db8::7/.test(r));
    expect(fromEndpoint).toHaveLength(3);
    for (const r of fromEndpoint) expect(r).toContain('ct state established accept');
    // Endpoint rules come before the DNS reject, so an endpoint on port 53 works.
    const out = c.output!;
    expect(out.findIndex((r) => r.includes('198.51.100.7'))).toBeLessThan(out.findIndex((r) => r.startsWith('udp dport 53 reject')));
    // Nothing else to any endpoint without the mark.
    expect(out.filter((r) => r.includes('203.0.113.2')).every((r) => r.startsWith('meta mark 0x0000756d '))).toBe(true);
  });

  it("lets the helper's own marked lookups reach the lookup resolvers, before the DNS reject, and their answers back only as replies", () => {
    for (const spec of [SPECS.hostname!, SPECS.switching!]) {
      const c = chains(buildRuleset(spec));
      const out = c.output!;
      const v4 = spec === SPECS.hostname ? '198.51.100.1' : '{ 198.51.100.1, 198.51.100.3 }';
      const lookup = `meta mark 0x0000756d ip daddr ${v4} meta l4proto { tcp, udp } th dport 53 accept comment "the helper's own lookups of the server's name"`;
      expect(out).toContain(lookup);
      expect(out.indexOf(lookup)).toBeLessThan(out.indexOf('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"'));
      expect(out.indexOf(lookup)).toBeLessThan(out.indexOf('tcp dport 53 reject with tcp reset comment "any other DNS"'));
      expect(c.input).toContain(`ip saddr ${v4} meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers to the helper's own lookups"`);
    }
    const c = chains(buildRuleset(SPECS.hostname!));
    expect(c.output).toContain(`meta mark 0x0000756d ip6 daddr 2001:db8:1::1 meta l4proto { tcp, udp } th dport 53 accept comment "the helper's own lookups of the server's name"`);
    expect(c.input).toContain(`ip6 saddr 2001:db8:1::1 meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers to the helper's own lookups"`);
    // Without resolvers there is no such rule.
    expect(buildRuleset(SPECS.boot!)).not.toMatch(/lookups/);
  });

  it('never lets unmarked DNS out outside the tunnel', () => {
    for (const spec of [...Object.values(SPECS), ...allCombinations()].filter((s) => s.block)) {
      const c = chains(buildRuleset(spec));
      for (const chain of ['output', 'forward']) {
        for (const r of c[chain]!.filter((x) => /\b(dport 53|th dport 53)\b.*\baccept\b/.test(x))) {
          expect(r, chain).toMatch(/^(oifname "umbra\d" |meta mark 0x[0-9a-f]{8} )/);
        }
      }
      // Accepts that are not about port 53 and not through the tunnel all come after the reject.
      const out = c.output!;
      const reject = out.indexOf('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"');
      out.forEach((r, i) => {
        if (i < reject && r.includes('accept')) expect(r, `output rule ${i} before the DNS reject`).toMatch(/^oif "lo"|^meta mark 0x[0-9a-f]{8} |^oifname "umbra\d" ip6? daddr .* th dport 53/);
      });
    }
  });

  it('allows DNS only through the tunnel to its servers, and rejects every other port 53 before the LAN rules', () => {
    const c = chains(buildRuleset(SPECS.switching!));
    const out = c.output!;
    expect(out).toContain(`oifname "umbra0" ip daddr { 100.64.0.53, 100.64.0.54 } meta l4proto { tcp, udp } th dport 53 accept comment "DNS to the tunnel's servers"`);
    expect(out).toContain(`oifname "umbra0" ip6 daddr 2001:db8:64::53 meta l4proto { tcp, udp } th dport 53 accept comment "DNS to the tunnel's servers"`);
    const dnsReject = out.indexOf('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"');
    expect(dnsReject).toBeGreaterThan(0);
    expect(dnsReject).toBeLessThan(out.indexOf('oifname "umbra0" accept comment "through the tunnel"'));
    expect(dnsReject).toBeLessThan(out.findIndex((r) => r.includes('allow LAN')));
    expect(c.forward).toContain('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"');
    expect(buildRuleset(SPECS.connecting!)).not.toMatch(/th dport 53 accept/);
  });

  it('passes the tunnel interface only when there is one', () => {
    const c = chains(buildRuleset(CONNECTED));
    expect(c.output).toContain('oifname "umbra0" accept comment "through the tunnel"');
    expect(c.input).toContain('iifname "umbra0" accept comment "through the tunnel"');
    expect(c.forward).toContain('oifname "umbra0" accept comment "into the tunnel"');
    expect(c.forward).toContain('iifname "umbra0" ct state { established, related } accept comment "replies from the tunnel"');
    expect(c.forward).toContain('iifname "umbra0" ct status dnat accept comment "published ports"');
    expect(c.forward).toContain('iifname "umbra0" drop comment "nothing else from the tunnel to other interfaces"');
    for (const spec of [SPECS.connecting!, SPECS.boot!]) expect(buildRuleset(spec)).not.toMatch(/umbra0|oifname|iifname/);
  });

  it('lets DHCPv4 pass only as DHCP is: broadcast out, broadcast or replies in', () => {
    for (const spec of [CONNECTED, SPECS.boot!, SPECS.bootLan!]) {
      const c = chains(buildRuleset(spec));
      const dhcpOut = c.output!.filter((r) => /sport 68|dport 67/.test(r));
      expect(dhcpOut).toEqual(['ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept comment "DHCPv4 (broadcast only)"']);
      const dhcpIn = c.input!.filter((r) => /sport 67|dport 68/.test(r));
      expect(dhcpIn).toEqual([
        'ip daddr 255.255.255.255 udp sport 67 udp dport 68 accept comment "DHCPv4 (broadcast)"',
        'meta nfproto ipv4 udp sport 67 udp dport 68 ct state established accept comment "DHCPv4 (replies)"',
      ]);
    }
  });

  it('keeps DHCPv6 and neighbour discovery (hop limit 255: on the link only, from and to any address)', () => {
    for (const spec of [CONNECTED, SPECS.boot!, GUARD_V4_ONLY]) {
      const c = chains(buildRuleset(spec));
      const out = spec.block ? c.output : c.ipv6_output;
      const inp = spec.block ? c.input : c.ipv6_input;
      expect(out).toContain('ip6 saddr fe80::/10 ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept comment "DHCPv6"');
      expect(inp).toContain('ip6 saddr fe80::/10 ip6 daddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6"');
      // Any addresses: a neighbour at a global address solicits and answers from it.
      expect(out).toContain('icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"');
      expect(inp).toContain('icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"');
      expect([...out!, ...inp!].filter((r) => /nd-/.test(r) && !/hoplimit 255 accept/.test(r))).toEqual([]);
      expect(out).toContain('ip6 daddr ff02::/16 icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } accept comment "multicast listener reports"');
      expect(inp).toContain('ip6 saddr fe80::/10 icmpv6 type mld-listener-query accept comment "multicast listener queries"');
      // ICMPv6 is otherwise not accepted: no echo, no redirect.
      expect(buildRuleset(spec)).not.toMatch(/echo-request|nd-redirect/);
    }
  });

  it('allow LAN: the fixed ranges (with local multicast/broadcast), nothing else', () => {
    expect([...PRIVATE_PREFIXES]).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10']);
    const c = chains(buildRuleset(SPECS.bootLan!));
    expect(c.output).toContain('ip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 224.0.0.0/24, 239.0.0.0/8, 255.255.255.255 } accept comment "allow LAN"');
    expect(c.output).toContain('ip6 daddr { fc00::/7, fe80::/10, ff02::/16, ff05::/16 } accept comment "allow LAN"');
    expect(c.input).toContain('ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 } accept comment "allow LAN"');
    expect(c.input).toContain('ip6 saddr { fc00::/7, fe80::/10 } accept comment "allow LAN"');
    expect(c.forward).toContain('ip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 } accept comment "allow LAN"');
    expect(c.forward).toContain('ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 } ct state { established, related } accept comment "allow LAN (replies)"');
    expect(c.forward).toContain('ip6 saddr { fc00::/7, fe80::/10 } ct status dnat accept comment "allow LAN (published ports)"');
    // The same rules whatever else the spec holds: nothing in it can widen the LAN.
    const lanRules = (s: FirewallSpec) => Object.values(chains(buildRuleset(s))).flat().filter((r) => r.includes('allow LAN'));
    expect(lanRules(SPECS.switching!)).toEqual(lanRules(SPECS.bootLan!));
    expect(lanRules(SPECS.ipv6!)).toEqual(lanRules(SPECS.bootLan!));
    expect(buildRuleset(CONNECTED)).not.toMatch(/allow LAN|224\.0\.0|ff05/);
  });

  it('has a boot variant that blocks everything but loopback, DHCP and ND', () => {
    const c = chains(buildRuleset(SPECS.boot!));
    expect(c.output!.filter((r) => /accept/.test(r)).map(label)).toEqual([
      'oif "lo" accept',
      'DHCPv4 (broadcast only)',
      'DHCPv6',
      'neighbour discovery',
      'multicast listener reports',
    ]);
    expect(c.forward!.filter((r) => /accept/.test(r))).toEqual([]);
    expect(Object.keys(c)).toEqual(['output', 'input', 'forward']); // no guard: no tunnel addresses
    expect(bootSpec({ fwmark: 7, allowLan: true })).toEqual({
      block: true, tunnelAddresses: [], tunnelsIpv6: true, endpoints: [], fwmark: 7, dnsServers: [], lookupResolvers: [], allowLan: true,
    });
  });
});

describe('buildRuleset: the CVE-2019-14899 guard (both policies)', () => {
  it('drops what is addressed to the tunnel addresses unless it arrives on the tunnel or loopback, before conntrack', () => {
    for (const spec of [CONNECTED, GUARD]) {
      const text = buildRuleset(spec);
      expect(heads(text)).toContain('type filter hook prerouting priority raw; policy accept;');
      expect(chains(text).prerouting).toEqual([
        `iifname != { "lo", "umbra0" } ip daddr 100.64.0.2 drop comment "the tunnel's addresses only through the tunnel (CVE-2019-14899)"`,
        `iifname != { "lo", "umbra0" } ip6 daddr 2001:db8:64::2 drop comment "the tunnel's addresses only through the tunnel (CVE-2019-14899)"`,
        `iifname != { "lo", "umbra0" } icmpv6 type nd-neighbor-solicit @th,64,128 0x20010db8006400000000000000000002 drop comment "no neighbour advertisements for the tunnel's addresses"`,
      ]);
    }
    expect(chains(buildRuleset(SPECS.switching!)).prerouting![0]).toMatch(/ip daddr \{ 100\.64\.0\.2, 100\.64\.0\.3 \} drop/);
  });

  it('answers no ARP request for the IPv4 tunnel addresses, on any interface', () => {
    for (const spec of [CONNECTED, GUARD]) {
      const c = chains(buildRuleset(spec));
      expect(c['arp:input']).toEqual([`arp operation request arp daddr ip 100.64.0.2 drop comment "no ARP replies for the tunnel's addresses (CVE-2019-14899)"`]);
      expect(buildRuleset(spec)).toContain('table arp umbra {\n\tchain input {\n\t\ttype filter hook input priority filter - 10; policy accept;\n');
    }
    // IPv6 only: no arp table (the transaction still deletes a stale one).
    expect(chains(buildRuleset(SPECS.ipv6!))['arp:input']).toBeUndefined();
  });

  it('has no guard without tunnel addresses, and refuses tunnel addresses without the tunnel interface', () => {
    for (const spec of [SPECS.connecting!, SPECS.boot!, SPECS.guardNoTunnel!]) expect(buildRuleset(spec)).not.toMatch(/prerouting|CVE/);
    expect(() => buildRuleset({ ...CONNECTED, tunnelInterface: undefined })).toThrow(/tunnelAddresses need tunnelInterface/);
  });
});

describe('buildRuleset: guard (connected without the kill switch)', () => {
  it('accepts by default and drops only what its rules name', () => {
    for (const spec of [GUARD, GUARD_V4_ONLY, SPECS.guardNoTunnel!]) {
      const text = buildRuleset(spec);
      expect(text).not.toContain('policy drop');
      // A bare drop or reject only in the IPv6 chains (which only IPv6 jumps to).
      for (const [chain, rules] of Object.entries(chains(text))) {
        if (!chain.startsWith('ipv6_')) for (const r of rules) expect(bare(r), `${chain}: ${r}`).toBe(false);
      }
    }
    // No DNS, LAN or endpoint rules of the block: it does not filter IPv4.
    expect(buildRuleset(GUARD)).not.toMatch(/dport 53|allow LAN|encrypted UDP|DHCPv4/);
    expect(Object.keys(chains(buildRuleset(GUARD)))).toEqual(['prerouting', 'forward', 'arp:input']);
    expect(Object.keys(chains(buildRuleset(SPECS.guardEmpty!)))).toEqual([]);
  });

  it('forwards from the tunnel only replies and published ports', () => {
    expect(chains(buildRuleset(GUARD)).forward).toEqual([
      'oifname "umbra0" accept comment "into the tunnel"',
      'iifname "umbra0" ct state { established, related } accept comment "replies from the tunnel"',
      'iifname "umbra0" ct status dnat accept comment "published ports"',
      'iifname "umbra0" drop comment "nothing else from the tunnel to other interfaces"',
    ]);
  });

  it('refuses IPv6 outside an IPv4-only tunnel, except the marked UDP, ND, DHCPv6, related errors and the LAN', () => {
    const c = chains(buildRuleset(GUARD_V4_ONLY));
    expect(c.output).toEqual(['meta nfproto ipv6 jump ipv6_output comment "IPv6 outside an IPv4-only tunnel"']);
    expect(c.input).toEqual(['meta nfproto ipv6 jump ipv6_input comment "IPv6 outside an IPv4-only tunnel"']);
    expect(c.forward!.at(-1)).toBe('meta nfproto ipv6 jump ipv6_forward comment "IPv6 outside an IPv4-only tunnel"');
    expect(c.ipv6_output!.map(label)).toEqual([
      'oif "lo" accept',
      'through the tunnel',
      'encrypted UDP to the VPN server',
      'DHCPv6',
      'neighbour discovery',
      'multicast listener reports',
      'errors about allowed flows',
      'the LAN',
      'meta l4proto tcp reject with tcp reset',
      'reject with icmpx type admin-prohibited',
    ]);
    expect(c.ipv6_output).toContain('meta mark 0x0000756d ip6 daddr 2001:db8:ff::2 udp dport 51820 accept comment "encrypted UDP to the VPN server"');
    expect(c.ipv6_output).toContain('ip6 daddr { fc00::/7, fe80::/10, ff02::/16 } accept comment "the LAN"');
    expect(c.ipv6_output).toContain('meta l4proto ipv6-icmp ct state related accept comment "errors about allowed flows"');
    expect(c.ipv6_input).toContain('ip6 saddr 2001:db8:ff::2 udp sport 51820 ct state established accept comment "encrypted UDP from the VPN server (replies only)"');
    expect(c.ipv6_input).toContain('ip6 saddr { fc00::/7, fe80::/10 } accept comment "the LAN"');
    expect(c.ipv6_input!.at(-1)).toBe('drop');
    expect(c.ipv6_forward!.at(-1)).toBe('drop');
    // The IPv4 endpoint is not mentioned: IPv4 is not filtered.
    expect(buildRuleset(GUARD_V4_ONLY)).not.toContain('203.0.113.2');
    // An IPv6-carrying tunnel has none of it.
    expect(buildRuleset(GUARD)).not.toMatch(/ipv6_|nfproto ipv6/);
  });

  it('ignores the block-only fields, and block ignores tunnelsIpv6 (same meaning, same text and hash)', () => {
    const noisy: FirewallSpec = { ...GUARD, dnsServers: ['100.64.0.53'], lookupResolvers: ['198.51.100.1'], allowLan: true };
    expect(buildRuleset(noisy)).toBe(buildRuleset(GUARD));
    expect(specHash(noisy)).toBe(specHash(GUARD));
    expect(buildRuleset({ ...CONNECTED, tunnelsIpv6: false })).toBe(buildRuleset(CONNECTED));
    expect(specHash(GUARD)).not.toBe(specHash(GUARD_V4_ONLY));
    expect(specHash(GUARD)).not.toBe(specHash({ ...GUARD, block: true }));
  });
});

describe("LAN DNS (lanDnsServers): the helper's marked DNS to exactly the LAN servers the user named", () => {
  const without = (text: string) => text.split('\n').filter((l) => !l.startsWith('\tcomment '));

  it('adds, in block mode only, a marked port-53 rule out to those servers and their answers in; nothing else changes', () => {
    const c = chains(buildRuleset(SPECS.lanDns!));
    const out = c.output!;
    const lanOut = out.filter((r) => r.includes('the local domains the user named'));
    expect(lanOut).toEqual([
      `meta mark 0x${UMBRA_FWMARK.toString(16).padStart(8, '0')} ip daddr 198.51.100.53 meta l4proto { tcp, udp } th dport 53 accept comment "DNS for the local domains the user named"`,
      `meta mark 0x${UMBRA_FWMARK.toString(16).padStart(8, '0')} ip6 daddr 2001:db8:1::53 meta l4proto { tcp, udp } th dport 53 accept comment "DNS for the local domains the user named"`,
    ]);
    // Before the DNS reject, or it would never match.
    expect(out.indexOf(lanOut[1]!)).toBeLessThan(out.findIndex((r) => r.includes('"any other DNS"')));
    expect(c.input!.filter((r) => r.includes('answers for the local domains'))).toEqual([
      'ip saddr 198.51.100.53 meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers for the local domains"',
      'ip6 saddr 2001:db8:1::53 meta l4proto { tcp, udp } th sport 53 ct state established accept comment "answers for the local domains"',
    ]);
    // Exactly those four lines more than without it (the marker's hash aside).
    const plain = without(buildRuleset(CONNECTED));
    const withLan = without(buildRuleset(SPECS.lanDns!));
    expect(withLan.filter((l) => !plain.includes(l)).map((l) => l.trim())).toEqual([...lanOut, ...c.input!.filter((r) => r.includes('answers for the local domains'))]);
    expect(withLan.length).toBe(plain.length + 4);
    expect(buildRuleset({ ...GUARD, lanDnsServers: ['198.51.100.53'] })).toBe(buildRuleset(GUARD));
  });

  it('absent or empty: the text and hash are those of a spec without the field', () => {
    for (const spec of [CONNECTED, GUARD, SPECS.hostname!]) {
      expect(buildRuleset({ ...spec, lanDnsServers: [] })).toBe(buildRuleset(spec));
      expect(specHash({ ...spec, lanDnsServers: [] })).toBe(specHash(spec));
    }
    expect(specHash(SPECS.lanDns!)).not.toBe(specHash(CONNECTED));
    expect(() => normalizeSpec({ ...CONNECTED, lanDnsServers: ['0.0.0.0'] })).toThrow(/lanDnsServers entry .* unspecified/);
    expect(() => normalizeSpec({ ...CONNECTED, lanDnsServers: ['corp.example'] })).toThrow(RangeError);
  });
});

describe('the marker and the spec hash', () => {
  it('says the policy and carries the hash of the normalised spec', () => {
    const text = buildRuleset(CONNECTED);
    expect(text).toContain(`\tcomment "umbra firewall v2 block=1 spec=${specHash(CONNECTED)}"`);
    expect(markerComment(CONNECTED)).toBe(`umbra firewall v2 block=1 spec=${specHash(CONNECTED)}`);
    expect(parseMarker(text)).toEqual({ hash: specHash(CONNECTED), block: true });
    expect(parseMarker(buildRuleset(GUARD))).toEqual({ hash: specHash(GUARD), block: false });
    expect(markerComment(GUARD)).toMatch(/^umbra firewall v2 block=0 spec=[0-9a-f]{32}$/);
    // The v1 marker of boot files written by earlier versions: always a block.
    expect(parseMarker(`table inet umbra {\n\tcomment "umbra kill switch v1 spec=${'ab'.repeat(16)}"\n}`)).toEqual({ hash: 'ab'.repeat(16), block: true });
    expect(parseMarker('table inet umbra {\n\tcomment "something else"\n}')).toBeUndefined();
    expect(parseMarker('table inet umbra {\n\tcomment "umbra firewall v2 block=2 spec=0123"\n}')).toBeUndefined();
  });

  it('same meaning, same hash; a different meaning, a different hash', () => {
    const shuffled: FirewallSpec = {
      ...SPECS.switching!,
      tunnelAddresses: ['100.64.0.3', '::ffff:100.64.0.2', '100.64.0.2'],
      endpoints: [...SPECS.switching!.endpoints].reverse().concat([{ address: '2001:DB8:0::7', port: 51820 }]),
      dnsServers: ['2001:db8:64:0::53', '100.64.0.54', '100.64.0.53', '100.64.0.53'],
      lookupResolvers: ['198.51.100.3', '198.51.100.1', '198.51.100.3'],
    };
    expect(specHash(shuffled)).toBe(specHash(SPECS.switching!));
    expect(buildRuleset(shuffled)).toBe(buildRuleset(SPECS.switching!));
    const hashes = new Set(Object.values(SPECS).map(specHash));
    expect(hashes.size).toBe(Object.keys(SPECS).length);
    expect(specHash({ ...CONNECTED, fwmark: 0x1234 })).not.toBe(specHash(CONNECTED));
    expect(specHash({ ...CONNECTED, tunnelAddresses: ['100.64.0.2'] })).not.toBe(specHash(CONNECTED));
    expect(specHash({ ...SPECS.hostname!, lookupResolvers: [] })).not.toBe(specHash(SPECS.hostname!));
    expect(specHash({ ...CONNECTED, allowLan: true })).not.toBe(specHash(CONNECTED));
  });

  it('turns IPv4-mapped IPv6 into IPv4', () => {
    const n = normalizeSpec({ ...CONNECTED, endpoints: [{ address: '::ffff:203.0.113.9', port: 1 }], tunnelAddresses: ['::ffff:100.64.0.9'] });
    expect(n.endpoints).toEqual([{ family: 4, address: '203.0.113.9', port: 1 }]);
    expect(n.tunnelAddresses).toEqual([{ family: 4, address: '100.64.0.9' }]);
  });
});

describe('validation', () => {
  it('refuses specs that could inject text or defeat the policy, naming the field', () => {
    const bad: [Partial<Record<keyof FirewallSpec, unknown>>, RegExp, typeof TypeError | typeof RangeError][] = [
      [{ block: 'yes' }, /block must be true or false/, TypeError],
      [{ block: undefined }, /block must be true or false/, TypeError],
      [{ tunnelsIpv6: 1 }, /tunnelsIpv6 must be true or false/, TypeError],
      [{ allowLan: 'false' }, /allowLan must be true or false/, TypeError],
      [{ tunnelInterface: 'umbra0" accept; "' }, /tunnelInterface .* not a valid interface name/, RangeError],
      [{ tunnelInterface: 'lo' }, /not a valid interface name/, RangeError],
      [{ tunnelInterface: 'a-very-long-interface' }, /not a valid interface name/, RangeError],
      [{ fwmark: 0 }, /fwmark must be an integer from 1/, RangeError],
      [{ fwmark: 2 ** 32 }, /fwmark/, RangeError],
      [{ endpoints: [{ address: '203.0.113.2 accept', port: 1 }] }, /endpoint address .* not an IPv4 or IPv6 address/, RangeError],
      [{ endpoints: [{ address: 'vpn.example.com', port: 1 }] }, /not an IPv4 or IPv6 address/, RangeError],
      [{ endpoints: [{ address: '0.0.0.0', port: 1 }] }, /unspecified/, RangeError],
      [{ endpoints: [{ address: '203.0.113.2', port: 0 }] }, /port/, RangeError],
      [{ endpoints: [{ address: 'fe80::1%eth0', port: 1 }] }, /not an IPv4 or IPv6 address/, RangeError],
      [{ dnsServers: ['1.1.1.1; flush ruleset'] }, /DNS server .* not an IPv4 or IPv6 address/, RangeError],
      [{ tunnelAddresses: ['100.64.0.2/32'] }, /tunnelAddresses entry .* not an IPv4 or IPv6 address/, RangeError],
      [{ tunnelAddresses: ['::'] }, /tunnelAddresses entry .* unspecified/, RangeError],
      [{ tunnelAddresses: [42] }, /tunnelAddresses entry must be a string/, TypeError],
      [{ tunnelAddresses: '100.64.0.2' }, /tunnelAddresses must be an array/, TypeError],
      [{ lookupResolvers: ['resolver.example'] }, /lookupResolvers entry .* not an IPv4 or IPv6 address/, RangeError],
      [{ lookupResolvers: ['0.0.0.0'] }, /lookupResolvers entry .* unspecified/, RangeError],
      [{ lookupResolvers: undefined }, /lookupResolvers must be an array/, TypeError],
    ];
    for (const [over, message, kind] of bad) {
      const spec = { ...CONNECTED, ...over } as FirewallSpec;
      expect(() => buildRuleset(spec), JSON.stringify(over)).toThrow(message);
      expect(() => buildRuleset(spec), JSON.stringify(over)).toThrow(kind);
      // Validated in guard mode too, although guard ignores some of these fields.
      if (!('block' in over)) expect(() => buildRuleset({ ...spec, block: false }), JSON.stringify(over)).toThrow(message);
    }
  });
});

// ------------------------------------------------------------------------------------------------

const ns = `ukfc-${process.pid}`;
const canRunNft = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0 && spawnSync('ip', ['-V']).status === 0;

function nftIn(args: string[], input?: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { input, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(!canRunNft)(`nft accepts every generated ruleset (check mode, in namespace ${ns})`, () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it.each(Object.keys(SPECS))('%s', (name) => {
    const r = nftIn(['-c', '-f', '-'], buildRuleset(SPECS[name]!));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every combination of settings (one batch: each ruleset replaces the one before)', () => {
    const r = nftIn(['-c', '-f', '-'], allCombinations().map((s) => buildRuleset(s)).join(''));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the removal script, with and without the tables', () => {
    expect(nftIn(['-c', '-f', '-'], removalScript()).status).toBe(0);
    expect(nftIn(['-c', '-f', '-'], buildRuleset(CONNECTED) + removalScript()).status).toBe(0);
    // Check mode changed nothing: still no tables at all in this namespace.
    expect(nftIn(['list', 'ruleset']).stdout.trim()).toBe('');
  });

  it('rejects a broken ruleset (so the checks above mean something)', () => {
    const broken = buildRuleset(CONNECTED).replace('policy drop;', 'policy maybe;');
    expect(nftIn(['-c', '-f', '-'], broken).status).not.toBe(0);
    const brokenArp = buildRuleset(GUARD).replace('arp daddr ip 100.64.0.2', 'arp daddr ip 2001:db8::1');
    expect(nftIn(['-c', '-f', '-'], brokenArp).status).not.toBe(0);
  });
});
