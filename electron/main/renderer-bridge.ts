// Main's side of `window.umbra`: answers the windows' requests (checked against ipc-contract.ts,
// forwarded to the helper through the one link) and pushes events and reachability to them. The
// glue (index.ts) only routes ipcMain messages here, with the sender's webContents id.
import type { HelperEvent } from '../../helper/ipc/schema.js';
import type { HostInfo } from '../../helper/ipc/tunnel-words.js';
import {
  CHANNELS, checkAppRequest, checkCallRequest, isSplitAppRequest, toUmbraError, unreachableError,
  type AppRequest, type CallRequest, type ReachableInfo, type Reply,
} from './ipc-contract.js';
import type { SplitTunnelApps } from './split-tunnel-apps.js';
import type { LinkPort, MirrorState, Snapshot, StateMirror } from './state-mirror.js';

/** Settings main owns (autostart.ts). */
interface AppSettingsPort {
  getLaunchAtLogin(): Promise<boolean>;
  setLaunchAtLogin(enabled: boolean): Promise<boolean>;
}

export interface BridgeDeps {
  link: Pick<LinkPort, 'call'>;
  mirror: StateMirror;
  app: AppSettingsPort;
  /** Split tunnelling's apps (split-tunnel-apps.ts). */
  splitApps: Pick<SplitTunnelApps, 'answer'>;
  /** Sends to one window (by webContents id); a no-op when it is gone. */
  sendTo(id: number, channel: string, payload: unknown): void;
  /** Sends to every window. */
  broadcast(channel: string, ...args: unknown[]): void;
  /** Told of every helper call a window makes, before it is forwarded (notification intents). */
  onCall?(req: CallRequest): void;
  /** How long subscribe waits for a first picture. */
  readyTimeoutMs?: number;
  /** How this copy was installed and its socket if not the system one (paths.ts hostFacts), for the helper-down page. */
  host: Omit<HostInfo, 'lastBlocked'>;
}

export class RendererBridge {
  private readonly subscribers = new Set<number>();
  /** Per window, bumped by every subscribe and unsubscribe: only the latest subscribe counts. */
  private readonly epochs = new Map<number, number>();
  /** What windows were last told: "true", or "false" and the message. */
  private told: string | undefined;
  private started = false;

  private readonly onEvent = (event: HelperEvent) => {
    for (const id of this.subscribers) this.deps.sendTo(id, CHANNELS.event, event);
  };

  private readonly onChange = (next: MirrorState) => {
    if (next.reachable === undefined) return;
    const message = next.reachable ? undefined : unreachableError(next.message).message;
    const host = this.hostInfo(next);
    const key = tellKey(next.reachable, message, host);
    if (key === this.told) return;
    this.told = key;
    // Events of an old connection stop here; a window subscribes again for a fresh picture.
    if (!next.reachable) this.subscribers.clear();
    this.deps.broadcast(CHANNELS.reachable, next.reachable, message, host);
  };

  constructor(private readonly deps: BridgeDeps) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    const r = this.deps.mirror.state;
    this.told = r.reachable === undefined ? undefined : tellKey(r.reachable, r.reachable ? undefined : unreachableError(r.message).message, this.hostInfo(r));
    this.deps.mirror.on('event', this.onEvent);
    this.deps.mirror.on('change', this.onChange);
  }

  stop(): void {
    this.started = false;
    this.deps.mirror.off('event', this.onEvent);
    this.deps.mirror.off('change', this.onChange);
    this.subscribers.clear();
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  async call(req: unknown): Promise<Reply<unknown>> {
    const checked = checkCallRequest(req);
    if (!checked.ok) return checked;
    const { method, params } = checked.value;
    this.deps.onCall?.(checked.value);
    try {
      return { ok: true, value: await this.deps.link.call(method, params as never) };
    } catch (e) {
      return { ok: false, error: toUmbraError(e) };
    }
  }

  /**
   * The picture now; from then on `sender` gets every event, in order. A window that subscribes
   * again gets no events until its new picture is on the way (older ones are in that picture).
   */
  async subscribe(sender: number): Promise<Reply<Snapshot>> {
    this.subscribers.delete(sender);
    const epoch = this.bump(sender);
    try {
      await this.deps.mirror.whenReady(this.deps.readyTimeoutMs);
    } catch (e) {
      return { ok: false, error: toUmbraError(e) };
    }
    // Read again now: this runs before any later event is handled, and the reply goes out before
    // anything sent to this window afterwards.
    const snap = this.deps.mirror.snapshot();
    if (!snap) return { ok: false, error: unreachableError(this.deps.mirror.state.message) };
    if (this.epochs.get(sender) === epoch) this.subscribers.add(sender);
    return { ok: true, value: snap };
  }

  unsubscribe(sender: number): void {
    this.subscribers.delete(sender);
    this.bump(sender);
  }

  /** A window is gone. */
  forget(sender: number): void {
    this.subscribers.delete(sender);
    this.epochs.delete(sender);
  }

  private bump(sender: number): number {
    const next = (this.epochs.get(sender) ?? 0) + 1;
    this.epochs.set(sender, next);
    return next;
  }

  reachable(): ReachableInfo {
    const s = this.deps.mirror.state;
    const host = this.hostInfo(s);
    if (s.reachable === undefined) return { known: false, reachable: false, host };
    return s.reachable ? { known: true, reachable: true, host } : { known: true, reachable: false, message: unreachableError(s.message).message, host };
  }

  /** A window opened after the helper went learns from main whether its last status held a block. */
  private hostInfo(s: MirrorState): HostInfo {
    const blocked = s.lastStatus?.blocked;
    return blocked === undefined ? { ...this.deps.host } : { ...this.deps.host, lastBlocked: blocked };
  }

  async app(req: unknown): Promise<Reply<unknown>> {
    const checked = checkAppRequest(req);
    if (!checked.ok) return checked;
    const r: AppRequest = checked.value;
    if (isSplitAppRequest(r)) return this.deps.splitApps.answer(r);
    try {
      const value = r.method === 'getLaunchAtLogin' ? await this.deps.app.getLaunchAtLogin() : await this.deps.app.setLaunchAtLogin(r.params.enabled);
      return { ok: true, value };
    } catch (e) {
      const what = r.method === 'getLaunchAtLogin' ? 'read' : 'change';
      return { ok: false, error: { code: 'launch-at-login', message: `could not ${what} launch at login: ${toUmbraError(e).message}` } };
    }
  }
}

/** What windows were told, as one comparable string. */
function tellKey(reachable: boolean, message: string | undefined, host: HostInfo): string {
  return reachable ? 'true' : `false\n${message}\n${host.lastBlocked}`;
}
