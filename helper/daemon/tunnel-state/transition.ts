// The tunnel state machine's one entry point: transition(state, event, ctx) → { state, effects }.
// Pure. The rule that makes every state safe lives here, once: a step's first effect is the
// firewall policy of the state it enters, so the driver sets it before anything else of that
// step (resolving, sockets, routes, DNS) runs — and when setting it fails, runs nothing else.
import type { FirewallSpec } from '../../platform/firewall/ruleset.js';
import * as disconnected from './disconnected.js';
import * as connecting from './connecting.js';
import * as connected from './connected.js';
import * as reconnecting from './reconnecting.js';
import * as errorState from './error-state.js';
import * as disconnecting from './disconnecting.js';
import { connectTo, fail } from './common.js';
import { onPathChanged } from './path-change.js';
import type { Context, Event, State, Step, Target, WantingState } from './types.js';

/** Context plus a token no earlier attempt used (the driver counts them). */
export type StepContext = Context & { token: number };

/** The firewall `s` must hold. */
function policyOf(s: State, ctx: Context): FirewallSpec | undefined {
  switch (s.name) {
    case 'disconnected':
      return disconnected.policy(s, ctx);
    case 'disconnecting':
      return disconnecting.policy(s);
    default:
      return connecting.policy(s, ctx);
  }
}

/** The same server with the same config (a re-imported profile with new keys is another target). */
function sameTarget(a: Target, b: Target): boolean {
  return a.server.id === b.server.id && JSON.stringify(a.config) === JSON.stringify(b.config);
}

export function isWanting(s: State): s is WantingState {
  return s.name === 'connecting' || s.name === 'connected' || s.name === 'reconnecting' || s.name === 'error';
}

/** What the states where the user wants a connection do alike; undefined: the state decides. */
function onWanting(s: WantingState, e: Event, ctx: StepContext): Step | undefined {
  switch (e.type) {
    case 'connect':
      // Asked again for the server it is already connected (or connecting) to: nothing to redo.
      if ((s.name === 'connected' || s.name === 'connecting') && sameTarget(s.target, e.target)) return undefined;
      return connectTo(e.target, ctx.token, s);
    case 'disconnect':
      return {
        state: { name: 'disconnecting', target: s.target, keep: policyOf(s, ctx) },
        effects: [{ type: 'cancelTimers' }, { type: 'stopTunnel' }, { type: 'then', event: { type: 'tornDown' } }],
      };
    case 'policyChanged':
      return { state: s, effects: [] };
    case 'pathChanged':
      return onPathChanged(s, ctx.token);
    case 'firewallFailed':
      return fail(s, { code: 'FIREWALL_FAILED', message: `the firewall could not be set, so Umbra went no further: ${e.message}` });
    case 'tunnelFailed':
      return fail(
        s,
        e.started
          ? { code: 'TUNNEL_FAILED', message: `the tunnel stopped: ${e.message}. Umbra starts it again shortly.` }
          : { code: 'START_FAILED', message: `${e.message}. Umbra tries again shortly.` },
        true,
      );
    default:
      return undefined;
  }
}

function handle(s: State, e: Event, ctx: StepContext): Step | undefined {
  // A result of an attempt the user has since replaced changes nothing.
  if ('token' in e && (!isWanting(s) || e.token !== s.token)) return undefined;
  if (isWanting(s)) {
    const common = onWanting(s, e, ctx);
    if (common) return common;
  }
  switch (s.name) {
    case 'disconnected':
      return disconnected.on(s, e, ctx);
    case 'connecting':
      return connecting.on(s, e, ctx);
    case 'connected':
      return connected.on(s, e);
    case 'reconnecting':
      return reconnecting.on(s, e, ctx);
    case 'error':
      return errorState.on(s, e, ctx);
    case 'disconnecting':
      if (e.type === 'connect') return connectTo(e.target, ctx.token, undefined);
      return disconnecting.on(s, e, ctx);
  }
}

/** One step: undefined when the event means nothing in this state (stale, or not handled). */
export function transition(s: State, e: Event, ctx: StepContext): Step | undefined {
  const step = handle(s, e, ctx);
  if (!step) return undefined;
  return { state: step.state, effects: [{ type: 'firewall', spec: policyOf(step.state, ctx) }, ...step.effects] };
}
