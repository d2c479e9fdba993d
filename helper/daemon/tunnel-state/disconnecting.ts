// disconnecting: the user's disconnect. The tunnel goes, then DNS, and only then the firewall
// (in `disconnected`): until the tunnel is gone, the policy of the state it left holds.
import { holdPolicy } from './policy.js';
import type { Context, Event, State, Step } from './types.js';

type Disconnecting = Extract<State, { name: 'disconnecting' }>;

export const policy = (s: Disconnecting) => s.keep;

export function on(s: Disconnecting, e: Event, ctx: Context): Step | undefined {
  if (e.type === 'tornDown') return { state: { name: 'disconnected' }, effects: [] };
  // Lockdown turned on (or its LAN rule changed) while the tunnel goes: block now, not after
  // the teardown. Anything else waits for `disconnected`, which reads the settings anew.
  if (e.type === 'policyChanged' && ctx.lockdown) return { state: { ...s, keep: holdPolicy(undefined, ctx) }, effects: [] };
  return undefined;
}
