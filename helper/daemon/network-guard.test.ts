// The network guard with a fake driver, identity source and link monitor: the order in which it
// blocks, connects, lifts and reconnects, and what it saves.
import { describe, expect, it } from 'vitest';
import type { NetworkRules } from '../ipc/schema.js';
import type { NetworkIdentity } from '../platform/network-identity/identity.js';
import { NetworkGuard } from './network-guard.js';
import type { Event, State, Target } from './tunnel-state/types.js';

const CAFE: NetworkIdentity = { key: 'fedcba9876543210', kind: 'gateway', name: 'eth1 via 203.0.113.225', device: 'eth1', source: 'gateway' };
const HOME: NetworkIdentity = { key: '0123456789abcdef', kind: 'gateway', name: 'eth0 via 198.51.100.1', device: 'eth0', source: 'gateway' };
const TARGET = { server: { id: 'lab-0' } } as unknown as Target;

function setup(o: { rules?: NetworkRules | undefined; network?: NetworkIdentity | undefined; user?: boolean; target?: boolean } = {}) {
  let rules: NetworkRules | undefined = 'rules' in o ? o.rules : { unseen: 'untrusted', known: [] };
  const w = { network: 'network' in o ? o.network : CAFE, user: o.user ?? false };
  let state: State = { name: 'disconnected' };
  const events: Event[] = [];
  const monitor: { appeared?: () => void; settled?: (n: boolean) => void; stopped: boolean } = { stopped: false };
  const driver = {
    get state() {
      return state;
    },
    get wantsConnection() {
      return state.name !== 'disconnected' && state.name !== 'disconnecting';
    },
    emit: () => undefined,
    dispatch: async (e: Event) => {
      events.push(e);
      if (e.type === 'start') state = e.hold ? { name: 'disconnected', hold: e.hold } : { name: 'disconnected' };
      if (e.type === 'connect') state = { name: 'connecting', target: e.target, token: 1, attempt: 0 };
      if (e.type === 'disconnect') state = { name: 'disconnected' };
    },
  };
  const guard = new NetworkGuard({
    rules: () => rules,
    saveRules: async (r) => void (rules = r),
    driver,
    userWants: () => w.user,
    target: () => (o.target === false ? undefined : TARGET),
    identify: async () => w.network,
    watch: (m) => {
      monitor.appeared = m.onAppeared;
      monitor.settled = m.onSettled;
      return { stop: () => void (monitor.stopped = true) };
    },
    log: () => undefined,
  });
  const names = () => events.map((e) => (e.type === 'start' ? `start${e.hold ? `(${e.hold})` : ''}` : e.type));
  return { guard, events, names, monitor, w, rules: () => rules, setRules: (r: NetworkRules | undefined) => void (rules = r), setState: (s: State) => void (state = s), state: () => state };
}

describe('NetworkGuard', () => {
  it('an unseen network (untrusted by default): blocked first, then connected with the kill switch forced; remembered', async () => {
    const t = setup();
    await t.guard.sync();
    expect(t.names()).toEqual(['start(untrusted-network)', 'connect']);
    expect(t.guard.forced).toBe(true);
    expect(t.rules()?.known).toEqual([{ key: CAFE.key, name: CAFE.name, kind: 'gateway', rule: 'untrusted' }]);
    expect(t.guard.decorate({} as never)).toMatchObject({ network: { key: CAFE.key, rule: 'untrusted' } });
  });

  it('before anything is known the kill switch is forced where the rules could make the network untrusted', () => {
    expect(setup().guard.forced).toBe(true);
    expect(setup({ rules: { unseen: 'ask', known: [] } }).guard.forced).toBe(false);
    expect(setup({ rules: undefined }).guard.forced).toBe(false);
  });

  it('a trusted network: the block it put up while identifying goes again, nothing connects', async () => {
    const t = setup({ rules: { unseen: 'untrusted', known: [{ key: HOME.key, name: 'Home', kind: 'gateway', rule: 'trusted' }] }, network: HOME });
    await t.guard.sync();
    expect(t.names()).toEqual(['start(untrusted-network)', 'start']);
    expect(t.guard.forced).toBe(false);
    expect(t.state()).toEqual({ name: 'disconnected' });
  });

  it('another hold (boot) is never taken over or lifted', async () => {
    const t = setup({ rules: { unseen: 'trusted', known: [] }, network: HOME });
    t.setState({ name: 'disconnected', hold: 'boot' });
    t.monitor.appeared?.();
    await t.guard.sync();
    expect(t.names()).toEqual([]);
    expect(t.state()).toEqual({ name: 'disconnected', hold: 'boot' });
  });

  it('untrusted with no server to connect to: the block holds', async () => {
    const t = setup({ target: false });
    await t.guard.sync();
    expect(t.names()).toEqual(['start(untrusted-network)']);
    expect(t.state()).toEqual({ name: 'disconnected', hold: 'untrusted-network' });
  });

  it("the user's connection moving to a trusted network: blocked during the change, then reconnected on the new path without the force", async () => {
    const t = setup({ rules: { unseen: 'trusted', known: [] }, network: HOME, user: true });
    t.setState({ name: 'connecting', target: TARGET, token: 1, attempt: 0 });
    await t.guard.sync(); // at start: wanted, so the block is forced until identified
    t.events.length = 0;
    t.w.network = CAFE;
    t.monitor.appeared?.();
    await Promise.resolve();
    expect(t.guard.forced).toBe(true);
    expect(t.names()).toEqual(['policyChanged']);
    t.monitor.settled?.(false);
    await t.guard.sync();
    expect(t.names()).toEqual(['policyChanged', 'policyChanged', 'pathChanged']);
    expect(t.guard.forced).toBe(false);
  });

  it("the rules' connection moving to a trusted network is taken down; setNetwork changes the rule of the current one", async () => {
    const t = setup();
    await t.guard.sync();
    expect(t.state().name).toBe('connecting');
    const rules = await t.guard.setNetwork({ key: 'current', rule: 'trusted', name: 'Café' });
    expect(rules.known).toEqual([{ key: CAFE.key, name: 'Café', kind: 'gateway', rule: 'trusted' }]);
    expect(t.names().slice(-2)).toEqual(['policyChanged', 'disconnect']);
    expect(t.guard.forced).toBe(false);
    await expect(t.guard.setNetwork({ key: '1111111111111111', rule: 'trusted' })).rejects.toThrow(/umbra networks lists them/);
  });

  it('forgets a network (the one the machine is on is then seen anew), and says how to make room at the limit', async () => {
    const home = { key: HOME.key, name: 'Home', kind: 'gateway' as const, rule: 'trusted' as const };
    const t = setup({ rules: { unseen: 'untrusted', known: [home, { key: CAFE.key, name: 'Café', kind: 'gateway', rule: 'trusted' }] } });
    await t.guard.sync();
    expect((await t.guard.setNetwork({ key: HOME.key, forget: true })).known.map((n) => n.key)).toEqual([CAFE.key]);
    // Forgetting the current network: identified again at once, with the rule for unseen networks.
    await t.guard.setNetwork({ key: 'current', forget: true });
    expect(t.rules()?.known).toEqual([{ key: CAFE.key, name: CAFE.name, kind: 'gateway', rule: 'untrusted' }]);
    expect(t.state().name).toBe('connecting');
    const full = Array.from({ length: 256 }, (_, i) => ({ ...home, key: i.toString(16).padStart(16, '0') }));
    t.setRules({ unseen: 'untrusted', known: full });
    await expect(t.guard.setNetwork({ key: 'current', rule: 'ask' })).rejects.toThrow(/forget one first \(umbra networks forget KEY\)/);
    expect(t.rules()?.known).toBe(full);
  });

  it('rules turned off: the monitor stops and its block goes; never on: no monitor at all', async () => {
    const t = setup({ target: false });
    await t.guard.sync();
    expect(t.state()).toEqual({ name: 'disconnected', hold: 'untrusted-network' });
    t.setRules(undefined);
    await t.guard.sync();
    expect(t.monitor.stopped).toBe(true);
    expect(t.state()).toEqual({ name: 'disconnected' });
    expect(t.guard.forced).toBe(false);
    expect(t.guard.decorate({} as never)).toEqual({});
    const off = setup({ rules: undefined });
    await off.guard.sync();
    expect(off.monitor.appeared).toBeUndefined();
    expect(off.names()).toEqual([]);
  });
});
