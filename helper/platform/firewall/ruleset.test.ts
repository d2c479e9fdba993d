// The kill switch's ruleset text: which rules each spec produces, that no rule lets everything
// through, validation, the spec hash; and that nft accepts every generated ruleset in check mode
// (`nft -c -f`, which changes nothing), run inside a throwaway network namespace of its own
// (ukfc-<pid>) all the same. The nft part needs root and nft; it is skipped otherwise.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UMBRA_FWMARK } from '../routing/constants.js';
import {
  bootSpec,
  buildRuleset,
  markerComment,
  normalizeSpec,
  parseMarker,
  removalScript,
  specHash,
  type KillSwitchSpec,
} from './ruleset.js';

const CONNECTED: KillSwitchSpec = {
  tunnelInterface: 'umbra0',
  endpoints: [{ address: '203.0.113.2', port: 51820 }],
  fwmark: UMBRA_FWMARK,
  dnsServers: ['100.64.0.53'],
  lanPrefixes: [],
};

const SPECS: Record<string, KillSwitchSpec> = {
  connected: CONNECTED,
  connecting: { ...CONNECTED, tunnelInterface: undefined },
  boot: bootSpec({ fwmark: UMBRA_FWMARK }),
  bootLan: bootSpec({ fwmark: UMBRA_FWMARK, lanPrefixes: ['192.168.0.0/16', 'fe80::/10'], endpoints: [{ address: '2001:db8::2', port: 443 }] }),
  ipv6: {
    tunnelInterface: 'umbra1',
    endpoints: [{ address: '2001:db8:ff::2', port: 51820 }],
    fwmark: 0xffffffff,
    dnsServers: ['2001:db8:64::53', 'fd00::53'],
    lanPrefixes: ['fd00::/8', 'fe80::/10'],
  },
  switching: {
    tunnelInterface: 'umbra0',
    endpoints: [
      { address: '203.0.113.2', port: 51820 },
      { address: '198.51.100.7', port: 53 },
      { address: '2001:db8::7', port: 51820 },
    ],
    fwmark: UMBRA_FWMARK,
    dnsServers: ['100.64.0.53', '100.64.0.54', '2001:db8:64::53'],
    lanPrefixes: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '192.168.1.0/24', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '2001:db8:1::/64', '239.255.0.0/16'],
  },
  empty: { endpoints: [], fwmark: 1, dnsServers: [], lanPrefixes: [] },
};

/** The rule lines (inside chains) of a ruleset, per chain. */
function chains(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const open = /^chain (\w+) \{$/.exec(line);
    if (open) {
      current = open[1]!;
      out[current] = [];
    } else if (line === '}') current = undefined;
    else if (current && line && !line.startsWith('type ')) out[current]!.push(line);
  }
  return out;
}

/** An accept rule with no match before the verdict: it would let everything through. */
const acceptsEverything = (rule: string) => /^(counter )?accept( comment "[^"]*")?$/.test(rule);

describe('buildRuleset', () => {
  it('replaces table inet umbra in one transaction, and names no other table', () => {
    for (const spec of Object.values(SPECS)) {
      const text = buildRuleset(spec);
      const statements = text.split('\n').filter((l) => /^(add|delete|table|flush|destroy)\b/.test(l));
      expect(statements).toEqual(['add table inet umbra', 'delete table inet umbra', 'table inet umbra {']);
      expect(text).not.toMatch(/flush ruleset/);
      expect(text.match(/\btable\b/g)?.length).toBeGreaterThanOrEqual(3);
      expect(text.match(/\btable (?!inet umbra\b)\S+/g)).toBeNull();
    }
  });

  it('blocks by default in all three hooks, before the usual filter tables', () => {
    const text = buildRuleset(CONNECTED);
    for (const hook of ['input', 'output', 'forward']) {
      expect(text).toContain(`type filter hook ${hook} priority filter - 10; policy drop;`);
    }
    const c = chains(text);
    // Output ends with rejects (fail fast), not a silent drop.
    expect(c.output!.slice(-2)).toEqual(['meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited']);
  });

  it('no rule in any chain accepts everything', () => {
    for (const [name, spec] of Object.entries(SPECS)) {
      for (const [chain, rules] of Object.entries(chains(buildRuleset(spec)))) {
        for (const rule of rules) expect(acceptsEverything(rule), `${name}/${chain}: ${rule}`).toBe(false);
        // Every accept is qualified by an interface, an address, a port, a protocol or a mark.
        for (const rule of rules.filter((r) => /\baccept\b/.test(r))) {
          expect(rule, `${name}/${chain}`).toMatch(/\b(oif|iif|oifname|iifname|ip6? [sd]addr|udp|tcp|th|icmpv6|meta mark|meta l4proto|ct status|ct state)\b/);
        }
      }
    }
  });

  it('lets the encrypted UDP pass only with the mark, to and from the endpoint', () => {
    const c = chains(buildRuleset(SPECS.switching!));
    expect(c.output).toContain('meta mark 0x0000756d ip daddr 203.0.113.2 udp dport 51820 accept comment "encrypted UDP to the VPN server"');
    expect(c.output).toContain('meta mark 0x0000756d ip daddr 198.51.100.7 udp dport 53 accept comment "encrypted UDP to the VPN server"');
    expect(c.output).toContain('meta mark 0x0000756d ip6 daddr 2001:db8::7 udp dport 51820 accept comment "encrypted UDP to the VPN server"');
    expect(c.input).toContain('ip saddr 203.0.113.2 udp sport 51820 accept comment "encrypted UDP from the VPN server"');
    expect(c.input).toContain('ip6 saddr 2001:db8::7 udp sport 51820 accept comment "encrypted UDP from the VPN server"');
    // Endpoint rules come before the DNS reject, so an endpoint on port 53 works.
    const out = c.output!;
    expect(out.findIndex((r) => r.includes('198.51.100.7'))).toBeLessThan(out.findIndex((r) => r.startsWith('udp dport 53 reject')));
    // Nothing else to any endpoint without the mark.
    expect(out.filter((r) => r.includes('203.0.113.2')).every((r) => r.startsWith('meta mark 0x0000756d '))).toBe(true);
  });

  it('allows DNS only through the tunnel to its servers, and rejects every other port 53 before the LAN rules', () => {
    const c = chains(buildRuleset(SPECS.switching!));
    const out = c.output!;
    expect(out).toContain(`oifname "umbra0" ip daddr { 100.64.0.53, 100.64.0.54 } meta l4proto { tcp, udp } th dport 53 accept comment "DNS to the tunnel's servers"`);
    expect(out).toContain(`oifname "umbra0" ip6 daddr 2001:db8:64::53 meta l4proto { tcp, udp } th dport 53 accept comment "DNS to the tunnel's servers"`);
    const dnsReject = out.indexOf('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"');
    expect(dnsReject).toBeGreaterThan(0);
    expect(out.indexOf('tcp dport 53 reject with tcp reset comment "any other DNS"')).toBeGreaterThan(0);
    expect(dnsReject).toBeLessThan(out.indexOf('oifname "umbra0" accept comment "through the tunnel"'));
    expect(dnsReject).toBeLessThan(out.findIndex((r) => r.includes('allow LAN')));
    // The same in forward (containers).
    expect(c.forward!.indexOf('udp dport 53 reject with icmpx type admin-prohibited comment "any other DNS"')).toBeGreaterThanOrEqual(0);
    // Without a tunnel there is no DNS accept at all.
    expect(buildRuleset(SPECS.connecting!)).not.toMatch(/th dport 53 accept/);
  });

  it('passes the tunnel interface only when there is one', () => {
    const c = chains(buildRuleset(CONNECTED));
    expect(c.output).toContain('oifname "umbra0" accept comment "through the tunnel"');
    expect(c.input).toContain('iifname "umbra0" accept comment "through the tunnel"');
    expect(c.forward).toContain('oifname "umbra0" accept comment "into the tunnel"');
    expect(c.forward).toContain('iifname "umbra0" ct state { established, related } accept comment "replies from the tunnel"');
    expect(c.forward).toContain('iifname "umbra0" drop comment "nothing else from the tunnel to other interfaces"');
    for (const spec of [SPECS.connecting!, SPECS.boot!]) expect(buildRuleset(spec)).not.toMatch(/umbra0|oifname|iifname/);
  });

  it('keeps DHCPv4, DHCPv6 and neighbour discovery (link-local/multicast only, hop limit 255)', () => {
    for (const spec of [CONNECTED, SPECS.boot!]) {
      const c = chains(buildRuleset(spec));
      expect(c.output).toContain('meta nfproto ipv4 udp sport 68 udp dport 67 accept comment "DHCPv4"');
      expect(c.input).toContain('meta nfproto ipv4 udp sport 67 udp dport 68 accept comment "DHCPv4"');
      expect(c.output).toContain('ip6 saddr fe80::/10 ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept comment "DHCPv6"');
      expect(c.input).toContain('ip6 saddr fe80::/10 ip6 daddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6"');
      expect(c.output).toContain('ip6 daddr { fe80::/10, ff02::/16 } icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"');
      expect(c.input).toContain('ip6 saddr { ::, fe80::/10 } icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment "neighbour discovery"');
      // ICMPv6 is otherwise not accepted: no echo, no redirect.
      expect(buildRuleset(spec)).not.toMatch(/echo-request|nd-redirect/);
    }
  });

  it('adds the LAN prefixes (minimal, with local multicast/broadcast) only when given', () => {
    const c = chains(buildRuleset(SPECS.switching!));
    // 192.168.1.0/24 is inside 192.168.0.0/16; 239.255.0.0/16 inside the 239.0.0.0/8 extra.
    expect(c.output).toContain('ip daddr { 10.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/24, 239.0.0.0/8, 255.255.255.255 } accept comment "allow LAN"');
    expect(c.output).toContain('ip6 daddr { 2001:db8:1::/64, fc00::/7, fe80::/10, ff02::/16, ff05::/16 } accept comment "allow LAN"');
    expect(c.input).toContain('ip saddr { 10.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 239.255.0.0/16 } accept comment "allow LAN"');
    expect(c.forward).toContain('ip daddr { 10.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 239.255.0.0/16 } accept comment "allow LAN"');
    expect(c.forward).toContain('ip saddr { 10.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 239.255.0.0/16 } ct state { established, related } accept comment "allow LAN (replies)"');
    expect(buildRuleset(CONNECTED)).not.toMatch(/allow LAN|224\.0\.0|255\.255\.255\.255|ff05/);
  });

  it('has a boot variant that blocks everything but loopback, DHCP and ND (or the last endpoint)', () => {
    const c = chains(buildRuleset(SPECS.boot!));
    expect(c.output!.filter((r) => /accept/.test(r)).map((r) => /comment "([^"]+)"/.exec(r)?.[1] ?? r)).toEqual([
      'oif "lo" accept',
      'DHCPv4',
      'DHCPv6',
      'neighbour discovery',
      'multicast listener reports',
    ]);
    expect(c.forward!.filter((r) => /accept/.test(r))).toEqual([]);
    const withEndpoint = chains(buildRuleset(SPECS.bootLan!));
    expect(withEndpoint.output).toContain('meta mark 0x0000756d ip6 daddr 2001:db8::2 udp dport 443 accept comment "encrypted UDP to the VPN server"');
  });

  it('carries a marker with the hash of the normalised spec', () => {
    const text = buildRuleset(CONNECTED);
    expect(text).toContain(`\tcomment "${markerComment(CONNECTED)}"`);
    expect(parseMarker(text)).toBe(specHash(CONNECTED));
    expect(specHash(CONNECTED)).toMatch(/^[0-9a-f]{32}$/);
    // Same meaning, same hash: order, duplicates, covered prefixes, address spelling.
    const shuffled: KillSwitchSpec = {
      ...SPECS.switching!,
      endpoints: [...SPECS.switching!.endpoints].reverse().concat([{ address: '2001:DB8:0::7', port: 51820 }]),
      dnsServers: ['2001:db8:64:0::53', '100.64.0.54', '100.64.0.53', '100.64.0.53'],
      lanPrefixes: [...SPECS.switching!.lanPrefixes].reverse().concat(['192.168.7.0/24']),
    };
    expect(specHash(shuffled)).toBe(specHash(SPECS.switching!));
    expect(buildRuleset(shuffled)).toBe(buildRuleset(SPECS.switching!));
    // A different meaning, a different hash.
    const hashes = new Set(Object.values(SPECS).map(specHash));
    expect(hashes.size).toBe(Object.keys(SPECS).length);
    expect(specHash({ ...CONNECTED, fwmark: 0x1234 })).not.toBe(specHash(CONNECTED));
    expect(parseMarker('table inet umbra {\n\tcomment "something else"\n}')).toBeUndefined();
  });

  it('turns IPv4-mapped IPv6 endpoints into IPv4 and masks host bits of prefixes', () => {
    const n = normalizeSpec({ ...CONNECTED, endpoints: [{ address: '::ffff:203.0.113.9', port: 1 }], lanPrefixes: ['192.168.1.77/24'] });
    expect(n.endpoints).toEqual([{ family: 4, address: '203.0.113.9', port: 1 }]);
    expect(n.lanPrefixes).toEqual([{ family: 4, prefix: '192.168.1.0/24' }]);
  });

  it('refuses specs that could inject text or defeat the block', () => {
    const bad: [Partial<KillSwitchSpec>, RegExp][] = [
      [{ tunnelInterface: 'umbra0" accept; "' }, /not a valid interface name/],
      [{ tunnelInterface: 'lo' }, /not a valid interface name/],
      [{ tunnelInterface: 'a-very-long-interface' }, /not a valid interface name/],
      [{ fwmark: 0 }, /fwmark must be an integer from 1/],
      [{ fwmark: 2 ** 32 }, /fwmark/],
      [{ endpoints: [{ address: '203.0.113.2 accept', port: 1 }] }, /not an IPv4 or IPv6 address/],
      [{ endpoints: [{ address: 'vpn.example.com', port: 1 }] }, /not an IPv4 or IPv6 address/],
      [{ endpoints: [{ address: '0.0.0.0', port: 1 }] }, /unspecified/],
      [{ endpoints: [{ address: '203.0.113.2', port: 0 }] }, /port/],
      [{ endpoints: [{ address: 'fe80::1%eth0', port: 1 }] }, /not an IPv4 or IPv6 address/],
      [{ dnsServers: ['1.1.1.1; flush ruleset'] }, /not an IPv4 or IPv6 address/],
      [{ lanPrefixes: ['0.0.0.0/0'] }, /too wide/],
      [{ lanPrefixes: ['::/0'] }, /too wide/],
      [{ lanPrefixes: ['128.0.0.0/1'] }, /too wide/],
      [{ lanPrefixes: ['10.0.0.0/33'] }, /LAN prefix/],
      [{ lanPrefixes: 'fe80::/10' as unknown as string[] }, /must be an array/],
    ];
    for (const [over, message] of bad) expect(() => buildRuleset({ ...CONNECTED, ...over }), JSON.stringify(over)).toThrow(message);
  });

  it('has a removal script that deletes only our table, present or not', () => {
    expect(removalScript()).toBe('add table inet umbra\ndelete table inet umbra\n');
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

  it('the removal script, with and without the table', () => {
    expect(nftIn(['-c', '-f', '-'], removalScript()).status).toBe(0);
    // Check mode changed nothing: still no tables at all in this namespace.
    expect(nftIn(['list', 'ruleset']).stdout.trim()).toBe('');
  });

  it('rejects a broken ruleset (so the checks above mean something)', () => {
    const broken = buildRuleset(CONNECTED).replace('policy drop;', 'policy maybe;');
    expect(nftIn(['-c', '-f', '-'], broken).status).not.toBe(0);
  });
});
