// error: the last attempt failed (cause in `error`); a retry is due after the backoff. The user
// still wants the connection, so with the kill switch the block holds (no endpoint change, no
// lifting); without it, the guards while the tunnel exists.
import { begin } from './common.js';
import type { Context, Event, State, Step } from './types.js';

type ErrorState = Extract<State, { name: 'error' }>;

export function on(s: ErrorState, e: Event, ctx: Context): Step | undefined {
  switch (e.type) {
    case 'retry': {
      const next = { ...s, name: 'connecting' as const };
      return { state: next, effects: begin(next) };
    }
    case 'handshake': {
      // An answer arrived while waiting to retry: the tunnel was up all along.
      if (!s.tunnel || !s.endpoint) return undefined;
      const { error: _e, ...rest } = s;
      return { state: { ...rest, name: 'connected', endpoint: s.endpoint, tunnel: s.tunnel, since: ctx.now, attempt: 0 }, effects: [{ type: 'cancelTimers' }] };
    }
    default:
      return undefined;
  }
}
