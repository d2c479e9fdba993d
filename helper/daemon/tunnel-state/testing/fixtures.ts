// Shared fixtures for the tunnel state machine's tests: targets, contexts, one state of each
// name (and the variants that matter), one event of each type, and the contract every step must
// keep (DESIGN.md, "Firewall policy per state"), written from the contract, not from policy.ts.
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { parseWgQuick } from '../../../config/wg-quick.js';
import { bootSpec, buildRuleset, normalizeSpec, type FirewallSpec } from '../../../platform/firewall/ruleset.js';
import { isWanting, transition, type StepContext } from '../transition.js';
import type { Context, Effect, Endpoint, Event, State, Step, Target } from '../types.js';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

interface TargetOpts {
  endpoint?: string;
  allowedIPs?: string;
  address?: string;
}

function target(id: string, o: TargetOpts): Target {
  const endpoint = o.endpoint ? `Endpoint = ${o.endpoint}\n` : '';
  const config = parseWgQuick(
    `[Interface]\nPrivateKey = ${KEY}\nAddress = ${o.address ?? '100.64.1.2/32'}\nDNS = 100.64.0.53\n[Peer]\nPublicKey = ${PUB}\n${endpoint}AllowedIPs = ${o.allowedIPs ?? '0.0.0.0/0'}\n`,
  );
  return { server: { id, name: id, endpoint: o.endpoint ?? 'none:0', publicKey: PUB, source: 'import' }, config };
}

/** An IPv4-only server with a literal endpoint. */
export const IP = target('ip', { endpoint: '203.0.113.2:51820' });
/** A server whose endpoint is a hostname (resolved once per connect). */
export const HOST = target('host', { endpoint: 'vpn.example.test:51820' });
/** Dual stack: an IPv6 endpoint, an IPv6 inner address, and ::/0 in the tunnel. */
export const DUAL = target('dual', { endpoint: '[2001:db8::3]:51820', address: '100.64.1.3/32, fd00:64::3/128', allowedIPs: '0.0.0.0/0, ::/0' });
/** Some IPv6 in the tunnel, not all of it: IPv6 elsewhere must still be refused. */
export const PARTIAL_V6 = target('partial', { endpoint: '203.0.113.4:51820', allowedIPs: '0.0.0.0/0, 2001:db8::/32' });
/** A config with no Endpoint at all (nothing to look up). */
export const NO_ENDPOINT = target('none', {});
export const TARGETS = [IP, HOST, DUAL, PARTIAL_V6, NO_ENDPOINT];

/** Whether the contract says this fixture's config sends all IPv6 into the tunnel. */
const tunnelsV6 = (t: Target) => t === DUAL;

export const EP: Endpoint = { address: '203.0.113.2', port: 51820 };
export const RESOLVED: Endpoint = { address: '203.0.113.9', port: 51820 };
export const RESOLVERS = ['203.0.113.251'];
const FWMARK = 0x756d;
/** The token of every representative state; events with another one are stale. */
export const TOKEN = 7;
const ERR = { code: 'NO_HANDSHAKE', message: 'no answer' };

/** The error codes the contract names (status.error.code). */
const CODES = ['ENDPOINT_UNRESOLVABLE', 'NO_HANDSHAKE', 'START_FAILED', 'TUNNEL_FAILED', 'FIREWALL_FAILED'];

export type Settings = { killSwitch: boolean; lockdown: boolean; allowLan: boolean; lanDnsServers?: string[] };
export const SETTINGS: Settings[] = [
  { killSwitch: true, lockdown: false, allowLan: false },
  { killSwitch: true, lockdown: false, allowLan: true },
  { killSwitch: false, lockdown: false, allowLan: false },
  { killSwitch: false, lockdown: false, allowLan: true },
  { killSwitch: false, lockdown: true, allowLan: false },
  { killSwitch: true, lockdown: true, allowLan: true },
  { killSwitch: true, lockdown: false, allowLan: false, lanDnsServers: ['198.51.100.53'] },
  { killSwitch: false, lockdown: false, allowLan: false, lanDnsServers: ['198.51.100.53'] },
];
export const KS_ON: Settings = { killSwitch: true, lockdown: false, allowLan: false };
export const KS_OFF: Settings = { killSwitch: false, lockdown: false, allowLan: false };
export const LOCKDOWN: Settings = { killSwitch: false, lockdown: true, allowLan: false };

export const ctxOf = (s: Settings, token = 100): StepContext => ({ ...s, fwmark: FWMARK, lookupResolvers: RESOLVERS, now: 1_000, token });

/** One state of each name, and the variants that decide something (a tunnel, an endpoint, a hold). */
export const STATES: { label: string; state: State }[] = [
  { label: 'disconnected', state: { name: 'disconnected' } },
  { label: 'disconnected, boot hold', state: { name: 'disconnected', hold: 'boot' } },
  { label: 'disconnected, unreadable-state hold', state: { name: 'disconnected', hold: 'unreadable-state' } },
  { label: 'connecting, resolving', state: { name: 'connecting', target: HOST, token: TOKEN, attempt: 0 } },
  { label: 'connecting, starting', state: { name: 'connecting', target: IP, token: TOKEN, attempt: 0, endpoint: EP } },
  { label: 'connecting, tunnel up', state: { name: 'connecting', target: IP, token: TOKEN, attempt: 1, endpoint: EP, tunnel: 'umbra0', error: ERR } },
  { label: 'connected', state: { name: 'connected', target: IP, token: TOKEN, attempt: 0, endpoint: EP, tunnel: 'umbra0', since: 5 } },
  {
    label: 'connected, dual stack',
    state: { name: 'connected', target: DUAL, token: TOKEN, attempt: 0, endpoint: { address: '2001:db8::3', port: 51820 }, tunnel: 'umbra0', since: 5 },
  },
  { label: 'reconnecting', state: { name: 'reconnecting', target: IP, token: TOKEN, attempt: 1, endpoint: EP, tunnel: 'umbra0', error: ERR } },
  { label: 'error, unresolved', state: { name: 'error', target: HOST, token: TOKEN, attempt: 1, error: { code: 'ENDPOINT_UNRESOLVABLE', message: 'NXDOMAIN' } } },
  { label: 'error, no tunnel', state: { name: 'error', target: IP, token: TOKEN, attempt: 1, endpoint: EP, error: { code: 'START_FAILED', message: 'no TUN' } } },
  { label: 'error, tunnel up', state: { name: 'error', target: IP, token: TOKEN, attempt: 2, endpoint: EP, tunnel: 'umbra0', error: ERR } },
  { label: 'disconnecting, no table kept', state: { name: 'disconnecting', target: IP, keep: undefined } },
  { label: 'disconnecting, block kept', state: { name: 'disconnecting', target: IP, keep: bootSpec({ fwmark: FWMARK }) } },
];

export const stateOf = (label: string): State => {
  const found = STATES.find((x) => x.label === label);
  if (!found) throw new Error(`no fixture state "${label}"`);
  return found.state;
};

/** One event of each type (both kinds of tunnelFailed, both kinds of start), labelled. */
export function events(token: number): { label: string; event: Event }[] {
  const list: Event[] = [
    { type: 'connect', target: DUAL },
    { type: 'disconnect' },
    { type: 'start', hold: 'boot' },
    { type: 'start' },
    { type: 'tornDown' },
    { type: 'resolved', token, endpoint: RESOLVED },
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
    { type: 'pathChanged' },
  ];
  return list.map((event) => ({ label: labelOf(event), event }));
}

function labelOf(e: Event): string {
  if (e.type === 'start') return e.hold ? `start (${e.hold})` : 'start';
  if (e.type === 'tunnelFailed') return e.started ? 'tunnelFailed (running)' : 'tunnelFailed (starting)';
  return e.type;
}

export const tunnelOf = (s: State) => ('tunnel' in s ? s.tunnel : undefined);
export const types = (step: Step) => step.effects.map((x) => x.type);

/** The firewall a step asks for (its first effect). */
export function specOf(step: Step): FirewallSpec | undefined {
  const first = step.effects[0];
  if (first?.type !== 'firewall') throw new Error(`the first effect is ${first?.type ?? 'missing'}, not the firewall`);
  return first.spec;
}

/** One step that must do something. */
export function run(s: State, e: Event, ctx: StepContext): Step {
  const step = transition(s, e, ctx);
  if (!step) throw new Error(`${s.name} ignores ${e.type}`);
  return step;
}

/** One step and the `then` events it feeds back, as the driver runs them: every step, in order. */
export function settle(s: State, e: Event, settings: Settings, token = 100): Step[] {
  const steps: Step[] = [];
  const queue: Event[] = [e];
  let state = s;
  for (let next = queue.shift(); next; next = queue.shift()) {
    const step = transition(state, next, ctxOf(settings, token++));
    if (!step) continue;
    steps.push(step);
    state = step.state;
    for (const x of step.effects) if (x.type === 'then') queue.push(x.event);
  }
  return steps;
}

/** A small deterministic PRNG (mulberry32): a failing walk replays from its seed. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

// ------------------------------------------------------------------ the contract, as checks
// Each check lists the rules a value breaks (empty: none), so that a walk of thousands of steps
// stays fast and a failure names every broken rule at once.

/** Broken rules, collected: `rule(cond, what)` and `same(actual, expected, what)`. */
class Rules {
  readonly broken: string[] = [];
  constructor(private readonly why: string) {}
  rule(ok: unknown, what: string): void {
    if (!ok) this.broken.push(`${this.why}: ${what}`);
  }
  same(actual: unknown, expected: unknown, what: string): void {
    if (!isDeepStrictEqual(actual, expected)) this.broken.push(`${this.why}: ${what}: got ${show(actual)}, want ${show(expected)}`);
  }
}

const show = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));

/** The keys each state may carry (required, optional): nothing of an earlier state lingers. */
const SHAPES: Record<State['name'], [string[], string[]]> = {
  disconnected: [['name'], ['hold']],
  connecting: [['name', 'target', 'token', 'attempt'], ['endpoint', 'tunnel', 'error']],
  connected: [['name', 'target', 'token', 'attempt', 'endpoint', 'tunnel', 'since'], []],
  reconnecting: [['name', 'target', 'token', 'attempt', 'endpoint', 'tunnel', 'error'], []],
  error: [['name', 'target', 'token', 'attempt', 'error'], ['endpoint', 'tunnel']],
  disconnecting: [['name', 'target', 'keep'], []],
};

function shapeRules(s: State, r: Rules): void {
  const [required, optional] = SHAPES[s.name];
  // `keep` may be undefined (nothing to keep); any other key that is there has a value.
  const keys = Object.entries(s).filter(([k, v]) => k === 'keep' || v !== undefined).map(([k]) => k);
  for (const k of required) r.rule(keys.includes(k), `${s.name} has ${k}`);
  r.same(keys.filter((k) => !required.includes(k) && !optional.includes(k)), [], `${s.name} carries nothing else`);
  if (isWanting(s)) {
    // A tunnel is only ever started towards a known endpoint; the firewall lets exactly that one out.
    r.rule(!s.tunnel || s.endpoint, 'a tunnel has an endpoint');
    r.rule(Number.isInteger(s.attempt) && s.attempt >= 0, 'attempt is a count');
  }
  if ('error' in s && s.error) r.rule(CODES.includes(s.error.code), `error code ${s.error.code} is one the contract names`);
}

function policyRules(s: State, spec: FirewallSpec | undefined, ctx: Context, r: Rules): void {
  if (spec) {
    try {
      buildRuleset(spec);
    } catch (e) {
      r.rule(false, `the ruleset builds (${(e as Error).message})`);
      return;
    }
  }
  const blocks = ctx.killSwitch || ctx.lockdown;
  if (s.name === 'disconnected') {
    // A hold or lockdown: a block with no endpoint, no tunnel, no DNS; LAN per allow LAN.
    const held = s.hold !== undefined || ctx.lockdown;
    return r.same(spec, held ? bootSpec({ fwmark: ctx.fwmark, allowLan: ctx.allowLan }) : undefined, held ? 'a hold (or lockdown) is the boot block' : 'disconnected holds no table');
  }
  if (s.name === 'disconnecting') return r.same(spec, s.keep, 'disconnecting keeps what the state it left held');
  if (!blocks && !s.tunnel) return r.same(spec, undefined, 'no kill switch, no tunnel: no table');
  if (!spec) return r.rule(false, 'a table while the user wants a connection');
  const cfg = s.target.config.interface;
  const expected: FirewallSpec = {
    block: blocks,
    ...(s.tunnel ? { tunnelInterface: s.tunnel } : {}),
    // CVE-2019-14899: the tunnel's inner addresses only via the tunnel, whenever it exists.
    tunnelAddresses: s.tunnel ? cfg.addresses.map((a) => a.address) : [],
    tunnelsIpv6: tunnelsV6(s.target),
    endpoints: s.endpoint ? [s.endpoint] : [],
    fwmark: ctx.fwmark,
    dnsServers: cfg.dns,
    lookupResolvers: ctx.lookupResolvers,
    allowLan: ctx.allowLan,
    // LAN DNS: while blocking, and only once the tunnel (and so the forwarder) exists.
    ...(blocks && s.tunnel && ctx.lanDnsServers ? { lanDnsServers: ctx.lanDnsServers } : {}),
  };
  // Compared in canonical form: fields a mode ignores do not matter, everything else does.
  r.same(normalizeSpec(spec), normalizeSpec(expected), `${blocks ? 'the block' : 'the guard'} of ${s.name}`);
  r.same(spec.block, blocks, 'block');
  r.same(spec.tunnelsIpv6, tunnelsV6(s.target), 'tunnelsIpv6');
}

/** The firewall the contract says `s` holds under `ctx`, checked against `spec`. */
export function checkPolicy(s: State, spec: FirewallSpec | undefined, ctx: Context, why: string): void {
  const r = new Rules(why);
  policyRules(s, spec, ctx, r);
  expect(r.broken).toEqual([]);
}

const SENDS = new Set<Effect['type']>(['resolve', 'startTunnel', 'rehandshake']);

/** Every rule a step breaks, whatever the state and event. */
function stepRules(from: State, e: Event, step: Step, ctx: StepContext): string[] {
  const r = new Rules(`${from.name} + ${e.type} → ${step.state.name}`);
  const s = step.state;
  const fx = step.effects;
  r.rule(fx[0]?.type === 'firewall', 'the firewall comes first');
  r.rule(fx.filter((x) => x.type === 'firewall').length === 1, 'one firewall per step');
  if (fx[0]?.type !== 'firewall') return r.broken;
  const spec = fx[0].spec;
  shapeRules(s, r);
  policyRules(s, spec, ctx, r);
  // While the user wants a connection with the kill switch on, every step blocks, a disconnect's too.
  if (isWanting(from) && ctx.killSwitch) r.rule(spec?.block === true, 'the kill switch blocks');
  // Lockdown blocks in every state; a disconnect under way keeps what it was given.
  if (ctx.lockdown && s.name !== 'disconnecting') r.rule(spec?.block === true, 'lockdown blocks');
  if (isWanting(from) && s.name === 'disconnecting') policyRules(from, s.keep, ctx, r);
  r.rule(!('token' in e) || (isWanting(from) && e.token === from.token), 'a stale result changes nothing');

  if (isWanting(s)) {
    // Only a connect (or a path change, which connects again) starts an attempt, with a token no
    // earlier one used; nothing else renames it.
    if (e.type === 'connect' || (e.type === 'pathChanged' && !(isWanting(from) && s.token === from.token))) r.same(s.token, ctx.token, "a new attempt's token");
    else r.rule(isWanting(from) && s.token === from.token, `${s.name} is entered by a connect, or within the same attempt`);
    if (s.tunnel && e.type !== 'tunnelUp') r.same(s.tunnel, tunnelOf(from), 'the tunnel is the one that was up');
    // Resolved once per connect: within an attempt the endpoint, once known, stays.
    if (isWanting(from) && from.token === s.token && from.endpoint) r.same(s.endpoint, from.endpoint, 'the attempt keeps its endpoint');
    if (s.name === 'error' && s.error.code === 'ENDPOINT_UNRESOLVABLE') r.same(s.endpoint, undefined, 'unresolvable only while the endpoint is unknown');
  } else {
    r.same(fx.filter((x) => SENDS.has(x.type)).map((x) => x.type), [], 'nothing sends when the user wants no connection');
  }
  // A tunnel the new state does not know about is stopped in the same step, before anything new.
  const stop = fx.findIndex((x) => x.type === 'stopTunnel');
  if (tunnelOf(from) && tunnelOf(from) !== tunnelOf(s)) r.rule(stop > 0, 'the old tunnel is stopped');
  if (e.type === 'tunnelFailed') r.rule(!tunnelOf(s) && (!tunnelOf(from) || stop > 0), 'a failed tunnel is stopped and forgotten');
  for (const [i, x] of fx.entries()) effectRules(s, x, i < stop, r);
  const firstTimer = fx.findIndex((x) => x.type === 'timer');
  const cancel = fx.findIndex((x) => x.type === 'cancelTimers');
  if (firstTimer >= 0 && cancel >= 0) r.rule(cancel < firstTimer, 'timers are cancelled before new ones are armed');
  return r.broken;
}

/** Everything a step must keep (stepRules), as one assertion. */
export function checkStep(from: State, e: Event, step: Step, ctx: StepContext): void {
  expect(stepRules(from, e, step, ctx)).toEqual([]);
}

/** One effect against the state the step entered (`beforeStop`: a stopTunnel comes after it). */
function effectRules(s: State, x: Effect, beforeStop: boolean, r: Rules): void {
  const w = isWanting(s) ? s : undefined;
  switch (x.type) {
    case 'resolve': {
      const ep = w?.target.config.peers[0]?.endpoint;
      r.rule(w?.name === 'connecting' && !w.endpoint, 'a lookup only while the endpoint is unknown');
      r.same(x, { type: 'resolve', token: w?.token, host: ep?.host, port: ep?.port }, 'the lookup');
      r.rule(!beforeStop, 'no lookup through the old tunnel');
      return;
    }
    case 'startTunnel':
      r.rule(w?.name === 'connecting' && w.endpoint && !w.tunnel, 'a tunnel only towards the known endpoint');
      r.same(x, { type: 'startTunnel', token: w?.token, target: w?.target, endpoint: w?.endpoint }, 'the tunnel started');
      r.rule(!beforeStop, 'the old tunnel goes first');
      return;
    case 'rehandshake':
      r.rule(w?.tunnel, 'a handshake needs the tunnel');
      return;
    case 'timer':
      r.same(x.token, w?.token, 'a timer for this attempt');
      if (x.name === 'timeout') r.rule(w?.name === 'connecting' && w.tunnel, 'a timeout waits for a handshake');
      else r.same(w?.name, 'error', 'a retry is what error waits for');
      r.rule(x.ms > 0, 'a delay');
      return;
    case 'then':
      if ('token' in x.event) r.same(x.event.token, w?.token, "fed back with this attempt's token");
      return;
    default:
      return;
  }
}
