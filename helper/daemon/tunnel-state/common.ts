// What every state in which the user wants a connection does alike: a new connect (or a switch),
// the user's disconnect, a change of policy, a firewall that could not be set, and how an attempt
// begins. Pure.
import { parseIp } from '../../net/ip.js';
import type { ErrorInfo } from '../../ipc/schema.js';
import type { Effect, Endpoint, State, Step, Target, WantingState } from './types.js';

// Tuning (ours, not the protocol's).
/** No handshake this long after an attempt starts: say so (error), keep trying. */
export const CONNECT_TIMEOUT_MS = 12_000;
/** Delays before a fresh attempt while in error (the last repeats). */
export const BACKOFF_MS = [2_000, 4_000, 8_000, 15_000, 30_000];

function backoff(attempt: number): number {
  return BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
}

/** The config's first peer endpoint as an address when it is an IP literal (no lookup needed). */
function literalEndpoint(target: Target): Endpoint | undefined {
  const ep = target.config.peers[0]?.endpoint;
  if (!ep || !parseIp(ep.host)) return undefined;
  return { address: ep.host, port: ep.port };
}

/** The next thing an attempt in `connecting` needs: a lookup, a tunnel, or a fresh handshake. */
export function begin(s: Extract<State, { name: 'connecting' }>): Effect[] {
  if (s.tunnel) return [{ type: 'rehandshake' }, { type: 'timer', name: 'timeout', token: s.token, ms: CONNECT_TIMEOUT_MS }];
  if (s.endpoint) return [{ type: 'startTunnel', token: s.token, target: s.target, endpoint: s.endpoint }];
  const ep = s.target.config.peers[0]?.endpoint;
  if (!ep) return [{ type: 'then', event: { type: 'unresolvable', token: s.token, message: `server ${s.target.server.id} has no endpoint: import its config again` } }];
  return [{ type: 'resolve', token: s.token, host: ep.host, port: ep.port }];
}

/** A fresh attempt for `target`: tears down the tunnel of the state it leaves, if any. */
export function connectTo(target: Target, token: number, leaving: { tunnel?: string } | undefined): Step {
  const endpoint = literalEndpoint(target);
  const next: Extract<State, { name: 'connecting' }> = { name: 'connecting', target, token, attempt: 0, ...(endpoint ? { endpoint } : {}) };
  return { state: next, effects: [{ type: 'cancelTimers' }, ...(leaving?.tunnel ? [{ type: 'stopTunnel' } as const] : []), ...begin(next)] };
}

/** Into `error` with a retry after the backoff; `dropTunnel` when the tunnel died. */
export function fail(s: WantingState, error: ErrorInfo, dropTunnel = false): Step {
  // Built field by field: nothing of the state left (connected's since) lingers in error.
  const { target, token, attempt, endpoint, tunnel } = s;
  const keep = { ...(endpoint ? { endpoint } : {}), ...(tunnel && !dropTunnel ? { tunnel } : {}) };
  return {
    state: { name: 'error', target, token, attempt: attempt + 1, error, ...keep },
    effects: [{ type: 'cancelTimers' }, ...(dropTunnel && s.tunnel ? [{ type: 'stopTunnel' } as const] : []), { type: 'timer', name: 'retry', token: s.token, ms: backoff(s.attempt) }],
  };
}

export function serverName(s: WantingState): string {
  return `${s.target.server.name} (${s.target.server.endpoint})`;
}
