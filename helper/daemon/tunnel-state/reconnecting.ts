// reconnecting: was connected, the server stopped answering; the tunnel stays up and the engine
// keeps initiating. Its firewall is connected's: the guards, and the block with the kill switch.
import { fail, serverName } from './common.js';
import type { Context, Event, State, Step } from './types.js';

type Reconnecting = Extract<State, { name: 'reconnecting' }>;

export function on(s: Reconnecting, e: Event, ctx: Context): Step | undefined {
  switch (e.type) {
    case 'handshake': {
      const { error: _e, ...rest } = s;
      return { state: { ...rest, name: 'connected', since: ctx.now, attempt: 0 }, effects: [{ type: 'cancelTimers' }] };
    }
    case 'giveUp':
      return fail(s, { code: 'NO_HANDSHAKE', message: `the server ${serverName(s)} stopped answering. Umbra keeps trying; check your internet connection or pick another server.` });
    default:
      return undefined;
  }
}
