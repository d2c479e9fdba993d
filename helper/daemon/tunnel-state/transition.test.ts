// The state machine, exhaustively: every state × every event, for every kill switch / allow LAN
// combination, against the rules that keep each state from leaking; then the cases of issue 10
// as the state machine decides them; then long seeded random walks checked step by step.
import { describe, expect, it } from 'vitest';
import { parseWgQuick } from '../../config/wg-quick.js';
import type { FirewallSpec } from '../../platform/firewall/ruleset.js';
import { BACKOFF_MS, CONNECT_TIMEOUT_MS } from './common.js';
import { isWanting, policyOf, transition, type StepContext } from './transition.js';
import type { Context, Event, State, Step, Target } from './types.js';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

function target(id: string, endpoint: string, allowedIPs = '0.0.0.0/0'): Target {
  const config = parseWgQuick(`[Interface]\nPrivateKey = ${KEY}\nAddress = 100.64.1.2/32\nDNS = 100.64.0.53\n[Peer]\nPublicKey = ${PUB}\nEndpoint = ${endpoint}\nAllowedIPs = ${allowedIPs}\n`);
  return { server: { id, name: id, endpoint, publicKey: PUB, source: 'import' }, config };
}

const IP = target('ip', '203.0.113.2:51820');
const HOST = target('host', 'vpn.example.test:51820');
const DUAL = target('dual', '203.0.113.3:51820', '0.0.0.0/0, ::/0');
const EP = { address: '203.0.113.2', port: 51820 };
const TOKEN = 7;
const ERR = { code: 'NO_HANDSHAKE', message: 'no answer' };

const SETTINGS = [
  { killSwitch: true, allowLan: false },
  { killSwitch: true, allowLan: true },
  { killSwitch: false, allowLan: false },
  { killSwitch: false, allowLan: true },
];

const ctxOf = (s: { killSwitch: boolean; allowLan: boolean }, token = 100): StepContext => ({ ...s, fwmark: 0x756d, lookupResolvers: ['203.0.113.251'], now: 1_000, token });

/** One state of each name (and the variants that matter: with and without a tunnel, a hold). */
const STATES: State[] = [
  { name: 'disconnected' },
  { name: 'disconnected', hold: 'boot' },
  { name: 'disconnected', hold: 'unreadable-state' },
  { name: 'connecting', target: HOST, token: TOKEN, attempt: 0 },
  { name: 'connecting', target: IP, token: TOKEN, attempt: 0, endpoint: EP },
  { name: 'connecting', target: IP, token: TOKEN, attempt: 1, endpoint: EP, tunnel: 'umbra0' },
  { name: 'connected', target: IP, token: TOKEN, attempt: 0, endpoint: EP, tunnel: 'umbra0', since: 5 },
  { name: 'reconnecting', target: IP, token: TOKEN, attempt: 1, endpoint: EP, tunnel: 'umbra0', error: ERR },
  { name: 'error', target: HOST, token: TOKEN, attempt: 1, error: ERR },
  { name: 'error', target: IP, token: TOKEN, attempt: 2, endpoint: EP, tunnel: 'umbra0', error: ERR },
  { name: 'disconnecting', target: IP, keep: undefined },
];

/** One event of each type, with the state's token (current) or an older one (stale). */
function events(token: number): Event[] {
  return [
    { type: 'connect', target: DUAL },
    { type: 'disconnect' },
    { type: 'start', hold: 'boot' },
    { type: 'start' },
    { type: 'tornDown' },
    { type: 'resolved', token, endpoint: { address: '203.0.113.9', port: 51820 } },
    { type: 'unresolvable', token, message: 'no resolver answered' },
    { type: 'tunnelUp', token, interfaceName: 'umbra1' },
    { type: 'tunnelFailed', token, message: 'TUN gone', started: true },
    { type: 'tunnelFailed', token, message: 'no TUN', started: false },
    { type: 'firewallFailed', message: 'nft refused' },
    { type: 'handshake', token },
    { type: 'handshakeLost', token },
    { type: 'giveUp', token },
    { type: 'timeout', token },
    { type: 'retry', token },
    { type: 'policyChanged' },
  ];
}

const tunnelOf = (s: State) => ('tunnel' in s ? s.tunnel : undefined);

/** The contract each step must keep (DESIGN.md, "Firewall policy per state"). */
function checkStep(from: State, e: Event, step: Step, ctx: Context) {
  const why = `${from.name} + ${e.type}`;
  const first = step.effects[0];
  expect(first?.type, `${why}: the firewall comes first`).toBe('firewall');
  const spec = (first as { spec: FirewallSpec | undefined }).spec;
  expect(spec, `${why}: the firewall is the new state's`).toEqual(policyOf(step.state, ctx));
  expect(step.effects.filter((x) => x.type === 'firewall'), `${why}: one firewall per step`).toHaveLength(1);
  const s = step.state;
  if (isWanting(s) && ctx.killSwitch) {
    expect(spec?.block, `${why}: the kill switch blocks in ${s.name}`).toBe(true);
    expect(spec!.allowLan).toBe(ctx.allowLan);
    if (s.endpoint) expect(spec!.endpoints).toEqual([s.endpoint]);
    else expect(spec!.endpoints).toEqual([]);
  }
  if (isWanting(s) && !ctx.killSwitch) {
    if (s.tunnel) expect(spec, `${why}: the guard while the tunnel exists`).toMatchObject({ block: false, tunnelInterface: s.tunnel, tunnelAddresses: ['100.64.1.2'] });
    else expect(spec, `${why}: nothing blocked without the kill switch and a tunnel`).toBeUndefined();
  }
  if (s.name === 'disconnected') {
    if (s.hold) expect(spec?.block, `${why}: a hold blocks`).toBe(true);
    else expect(spec, `${why}: disconnected has no table`).toBeUndefined();
  }
  if (spec && isWanting(s)) expect(spec.tunnelsIpv6).toBe(s.target === DUAL);
  // Nothing can send before the firewall; a tunnel is only started for an endpoint the block names.
  for (const x of step.effects) {
    if (x.type === 'startTunnel') expect(isWanting(s) && s.endpoint).toEqual(x.endpoint);
  }
}

describe('transition: every state × every event × every setting', () => {
  for (const settings of SETTINGS) {
    for (const s of STATES) {
      it(`${s.name}${'hold' in s && s.hold ? ` (${s.hold})` : ''}${tunnelOf(s) ? ' with a tunnel' : ''}, ${JSON.stringify(settings)}`, () => {
        const ctx = ctxOf(settings);
        for (const e of events(TOKEN)) {
          const step = transition(s, e, ctx);
          if (step) checkStep(s, e, step, ctx);
        }
        // Results of an attempt that is not the state's change nothing.
        for (const e of events(TOKEN - 1)) if ('token' in e) expect(transition(s, e, ctx), `${s.name} + stale ${e.type}`).toBeUndefined();
      });
    }
  }
});

describe('transition: the cases of issue 10', () => {
  const on = ctxOf({ killSwitch: true, allowLan: false });
  const off = ctxOf({ killSwitch: false, allowLan: false });
  const run = (s: State, e: Event, ctx = on) => {
    const step = transition(s, e, ctx);
    if (!step) throw new Error(`${s.name} ignores ${e.type}`);
    return step;
  };

  it('1. a connect to a hostname blocks before it looks the name up; the block lets the lookup out', () => {
    const step = run({ name: 'disconnected' }, { type: 'connect', target: HOST });
    expect(step.effects.map((x) => x.type)).toEqual(['firewall', 'cancelTimers', 'resolve']);
    expect(step.effects[0]).toMatchObject({ spec: { block: true, endpoints: [], lookupResolvers: ['203.0.113.251'] } });
  });

  it('1. a name that cannot be resolved: error ENDPOINT_UNRESOLVABLE, block held, a retry later', () => {
    const connecting = run({ name: 'disconnected' }, { type: 'connect', target: HOST }).state;
    const step = run(connecting, { type: 'unresolvable', token: 100, message: 'vpn.example.test: NXDOMAIN.' });
    expect(step.state).toMatchObject({ name: 'error', error: { code: 'ENDPOINT_UNRESOLVABLE' } });
    expect(step.effects[0]).toMatchObject({ spec: { block: true } });
    expect(step.effects).toContainEqual({ type: 'timer', name: 'retry', token: 100, ms: BACKOFF_MS[0] });
    // The retry looks again, under the block.
    const again = run(step.state, { type: 'retry', token: 100 });
    expect(again.effects.map((x) => x.type)).toEqual(['firewall', 'resolve']);
    expect(again.effects[0]).toMatchObject({ spec: { block: true } });
  });

  it('4. connected without the kill switch holds the guard; an IPv4-only config refuses IPv6 outside', () => {
    const s: State = { name: 'connecting', target: IP, token: 100, attempt: 0, endpoint: EP, tunnel: 'umbra0' };
    const step = run(s, { type: 'handshake', token: 100 }, off);
    expect(step.state.name).toBe('connected');
    expect(step.effects[0]).toMatchObject({ spec: { block: false, tunnelsIpv6: false, tunnelAddresses: ['100.64.1.2'] } });
  });

  it('handshake lost while connected: reconnecting, tunnel up, the same firewall', () => {
    const s = STATES.find((x) => x.name === 'connected')!;
    for (const ctx of [on, off]) {
      const step = run(s, { type: 'handshakeLost', token: TOKEN }, ctx);
      expect(step.state).toMatchObject({ name: 'reconnecting', tunnel: 'umbra0' });
      expect(step.effects[0]).toEqual({ type: 'firewall', spec: policyOf(s, ctx) });
      expect(step.effects).toContainEqual({ type: 'rehandshake' });
    }
  });

  it('a server switch keeps the block throughout: the new endpoint is allowed before the old tunnel goes', () => {
    const s = STATES.find((x) => x.name === 'connected')!;
    const step = run(s, { type: 'connect', target: DUAL });
    expect(step.effects.map((x) => x.type)).toEqual(['firewall', 'cancelTimers', 'stopTunnel', 'startTunnel']);
    expect(step.effects[0]).toMatchObject({ spec: { block: true, endpoints: [{ address: '203.0.113.3', port: 51820 }] } });
  });

  it('5, 6. a hold blocks while disconnected until the user connects or disconnects', () => {
    for (const hold of ['boot', 'unreadable-state'] as const) {
      const held = run({ name: 'disconnected' }, { type: 'start', hold });
      expect(held.state).toEqual({ name: 'disconnected', hold });
      expect(held.effects[0]).toMatchObject({ spec: { block: true, endpoints: [] } });
      // Settings changes keep it.
      expect(run(held.state, { type: 'policyChanged' }).effects[0]).toMatchObject({ spec: { block: true } });
      expect(run(held.state, { type: 'disconnect' }).effects).toEqual([{ type: 'firewall', spec: undefined }]);
      expect(run(held.state, { type: 'connect', target: IP }).effects[0]).toMatchObject({ spec: { block: true, endpoints: [EP] } });
    }
    // With state unreadable, allow LAN is not known: the narrower block.
    const lan = ctxOf({ killSwitch: true, allowLan: true });
    expect(run({ name: 'disconnected' }, { type: 'start', hold: 'unreadable-state' }, lan).effects[0]).toMatchObject({ spec: { allowLan: false } });
    expect(run({ name: 'disconnected' }, { type: 'start', hold: 'boot' }, lan).effects[0]).toMatchObject({ spec: { allowLan: true } });
  });

  it("the user's disconnect: the tunnel goes under the state's firewall, the firewall is lifted after", () => {
    const s = STATES.find((x) => x.name === 'connected')!;
    const step = run(s, { type: 'disconnect' });
    expect(step.effects).toEqual([{ type: 'firewall', spec: policyOf(s, on) }, { type: 'cancelTimers' }, { type: 'stopTunnel' }, { type: 'then', event: { type: 'tornDown' } }]);
    expect(run(step.state, { type: 'tornDown' }).effects).toEqual([{ type: 'firewall', spec: undefined }]);
  });

  it('a firewall that could not be set: error FIREWALL_FAILED, a retry later, no loop', () => {
    const connecting = run({ name: 'disconnected' }, { type: 'connect', target: IP }).state;
    const step = run(connecting, { type: 'firewallFailed', message: 'nft: permission denied' });
    expect(step.state).toMatchObject({ name: 'error', error: { code: 'FIREWALL_FAILED' } });
    expect(step.effects.some((x) => x.type === 'then' || x.type === 'startTunnel' || x.type === 'resolve')).toBe(false);
    expect(step.effects.some((x) => x.type === 'timer' && x.name === 'retry')).toBe(true);
  });

  it('no handshake in time: error, then retries back off', () => {
    let s: State = { name: 'connecting', target: IP, token: 100, attempt: 0, endpoint: EP, tunnel: 'umbra0' };
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const failed = run(s, { type: 'timeout', token: 100 });
      const timer = failed.effects.find((x) => x.type === 'timer');
      delays.push((timer as { ms: number }).ms);
      const retried = run(failed.state, { type: 'retry', token: 100 });
      expect(retried.effects).toContainEqual({ type: 'timer', name: 'timeout', token: 100, ms: CONNECT_TIMEOUT_MS });
      s = retried.state;
    }
    expect(delays).toEqual([...BACKOFF_MS, BACKOFF_MS.at(-1)!, BACKOFF_MS.at(-1)!]);
  });
});

describe('transition: random walks keep the rules after every step', () => {
  /** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
  function prng(seed: number) {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: 2000 steps`, () => {
      const rand = prng(seed);
      let s: State = { name: 'disconnected' };
      let token = 1;
      for (let i = 0; i < 2000; i++) {
        const settings = SETTINGS[Math.floor(rand() * SETTINGS.length)]!;
        const ctx = ctxOf(settings, ++token);
        // Events carry the state's token most of the time, sometimes a stale one.
        const current = isWanting(s) ? s.token : 0;
        const pool = [...events(current), ...events(current - 1), { type: 'connect', target: rand() < 0.5 ? HOST : IP } as Event];
        const e = pool[Math.floor(rand() * pool.length)]!;
        const step = transition(s, e, ctx);
        if (!step) continue;
        checkStep(s, e, step, ctx);
        if (isWanting(step.state) && 'token' in e) expect(step.state.token).toBe(e.token);
        s = step.state;
      }
    });
  }
});
