// disconnecting: the user's disconnect. The tunnel goes, then DNS, and only then the firewall
// (in `disconnected`): until the tunnel is gone, the policy of the state it left holds.
import type { Event, State, Step } from './types.js';

type Disconnecting = Extract<State, { name: 'disconnecting' }>;

export const policy = (s: Disconnecting) => s.keep;

export function on(_s: Disconnecting, e: Event): Step | undefined {
  if (e.type === 'tornDown') return { state: { name: 'disconnected' }, effects: [] };
  return undefined;
}
