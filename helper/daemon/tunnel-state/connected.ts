// connected: a handshake completed. Its firewall, whatever the kill switch says: the guards
// (the tunnel's address only via the tunnel, no ARP for it, no IPv6 outside an IPv4-only
// tunnel, nothing forwarded out of the tunnel); with the kill switch, the block as well.
import { fail, serverName } from './common.js';
import type { Event, State, Step } from './types.js';

type Connected = Extract<State, { name: 'connected' }>;

export function on(s: Connected, e: Event): Step | undefined {
  switch (e.type) {
    case 'handshakeLost': {
      // connectedSince is connected's own; a handshake that comes back starts it anew.
      const { since: _since, ...rest } = s;
      return {
        state: { ...rest, name: 'reconnecting', attempt: s.attempt + 1, error: { code: 'NO_HANDSHAKE', message: `no reply from ${serverName(s)}; reconnecting…` } },
        effects: [{ type: 'rehandshake' }],
      };
    }
    case 'giveUp':
      return fail(s, { code: 'NO_HANDSHAKE', message: `the server ${serverName(s)} stopped answering. Umbra keeps trying; check your internet connection or pick another server.` });
    default:
      return undefined;
  }
}
