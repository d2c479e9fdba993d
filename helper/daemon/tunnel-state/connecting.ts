// connecting: the user wants this server; resolving its endpoint, starting the tunnel, or
// waiting for the first handshake. Its firewall: the block with the kill switch on; without it
// the guards once the tunnel exists.
import { wantingPolicy } from './policy.js';
import { begin, CONNECT_TIMEOUT_MS, fail, serverName } from './common.js';
import type { Context, Event, State, Step } from './types.js';

type Connecting = Extract<State, { name: 'connecting' }>;

export const policy = wantingPolicy;

export function on(s: Connecting, e: Event, ctx: Context): Step | undefined {
  switch (e.type) {
    // Once per attempt: a retry of the same attempt may have a second lookup out, and an answer
    // after the endpoint is known would move the block off the address the tunnel talks to.
    case 'resolved': {
      if (s.endpoint) return undefined;
      const next: Connecting = { ...s, endpoint: e.endpoint };
      return { state: next, effects: begin(next) };
    }
    case 'unresolvable':
      if (s.endpoint) return undefined;
      return fail(s, { code: 'ENDPOINT_UNRESOLVABLE', message: `${e.message} Umbra keeps trying; traffic stays blocked if the kill switch is on.` });
    case 'tunnelUp':
      // Only the answer to this state's startTunnel (an endpoint, no tunnel yet).
      if (!s.endpoint || s.tunnel) return undefined;
      return { state: { ...s, tunnel: e.interfaceName }, effects: [{ type: 'timer', name: 'timeout', token: s.token, ms: CONNECT_TIMEOUT_MS }] };
    case 'handshake': {
      if (!s.tunnel || !s.endpoint) return undefined; // the driver reports tunnelUp first
      const { error: _e, ...rest } = s;
      return { state: { ...rest, name: 'connected', endpoint: s.endpoint, tunnel: s.tunnel, since: ctx.now, attempt: 0 }, effects: [{ type: 'cancelTimers' }] };
    }
    case 'timeout':
    case 'giveUp':
      return fail(s, { code: 'NO_HANDSHAKE', message: `no answer from ${serverName(s)} after ${CONNECT_TIMEOUT_MS / 1000} s. Umbra keeps trying; check your internet connection or pick another server.` });
    default:
      return undefined;
  }
}
