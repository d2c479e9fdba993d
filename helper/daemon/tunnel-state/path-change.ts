// pathChanged: the machine is on another network, or on a new path to the same one (an address,
// a default route): the tunnel the user wants is made again over it at once, not when the
// engine's timers would notice. A fresh attempt rather than a rehandshake of the tunnel that is
// up: the protocol sends at most one initiation per REKEY_TIMEOUT, so a move soon after a
// handshake would wait for it, and a new socket takes its source address from the new path. The
// firewall is the state's own, as for every step: the block, when the kill switch (or an
// untrusted network) is on, held from the old tunnel to the new one.
import { connectTo } from './common.js';
import type { Step, WantingState } from './types.js';

export function onPathChanged(s: WantingState, token: number): Step | undefined {
  // Resolving or starting: the attempt under way already uses the routes of the moment.
  if (s.name === 'connecting' && !s.tunnel) return undefined;
  return connectTo(s.target, token, s);
}
