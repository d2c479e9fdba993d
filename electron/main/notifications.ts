// When to tell the user something they did not ask for: a tunnel that drops, a kill switch
// that starts blocking, or a network whose rule is "ask" (the question is in the tray). Nothing is said about what the user just did in this app (a disconnect,
// switching servers, turning the kill switch on); a disconnect from elsewhere (the CLI) is the
// user's own doing too, and is not a drop. Every sentence states only what the status says.
import type { TunnelState, TunnelStatus } from '../../helper/ipc/schema.js';
import { HOLD_TEXT } from './tunnel-words.js';

export interface Notice {
  title: string;
  body: string;
  /** What it is about: a dropped tunnel, a block, a network to decide on, or an action from the tray that failed. */
  kind: 'dropped' | 'blocking' | 'ask' | 'failed';
}

/** What the user last asked this app to do. */
export type AppAction = 'connect' | 'disconnect' | 'killSwitchOn' | 'killSwitchOff';

const DROPPED_BLOCKED = 'Umbra: the VPN connection dropped — reconnecting; your traffic is blocked';
const DROPPED_OPEN = 'Umbra: the VPN connection dropped — reconnecting; your traffic is not protected until it is back';
const LOST_BLOCKED = 'Umbra: the VPN server stopped answering — reconnecting; your traffic is blocked until it is back';
const LOST_OPEN = 'Umbra: the VPN server stopped answering — reconnecting (the tunnel stays up; the kill switch is off)';
const BLOCKING = 'Umbra: kill switch is blocking traffic';

/** States in which the helper is trying to (re)establish a tunnel the user wanted. */
const RETRYING: ReadonlySet<TunnelState> = new Set(['connecting', 'reconnecting', 'error']);
/** States in which a block means the user has no network at all (no tunnel on the way up). */
const BLOCKED_IDLE: ReadonlySet<TunnelState> = new Set(['disconnected', 'error']);

/**
 * Whether to notify for the change prev → next. `pending` is the app action still in progress
 * (undefined: the change did not come from this app). No previous status: nothing to compare.
 */
export function decideNotification(prev: TunnelStatus | undefined, next: TunnelStatus, pending: AppAction | undefined): Notice | undefined {
  if (!prev) return undefined;
  // A tunnel that was up and is now being retried, without the user asking for a change.
  if (prev.state === 'connected' && RETRYING.has(next.state) && pending !== 'connect' && pending !== 'disconnect') {
    const why = next.error?.message ? ` (${next.error.message})` : '';
    // Reconnecting keeps the tunnel up while the server is silent; the others have lost it.
    const [blocked, open] = next.state === 'reconnecting' ? [LOST_BLOCKED, LOST_OPEN] : [DROPPED_BLOCKED, DROPPED_OPEN];
    return { kind: 'dropped', title: 'Umbra', body: `${next.blocked ? blocked : open}${why}` };
  }
  // The block came on while no tunnel is being made or used (the kill switch on boot, or one left
  // after a failure), and not because of something done here.
  if (!prev.blocked && next.blocked && BLOCKED_IDLE.has(next.state) && pending !== 'connect' && pending !== 'killSwitchOn') {
    const body = next.state === 'disconnected' && next.hold ? `Umbra: ${HOLD_TEXT[next.hold]}` : `${BLOCKING}: nothing leaves this computer until you connect or turn the kill switch off`;
    return { kind: 'blocking', title: 'Umbra', body };
  }
  // Arrived on a network whose rule is "ask": once per arrival, whatever the app did.
  if (next.network?.rule === 'ask' && (prev.network?.key !== next.network.key || prev.network.rule !== 'ask')) {
    return { kind: 'ask', title: 'Umbra', body: `Umbra: do you trust the network “${next.network.name}”? Choose in the tray menu (Trust this network) or in the Umbra window` };
  }
  return undefined;
}

/** How long an app action counts as the reason for what follows, at most. */
export const ACTION_TTL_MS = 120_000;

/** Whether `action` has run its course once the status is `s`. */
function settled(action: AppAction, s: TunnelStatus): boolean {
  switch (action) {
    case 'connect':
      return s.state === 'connected' || s.state === 'disconnected';
    case 'disconnect':
      return s.state === 'disconnected';
    // Otherwise (the block may never change, e.g. while disconnected) the action expires.
    case 'killSwitchOn':
      return s.blocked;
    case 'killSwitchOff':
      return !s.blocked;
  }
}

/**
 * Tracks statuses and the app's own actions, and says when to notify. `now` is injected so
 * tests control time.
 */
export class NotificationTracker {
  private prev: TunnelStatus | undefined;
  private pending: { action: AppAction; at: number } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** The user asked this app for `action` (from the window or the tray). */
  noteAction(action: AppAction): void {
    this.pending = { action, at: this.now() };
  }

  /** A status from the helper; returns what to show, if anything. */
  onStatus(next: TunnelStatus): Notice | undefined {
    const p = this.pending && this.now() - this.pending.at <= ACTION_TTL_MS ? this.pending.action : undefined;
    const notice = decideNotification(this.prev, next, p);
    this.prev = next;
    if (p === undefined || settled(p, next)) this.pending = undefined;
    return notice;
  }

  /** The helper went away: the next status starts a new comparison. */
  reset(): void {
    this.prev = undefined;
  }
}

/** The app action a helper call stands for, if any (for calls forwarded from the window). */
export function actionOfCall(method: string, params: unknown): AppAction | undefined {
  if (method === 'connect') return 'connect';
  if (method === 'disconnect') return 'disconnect';
  if (method === 'setSettings' && typeof params === 'object' && params !== null) {
    // Lockdown turns a block on or off as the kill switch does (while disconnected, at once).
    const p = params as { killSwitch?: unknown; lockdown?: unknown };
    const ks = p.killSwitch ?? p.lockdown;
    if (ks === true) return 'killSwitchOn';
    if (ks === false) return 'killSwitchOff';
  }
  return undefined;
}
