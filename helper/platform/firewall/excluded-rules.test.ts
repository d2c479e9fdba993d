// The split-tunnelling rules (spec.excluded) in the ruleset text, in both policies: where they sit
// (ahead of every reject), the DNAT per family, validation and the hash; then that nft takes them
// (check mode, in a namespace of its own) with a real cgroup, which `socket cgroupv2` needs to exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExcludedCgroup, type ExcludedCgroup } from '../cgroup/excluded-cgroup.js';
import { EXCLUDED_FWMARK } from '../routing/constants.js';
import { CONNECTED, GUARD } from './testdata/specs.js';
import { excludedSkipReason, nftInNet } from './testdata/excluded-support.js';
import { buildRuleset, normalizeSpec, specHash, type FirewallSpec } from './ruleset.js';
import type { ExcludedSpec } from './spec.js';
import { spawnSync } from 'node:child_process';

const EXCLUDED: ExcludedSpec = { cgroupPath: 'unified/umbra-excluded', cgroupLevel: 1, mark: EXCLUDED_FWMARK, resolvers: ['198.51.100.1', '2001:db8:1::1', '198.51.100.9'] };
const MARK = `0x${EXCLUDED_FWMARK.toString(16).padStart(8, '0')}`;
const withExcluded = (spec: FirewallSpec, ex: Partial<ExcludedSpec> = {}): FirewallSpec => ({ ...spec, excluded: { ...EXCLUDED, ...ex } });

/** The lines of one chain of the inet table. */
function chain(text: string, name: string): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.indexOf(`chain ${name} {`);
  if (start < 0) return [];
  return lines.slice(start + 1, lines.indexOf('}', start));
}
const firstIndex = (rules: string[], re: RegExp) => rules.findIndex((r) => re.test(r));

const SPECS: Record<string, FirewallSpec> = {
  connected: withExcluded(CONNECTED),
  connecting: withExcluded({ ...CONNECTED, tunnelInterface: undefined, tunnelAddresses: [] }),
  guard: withExcluded(GUARD),
  guardV4Only: withExcluded({ ...GUARD, tunnelsIpv6: false }),
  noResolvers: withExcluded(CONNECTED, { resolvers: [] }),
  v6Resolver: withExcluded(CONNECTED, { resolvers: ['2001:db8:1::1'] }),
};

describe('buildRuleset with excluded', () => {
  it('marks sockets of the cgroup and their connections in a route chain, in both policies', () => {
    for (const [name, spec] of Object.entries(SPECS)) {
      const text = buildRuleset(spec);
      expect(text, name).toContain('type route hook output priority mangle; policy accept;');
      expect(chain(text, 'excluded_mark'), name).toEqual([
        'type route hook output priority mangle; policy accept;',
        `socket cgroupv2 level 1 "unified/umbra-excluded" meta mark set ${MARK} ct mark set ${MARK} comment "excluded from the VPN (split tunnelling)"`,
      ]);
      expect(chain(text, 'excluded_restore')[1], name).toBe(`ct mark ${MARK} meta mark set ct mark comment "excluded from the VPN (split tunnelling)"`);
    }
  });

  it('accepts excluded traffic before every reject of the block, the DNS reject included', () => {
    for (const name of ['connected', 'connecting']) {
      const text = buildRuleset(SPECS[name]!);
      const out = chain(text, 'output');
      // By mark AND cgroup: a socket of another cgroup that set the mark itself is not let out.
      const accept = firstIndex(out, new RegExp(`^meta mark ${MARK} socket cgroupv2 level 1 "unified/umbra-excluded" accept`));
      expect(accept, name).toBeGreaterThan(0);
      expect(accept, name).toBeLessThan(firstIndex(out, /reject/));
      const input = chain(text, 'input');
      expect(input[2], name).toBe(`ct mark ${MARK} ct state { established, related } accept comment "excluded from the VPN (split tunnelling)"`);
    }
  });

  it('accepts excluded IPv6 in the guard of an IPv4-only tunnel, and adds no filter chain to the plain guard', () => {
    const v4 = buildRuleset(SPECS.guardV4Only!);
    expect(firstIndex(chain(v4, 'ipv6_output'), new RegExp(`^meta mark ${MARK} socket cgroupv2 .* accept`))).toBe(1);
    expect(firstIndex(chain(v4, 'ipv6_input'), new RegExp(`^ct mark ${MARK} `))).toBe(1);
    const guard = buildRuleset(SPECS.guard!);
    expect(chain(guard, 'output')).toEqual([]);
    expect(chain(guard, 'excluded_snat')).not.toEqual([]);
  });

  it('sends excluded DNS to the first system resolver of each family, and masquerades outside the tunnel', () => {
    const text = buildRuleset(SPECS.connected!);
    expect(chain(text, 'excluded_dnat')).toEqual([
      'type nat hook output priority -100; policy accept;',
      `meta mark ${MARK} meta nfproto ipv4 oif != "lo" meta l4proto { tcp, udp } th dport 53 dnat ip to 198.51.100.1 comment "excluded DNS to the system resolver"`,
      `meta mark ${MARK} meta nfproto ipv6 oif != "lo" meta l4proto { tcp, udp } th dport 53 dnat ip6 to 2001:db8:1::1 comment "excluded DNS to the system resolver"`,
    ]);
    expect(chain(text, 'excluded_snat')[1]).toBe(`meta mark ${MARK} oifname != { "lo", "umbra0" } masquerade comment "excluded from the VPN (split tunnelling)"`);
    expect(chain(buildRuleset(SPECS.connecting!), 'excluded_snat')[1]).toMatch(/^meta mark \S+ oifname != "lo" masquerade/);
    expect(chain(buildRuleset(SPECS.noResolvers!), 'excluded_dnat')).toEqual([]);
    expect(chain(buildRuleset(SPECS.v6Resolver!), 'excluded_dnat').filter((r) => r.includes('dnat '))).toHaveLength(1);
  });

  it('leaves the ruleset and the hash of a spec without excluded as they were', () => {
    expect(buildRuleset(CONNECTED)).not.toMatch(/excluded|cgroupv2|\bnat\b/);
    expect(specHash(CONNECTED)).not.toBe(specHash(SPECS.connected!));
    // The resolvers' order counts (the first of a family is used); duplicates do not.
    expect(specHash(withExcluded(CONNECTED, { resolvers: ['198.51.100.9', '198.51.100.1'] }))).not.toBe(specHash(withExcluded(CONNECTED, { resolvers: ['198.51.100.1', '198.51.100.9'] })));
    expect(specHash(withExcluded(CONNECTED, { resolvers: ['198.51.100.1', '198.51.100.1'] }))).toBe(specHash(withExcluded(CONNECTED, { resolvers: ['198.51.100.1'] })));
    expect(normalizeSpec(withExcluded(GUARD)).excluded?.resolvers.map((r) => r.address)).toEqual(['198.51.100.1', '2001:db8:1::1', '198.51.100.9']);
  });

  it('refuses what it cannot quote or would match wrongly', () => {
    const cases: [Partial<ExcludedSpec>, RegExp][] = [
      [{ cgroupPath: 'a" accept; "b' }, /cgroupPath/],
      [{ cgroupPath: '/sys/fs/cgroup/x' }, /cgroupPath/],
      [{ cgroupPath: '' }, /cgroupPath/],
      [{ cgroupLevel: 0 }, /cgroupLevel/],
      [{ mark: CONNECTED.fwmark }, /other than fwmark/],
      [{ mark: 0 }, /excluded mark/],
      [{ resolvers: ['0.0.0.0'] }, /unspecified/],
      [{ resolvers: ['nope'] }, /not an IPv4 or IPv6 address/],
    ];
    for (const [over, message] of cases) expect(() => buildRuleset(withExcluded(CONNECTED, over)), JSON.stringify(over)).toThrow(message);
    expect(() => buildRuleset(withExcluded(CONNECTED, { cgroupPath: '../../../run/umbra/cgroup2/umbra-excluded' }))).not.toThrow();
  });
});

const reason = excludedSkipReason();
const ns = `ukxc-${process.pid}`;

describe.skipIf(reason !== undefined)(`nft takes the excluded rules (check mode, in namespace ${ns})${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let cg: ExcludedCgroup;
  beforeAll(async () => {
    cg = await openExcludedCgroup({ name: `umbra-test-${process.pid}` });
    spawnSync('ip', ['netns', 'del', ns]);
    const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
  });
  afterAll(async () => {
    spawnSync('ip', ['netns', 'del', ns]);
    await cg?.destroy();
  });

  it.each(Object.keys(SPECS))('%s', (name) => {
    const spec = withExcluded(SPECS[name]!, { cgroupPath: cg.path, cgroupLevel: cg.level });
    const r = nftInNet(ns, ['-c', '-f', '-'], buildRuleset(spec));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('refuses a cgroup that does not exist (so the checks above mean something)', () => {
    const spec = withExcluded(CONNECTED, { cgroupPath: `${cg.path}-missing`, cgroupLevel: cg.level });
    const r = nftInNet(ns, ['-c', '-f', '-'], buildRuleset(spec));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cgroupv2 path fails/);
  });
});
