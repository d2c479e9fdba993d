// The trusted-networks rules, every rule × who wants the tunnel × whether there is a server ×
// whether the network moved: what the helper does, and that the block is never lifted where it
// could be needed.
import { describe, expect, it } from 'vitest';
import type { NetworkRule, NetworkRules } from '../ipc/schema.js';
import { mayBeUntrusted, networkStatus, onAppeared, onIdentified, ruleOf, withNetwork, withoutNetwork, type Action, type Wanted } from './trusted-networks.js';

const HOME = { key: '0123456789abcdef', kind: 'wifi' as const, name: 'Home' };
const CAFE = { key: 'fedcba9876543210', kind: 'gateway' as const, name: 'eth0 via 198.51.100.1 (02:00:00:00:00:01)' };
const RULES: readonly NetworkRule[] = ['trusted', 'untrusted', 'ask'];
const WANTED: readonly Wanted[] = ['idle', 'user', 'rules'];

const rulesWith = (rule: NetworkRule, unseen: NetworkRule = 'untrusted'): NetworkRules => ({ unseen, known: [{ ...HOME, rule }] });

/** What each rule does for a known network: [wanted][canConnect][moved] → action, force, ask. */
const EXPECTED: Record<NetworkRule, (w: Wanted, canConnect: boolean, moved: boolean) => { action: Action; force: boolean; ask: boolean }> = {
  // Idle and not moved: the user disconnected here; that stands until the network changes.
  untrusted: (w, canConnect, moved) => ({ action: !moved ? 'none' : w === 'idle' ? (canConnect ? 'connect' : 'hold') : 'reconnect', force: true, ask: false }),
  trusted: (w, _c, moved) => ({ action: w === 'rules' ? 'disconnect' : w === 'user' ? (moved ? 'reconnect' : 'none') : 'release', force: false, ask: false }),
  // The rules' connection stays (the safe side) until the user answers.
  ask: (w, _c, moved) => ({ action: w === 'idle' ? 'release' : moved ? 'reconnect' : 'none', force: w === 'rules', ask: true }),
};

describe('onIdentified: a known network', () => {
  for (const rule of RULES)
    for (const wanted of WANTED)
      for (const canConnect of [true, false])
        for (const moved of [true, false]) {
          it(`${rule}, wanted by ${wanted}, ${canConnect ? 'a server' : 'no server'}, ${moved ? 'moved' : 'same path'}`, () => {
            const d = onIdentified({ rules: rulesWith(rule), wanted, canConnect }, HOME, moved);
            expect({ action: d.action, force: d.force, ask: d.ask }).toEqual(EXPECTED[rule](wanted, canConnect, moved));
            expect(d.known).toBeUndefined();
          });
        }
});

describe('onIdentified: a network never seen', () => {
  for (const unseen of RULES) {
    it(`takes the rule for unseen networks (${unseen}) and is remembered with it`, () => {
      const d = onIdentified({ rules: { unseen, known: [] }, wanted: 'idle', canConnect: true }, CAFE, true);
      expect(d.known).toEqual([{ ...CAFE, rule: unseen }]);
      expect(d.action).toBe(EXPECTED[unseen]('idle', true, true).action);
    });
  }

  it('once 256 networks are known: the oldest with the default rule makes room; none does when all have their own', () => {
    const known = Array.from({ length: 256 }, (_, i) => ({ key: i.toString(16).padStart(16, '0'), name: `n${i}`, kind: 'gateway' as const, rule: 'trusted' as const }));
    const d = onIdentified({ rules: { unseen: 'untrusted', known }, wanted: 'idle', canConnect: true }, CAFE, true);
    expect(d).toMatchObject({ action: 'connect', force: true });
    expect(d.known).toBeUndefined();
    const some = known.map((n, i) => (i === 3 || i === 9 ? { ...n, rule: 'untrusted' as const } : n));
    const e = onIdentified({ rules: { unseen: 'untrusted', known: some }, wanted: 'idle', canConnect: true }, CAFE, true);
    expect(e.known).toHaveLength(256);
    expect(e.known?.map((n) => n.key)).not.toContain(known[3]!.key);
    expect(e.known?.map((n) => n.key)).toContain(known[9]!.key);
    expect(e.known?.at(-1)).toEqual({ ...CAFE, rule: 'untrusted' });
    // The user naming a new network at the limit: room the same way, or none.
    expect(withNetwork({ unseen: 'untrusted', known }, CAFE, { rule: 'trusted' })).toBeUndefined();
    expect(withNetwork({ unseen: 'untrusted', known: some }, CAFE, { rule: 'trusted' })?.known.at(-1)).toEqual({ ...CAFE, rule: 'trusted' });
  });
});

describe('onIdentified: no network (offline, or nothing to identify it by)', () => {
  it('keeps the block where a network could be untrusted, lifts nothing, connects nothing', () => {
    for (const wanted of WANTED) {
      const d = onIdentified({ rules: { unseen: 'untrusted', known: [] }, wanted, canConnect: true }, undefined, false);
      expect(d).toEqual({ action: wanted === 'idle' ? 'hold' : 'none', force: true, ask: false });
    }
    const trusting = onIdentified({ rules: { unseen: 'trusted', known: [{ ...HOME, rule: 'trusted' }] }, wanted: 'idle', canConnect: true }, undefined, false);
    expect(trusting).toEqual({ action: 'none', force: false, ask: false });
  });
});

describe('onAppeared: a network may have appeared, not identified yet', () => {
  it('blocks at once when any rule could make it untrusted, or while the tunnel is wanted', () => {
    for (const unseen of RULES)
      for (const known of RULES)
        for (const wanted of WANTED) {
          const d = onAppeared({ rules: rulesWith(known, unseen), wanted, canConnect: true });
          const block = unseen === 'untrusted' || known === 'untrusted' || wanted !== 'idle';
          expect(d, `${unseen}/${known}/${wanted}`).toEqual({ action: block && wanted === 'idle' ? 'hold' : 'none', force: block, ask: false });
        }
  });
});

describe('the rules as data', () => {
  it('ruleOf, mayBeUntrusted', () => {
    expect(ruleOf(rulesWith('trusted'), HOME.key)).toBe('trusted');
    expect(ruleOf(rulesWith('trusted', 'ask'), CAFE.key)).toBe('ask');
    expect(mayBeUntrusted({ unseen: 'ask', known: [] })).toBe(false);
    expect(mayBeUntrusted(rulesWith('untrusted', 'trusted'))).toBe(true);
  });

  it('status: the user\'s name and rule, else the default name and the rule for unseen networks', () => {
    expect(networkStatus(rulesWith('trusted'), { ...HOME, name: 'from the source' })).toEqual({ ...HOME, rule: 'trusted' });
    expect(networkStatus(rulesWith('trusted', 'ask'), CAFE)).toEqual({ ...CAFE, rule: 'ask' });
  });

  it('withNetwork changes one network, or adds it, and leaves the others', () => {
    const rules = rulesWith('untrusted');
    expect(withNetwork(rules, HOME, { rule: 'trusted' })?.known).toEqual([{ ...HOME, rule: 'trusted' }]);
    expect(withNetwork(rules, HOME, { name: 'Flat' })?.known).toEqual([{ ...HOME, name: 'Flat', rule: 'untrusted' }]);
    expect(withNetwork(rules, CAFE, { name: 'Café' })?.known).toEqual([{ ...HOME, rule: 'untrusted' }, { ...CAFE, name: 'Café', rule: 'untrusted' }]);
    expect(rules.known).toEqual([{ ...HOME, rule: 'untrusted' }]);
    expect(withoutNetwork(withNetwork(rules, CAFE, {})!, HOME.key).known).toEqual([{ ...CAFE, rule: 'untrusted' }]);
  });
});
