// disconnected: no tunnel. Its firewall: none — or, with a hold, the block (kill switch on boot;
// state files unreadable after a crash with a block in place, which stays until the user says).
import { holdPolicy } from './policy.js';
import { connectTo } from './common.js';
import type { Context, Event, State, Step } from './types.js';

type Disconnected = Extract<State, { name: 'disconnected' }>;

export const policy = (s: Disconnected, ctx: Context) => holdPolicy(s.hold, ctx);

export function on(s: Disconnected, e: Event, ctx: Context & { token: number }): Step | undefined {
  switch (e.type) {
    case 'connect':
      return connectTo(e.target, ctx.token, undefined);
    case 'disconnect':
      // The user's own disconnect lifts a hold.
      return { state: { name: 'disconnected' }, effects: [] };
    case 'start':
      return { state: e.hold ? { name: 'disconnected', hold: e.hold } : { name: 'disconnected' }, effects: [] };
    case 'policyChanged':
      return { state: s, effects: [] };
    default:
      return undefined;
  }
}
