// Words about the tunnel that the CLI, the tray, the notifications and the window share, so a
// held block or a reconnect reads the same everywhere. Pure data over the schema's types: the
// renderer may bundle it (it imports nothing at run time).
import type { BlockHold, TunnelState, TunnelStatus } from './schema.js';

/** States in which the helper makes, keeps or retries a tunnel the user asked for. */
export const WANTS_TUNNEL: ReadonlySet<TunnelState> = new Set(['connecting', 'connected', 'reconnecting', 'error']);

/** Why traffic is blocked while disconnected, and the way out. */
export const HOLD_TEXT: Record<BlockHold, string> = {
  boot: 'Blocked: kill switch on boot — connect, or turn the setting off',
  'unreadable-state': 'Blocked: Umbra could not read its settings after a crash; connect, or disconnect to lift the block',
  lockdown: 'Blocked: lockdown is on — connect, or turn lockdown off',
  'untrusted-network': 'Blocked: an untrusted network, and no server to connect to — connect, or mark the network trusted',
};

/** Connected, but the server has not answered for a while: "no reply from the server for 4 s". */
export function noReplyText(status: { noReplySince?: number | undefined }, now: number): string | undefined {
  if (status.noReplySince === undefined) return undefined;
  return `no reply from the server for ${Math.max(0, Math.round((now - status.noReplySince) / 1000))} s`;
}

/** A byte count as a person reads it: "512 B", "1.2 MB", "48 MB" (decimal units); `unknown` for what is not a count. */
export function bytesText(n: number, unknown: string): string {
  if (!Number.isFinite(n) || n < 0) return unknown;
  if (n < 1000) return `${Math.round(n)} B`;
  let v = n;
  let unit = 'B';
  for (const u of ['kB', 'MB', 'GB', 'TB', 'PB']) {
    v /= 1000;
    unit = u;
    if (v < 999.5) break;
  }
  return `${v < 9.95 ? v.toFixed(1) : Math.round(v).toString()} ${unit}`;
}

/** Handshake messages the engine dropped over its budget: "1234 handshake messages dropped (flood)". */
export function floodText(dropped: number, seconds?: number): string {
  return `${dropped} handshake message${dropped === 1 ? '' : 's'} dropped (flood)${seconds === undefined ? '' : ` in the last ${seconds} s`}`;
}

/**
 * The path to the server carries less than the tunnel's packets: what the kernel learnt, how many
 * went in fragments, and what to set. Undefined while nothing says so.
 */
export function pathMtuText(status: Pick<TunnelStatus, 'pathMtu' | 'pathMtuFragmented'>): string | undefined {
  const { pathMtu, pathMtuFragmented: fragmented } = status;
  if (!pathMtu && !fragmented) return undefined;
  const path = pathMtu ? `the network carries at most ${pathMtu.learnt} bytes to the server, less than the tunnel's packets` : "the network carries less than the tunnel's packets";
  const count = fragmented ? `; ${fragmented} sent in fragments` : '; they go in fragments';
  const fix = pathMtu?.mtuThatFits ? `set MTU = ${pathMtu.mtuThatFits} under [Interface] in the config to avoid it` : 'lower MTU in the config to avoid it';
  return `${path}${count} (${fix})`;
}

/** The same, short enough for a menu line. */
export const HOLD_LINE: Record<BlockHold, string> = {
  boot: 'Blocked · kill switch on boot',
  'unreadable-state': 'Blocked · settings unreadable after a crash',
  lockdown: 'Blocked · lockdown is on',
  'untrusted-network': 'Blocked · untrusted network',
};

/**
 * With the helper gone, whether traffic is blocked: the app cannot ask the kernel (reading the
 * ruleset needs CAP_NET_ADMIN), so it goes by the helper's last status. That is a fact, not a
 * guess: `blocked` was read back from the kernel, and the helper never lifts a block when it
 * stops or crashes (a crash runs no code; `serve` on SIGTERM keeps it), while the tunnel dies with
 * the helper (its TUN closes with the process). 'unknown': no status was seen before it went.
 */
export type HelperDownVerdict = 'blocked' | 'exposed' | 'unknown';

export function helperDownVerdict(last: { blocked: boolean } | null | undefined): HelperDownVerdict {
  if (!last) return 'unknown';
  return last.blocked ? 'blocked' : 'exposed';
}

/** How this copy of Umbra was installed, which decides how its helper is started again. */
export type InstallKind = 'package' | 'appimage' | 'demo' | 'checkout';

/**
 * What a window's host (Electron's main process, the browser host) knows that the window cannot
 * learn while the helper is away: how this copy was installed, the socket it talks to, and
 * whether the helper's last status held a block (undefined: the host saw no status either).
 */
export interface HostInfo {
  install: InstallKind;
  /** The helper's socket when it is not the system one (DEFAULT_SOCKET_PATH): `serve` must be told. */
  socket?: string | undefined;
  lastBlocked?: boolean | undefined;
  /**
   * The window runs outside the network namespace the helper protects (the demo's lab): what the
   * window itself observes (WebRTC candidates) is another network's, so it must not be judged.
   */
  elsewhere?: boolean | undefined;
}

/** The verdict in words: a headline and why it holds (the window), a tooltip and a line (the tray). */
export const HELPER_DOWN_TEXT: Record<HelperDownVerdict, { headline: string; detail: string; tooltip: string; line: string }> = {
  blocked: {
    headline: 'Your traffic is blocked by the kill switch',
    detail: 'The kill switch’s block was in the kernel when the helper stopped, and the helper never lifts it on a stop or a crash: nothing leaves this computer until the helper is back.',
    tooltip: 'Umbra: helper not running · your traffic is blocked by the kill switch',
    line: 'Helper not running · traffic blocked',
  },
  exposed: {
    headline: 'You are not protected',
    detail: 'No kill switch block was in place when the helper stopped, and the tunnel ended with it: your traffic goes out directly, unencrypted, until the helper is back and you connect.',
    tooltip: 'Umbra: helper not running · you are not protected',
    line: 'Helper not running · not protected',
  },
  unknown: {
    headline: 'Umbra cannot tell whether your traffic is blocked',
    detail: 'The helper was not running when this window opened. If the kill switch (or lockdown, or kill switch on boot) was on, traffic is blocked; otherwise it goes out directly.',
    tooltip: 'Umbra: helper not running',
    line: 'Helper not running',
  },
};
