// Seeded random walks, checked after every step. Two kinds:
// - any event at any time (stale tokens, events no driver would send): the safety rules hold;
// - a model of the driver (what tunnel-driver.ts promises: effects run in order, results come
//   back as events with the token they started with, nothing that sends runs after a firewall the
//   kernel refused, which comes back as firewallFailed): the state always knows its tunnel and the
//   endpoint that tunnel talks to, and no state is left with nothing pending that would move it.
import { describe, expect, it } from 'vitest';
import type { FirewallSpec } from '../../platform/firewall/ruleset.js';
import { isWanting, transition } from './transition.js';
import type { Effect, Endpoint, Event, State, TimerName } from './types.js';
import {
  checkStep, ctxOf, DUAL, events, HOST, IP, NO_ENDPOINT, pick, prng, SETTINGS, STATES, TARGETS, TOKEN, type Settings,
} from './testing/fixtures.js';

const STEPS = 2000;
const SEEDS = [1, 2, 3];

describe('random walk: any event, any time', () => {
  for (const { label, state } of STATES) {
    for (const seed of SEEDS) {
      it(`from ${label}, seed ${seed}: ${STEPS} steps`, () => {
        const rand = prng(seed);
        let s = state;
        let token = 100;
        let moved = 0;
        for (let i = 0; i < STEPS; i++) {
          const ctx = ctxOf(pick(rand, SETTINGS), ++token);
          // The state's token most of the time; sometimes an older or newer one.
          const current = isWanting(s) ? s.token : TOKEN;
          const r = rand();
          const pool = events(r < 0.8 ? current : r < 0.9 ? current - 1 : current + 1).map((x) => x.event);
          const e: Event = rand() < 0.1 ? { type: 'connect', target: pick(rand, TARGETS) } : pick(rand, pool);
          const step = transition(s, e, ctx);
          if (!step) continue;
          checkStep(s, e, step, ctx);
          s = step.state;
          moved++;
        }
        expect(moved, 'the walk went somewhere').toBeGreaterThan(STEPS / 10);
      });
    }
  }
});

// ------------------------------------------------------------------ the driver model

const SENDS = new Set<Effect['type']>(['resolve', 'startTunnel', 'rehandshake']);
/** Lookup answers: a name may resolve differently each time (round-robin DNS). */
const ANSWERS: Endpoint[] = [
  { address: '203.0.113.9', port: 51820 },
  { address: '203.0.113.10', port: 51820 },
];

class World {
  state: State;
  settings: Settings;
  queue: Event[] = [];
  /** Tokens of the lookups still out. */
  lookups: number[] = [];
  timers = new Map<TimerName, number>();
  /** The tunnel the driver holds: the token it was started with and where it sends. */
  tunnel: { token: number; endpoint: Endpoint } | undefined;
  kernel: FirewallSpec | undefined;
  private tokens = 100;
  seen = new Set<string>();

  constructor(
    private readonly rand: () => number,
    start: State,
  ) {
    this.state = start;
    this.settings = pick(rand, SETTINGS);
  }

  /** One event through transition(), its effects run as the driver runs them. */
  deliver(e: Event): void {
    const ctx = ctxOf(this.settings, ++this.tokens);
    const from = this.state;
    const step = transition(from, e, ctx);
    if (!step) return;
    checkStep(from, e, step, ctx);
    this.state = step.state;
    this.seen.add(step.state.name);
    // Now and then the kernel refuses the step's firewall.
    const refused = this.rand() < 0.15;
    const follow: Event[] = [];
    for (const x of step.effects) {
      if (refused && SENDS.has(x.type)) continue;
      this.run(x, refused, follow);
    }
    if (!refused && isWanting(this.state) && this.settings.killSwitch) expect(this.kernel?.block, `${from.name} + ${e.type}: blocked in the kernel`).toBe(true);
    if (refused && e.type !== 'firewallFailed') follow.push({ type: 'firewallFailed', message: 'nft refused' });
    this.queue.unshift(...follow);
  }

  private run(x: Effect, refused: boolean, follow: Event[]): void {
    switch (x.type) {
      case 'firewall':
        if (!refused) this.kernel = x.spec;
        return;
      case 'resolve':
        this.lookups.push(x.token);
        return;
      case 'startTunnel':
        expect(this.tunnel, 'a second tunnel would be started over the first').toBeUndefined();
        if (this.rand() < 0.15) return void follow.push({ type: 'tunnelFailed', token: x.token, message: 'no TUN', started: false });
        this.tunnel = { token: x.token, endpoint: x.endpoint };
        follow.push({ type: 'tunnelUp', token: x.token, interfaceName: 'umbra0' });
        return;
      case 'stopTunnel':
        this.tunnel = undefined;
        return;
      case 'timer':
        this.timers.set(x.name, x.token);
        return;
      case 'cancelTimers':
        this.timers.clear();
        return;
      case 'then':
        follow.push(x.event);
        return;
      case 'rehandshake':
        return;
    }
  }

  /** Something from outside: the user, a lookup's answer, a timer, the engine. */
  external(): Event {
    const r = this.rand;
    const options: (() => Event)[] = [
      () => ({ type: 'connect', target: pick(r, [IP, HOST, DUAL, NO_ENDPOINT]) }),
      () => ({ type: 'disconnect' }),
      () => {
        this.settings = pick(r, SETTINGS);
        return { type: 'policyChanged' };
      },
      () => ({ type: 'pathChanged' }),
    ];
    // Each lookup still out may be the next thing to finish, in any order.
    for (const [i, token] of this.lookups.entries()) {
      options.push(() => {
        this.lookups.splice(i, 1);
        return r() < 0.75 ? { type: 'resolved', token, endpoint: pick(r, ANSWERS) } : { type: 'unresolvable', token, message: 'SERVFAIL' };
      });
    }
    for (const [name, token] of this.timers) {
      options.push(() => {
        this.timers.delete(name);
        return { type: name, token };
      });
    }
    const t = this.tunnel;
    if (t) {
      options.push(
        () => ({ type: 'handshake', token: t.token }),
        () => ({ type: 'handshake', token: t.token }),
        () => ({ type: 'giveUp', token: t.token }),
        () => ({ type: 'tunnelFailed', token: t.token, message: 'TUN gone', started: true }),
      );
      if (this.state.name === 'connected') options.push(() => ({ type: 'handshakeLost', token: t.token }));
    }
    return pick(r, options)();
  }

  /** What must hold after every step. */
  checkTunnel(why: string): void {
    const s = this.state;
    if (!isWanting(s)) return void expect(this.tunnel, `${why}: no tunnel outside the states that want one`).toBeUndefined();
    // Between startTunnel and its tunnelUp (next in the queue), the state does not know it yet.
    const announcing = this.queue[0]?.type === 'tunnelUp';
    expect(s.tunnel !== undefined, `${why}: the state knows whether a tunnel is up`).toBe(this.tunnel !== undefined && !announcing);
    if (this.tunnel) {
      expect(this.tunnel.token, `${why}: the tunnel belongs to this attempt`).toBe(s.token);
      // The block lets out the state's endpoint: it must be the one the tunnel talks to.
      expect(s.endpoint, `${why}: the endpoint is the tunnel's`).toEqual(this.tunnel.endpoint);
    }
  }

  /** With nothing queued: whatever the state waits for is on its way. */
  checkLive(why: string): void {
    const s = this.state;
    switch (s.name) {
      case 'connecting':
        if (!s.endpoint) expect(this.lookups, `${why}: resolving, a lookup is out`).toContain(s.token);
        else if (s.tunnel) expect(this.timers.get('timeout'), `${why}: a timeout is armed`).toBe(s.token);
        else throw new Error(`${why}: connecting with an endpoint and no tunnel, and nothing will start one`);
        return;
      case 'error':
        expect(this.timers.get('retry'), `${why}: a retry is armed`).toBe(s.token);
        return;
      case 'disconnecting':
        throw new Error(`${why}: disconnecting with nothing to finish it`);
      default:
        return;
    }
  }
}

describe('random walk: the driver model', () => {
  const starts: State[] = [{ name: 'disconnected' }, { name: 'disconnected', hold: 'boot' }, { name: 'disconnected', hold: 'unreadable-state' }];
  for (const [n, start] of starts.entries()) {
    for (const seed of [...SEEDS, 4, 5, 6]) {
      it(`from ${start.name}${'hold' in start && start.hold ? ` (${start.hold})` : ''}, seed ${seed}: ${STEPS} events`, () => {
        const rand = prng(seed * 7919 + n);
        const w = new World(rand, start);
        for (let i = 0; i < STEPS; i++) {
          const e = w.queue.shift() ?? w.external();
          const why = `seed ${seed}, event ${i} (${e.type}) in ${w.state.name}`;
          w.deliver(e);
          w.checkTunnel(why);
          if (w.queue.length === 0) w.checkLive(why);
        }
        // The walk reached every state (else it proves little).
        expect([...w.seen].sort()).toEqual(['connected', 'connecting', 'disconnected', 'disconnecting', 'error', 'reconnecting']);
      });
    }
  }
});
