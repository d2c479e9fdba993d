// Words about the tunnel that the CLI, the tray, the notifications and the window share, so a
// held block or a reconnect reads the same everywhere. Pure data over the schema's types: the
// renderer may bundle it (it imports nothing at run time).
import type { BlockHold, TunnelState } from './schema.js';

/** States in which the helper makes, keeps or retries a tunnel the user asked for. */
export const WANTS_TUNNEL: ReadonlySet<TunnelState> = new Set(['connecting', 'connected', 'reconnecting', 'error']);

/** Why traffic is blocked while disconnected, and the way out. */
export const HOLD_TEXT: Record<BlockHold, string> = {
  boot: 'Blocked: kill switch on boot — connect, or turn the setting off',
  'unreadable-state': 'Blocked: Umbra could not read its settings after a crash; connect, or disconnect to lift the block',
};

/** The same, short enough for a menu line. */
export const HOLD_LINE: Record<BlockHold, string> = {
  boot: 'Blocked · kill switch on boot',
  'unreadable-state': 'Blocked · settings unreadable after a crash',
};
