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
  lockdown: 'Blocked: lockdown is on — connect, or turn lockdown off',
};

/** Connected, but the server has not answered for a while: "no reply from the server for 4 s". */
export function noReplyText(status: { noReplySince?: number | undefined }, now: number): string | undefined {
  if (status.noReplySince === undefined) return undefined;
  return `no reply from the server for ${Math.max(0, Math.round((now - status.noReplySince) / 1000))} s`;
}

/** Handshake messages the engine dropped over its budget: "1234 handshake messages dropped (flood)". */
export function floodText(dropped: number, seconds?: number): string {
  return `${dropped} handshake message${dropped === 1 ? '' : 's'} dropped (flood)${seconds === undefined ? '' : ` in the last ${seconds} s`}`;
}

/** The same, short enough for a menu line. */
export const HOLD_LINE: Record<BlockHold, string> = {
  boot: 'Blocked · kill switch on boot',
  'unreadable-state': 'Blocked · settings unreadable after a crash',
  lockdown: 'Blocked · lockdown is on',
};
