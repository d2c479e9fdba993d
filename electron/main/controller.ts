// What the app does with the mirrored state, without Electron: redraw the tray on every change,
// notify about drops and blocks the user did not cause, remember the locations used, and carry
// out the tray's actions. The glue gives it a tray view, a notifier and the window/quit hooks.
import type { TunnelStatus } from '../../helper/ipc/schema.js';
import type { CallRequest } from './ipc-contract.js';
import { toUmbraError } from './ipc-contract.js';
import { actionOfCall, NotificationTracker, type Notice } from './notifications.js';
import type { RecentStore } from './recent.js';
import type { LinkPort, MirrorState, StateMirror } from './state-mirror.js';
import { trayModel, type PanelTone, type TrayAction, type TrayModel } from './tray-model.js';

export interface TrayView {
  render(model: TrayModel): void;
}

export interface Notifier {
  show(notice: Notice): void;
}

export interface ControllerDeps {
  link: Pick<LinkPort, 'call'>;
  mirror: StateMirror;
  recent: Pick<RecentStore, 'list' | 'add'>;
  tray: TrayView;
  notifier: Notifier;
  panel: () => PanelTone;
  showWindow(): void;
  quit(): void;
  now?: () => number;
  log?: (message: string) => void;
}

export class AppController {
  private readonly tracker: NotificationTracker;
  private started = false;
  /** The last model drawn, as JSON: the tray is redrawn only when it changes (a rebuilt menu
   * closes an open one, and status events arrive every time the byte counters move). */
  private drawn: string | undefined;
  private readonly onChange = (next: MirrorState, prev: MirrorState) => this.changed(next, prev);

  constructor(private readonly deps: ControllerDeps) {
    this.tracker = new NotificationTracker(deps.now);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.deps.mirror.on('change', this.onChange);
    this.refresh();
  }

  stop(): void {
    this.started = false;
    this.deps.mirror.off('change', this.onChange);
  }

  /** Redraws the tray (also when the panel's tone may have changed). */
  refresh(): void {
    const model = trayModel({ mirror: this.deps.mirror.state, recent: this.deps.recent.list(), panel: this.deps.panel() });
    const key = JSON.stringify(model);
    if (key === this.drawn) return;
    this.drawn = key;
    this.deps.tray.render(model);
  }

  /** A helper call a window made (so its effects are not reported as surprises). */
  noteCall(req: CallRequest): void {
    const action = actionOfCall(req.method, req.params);
    if (action) this.tracker.noteAction(action);
  }

  /** Carries out a tray action; failures are shown as a notification. */
  async dispatch(action: TrayAction): Promise<void> {
    try {
      switch (action.type) {
        case 'connect':
          this.tracker.noteAction('connect');
          await this.deps.link.call('connect', action.serverId ? { serverId: action.serverId } : {});
          return;
        case 'disconnect':
          this.tracker.noteAction('disconnect');
          await this.deps.link.call('disconnect', {});
          return;
        case 'setKillSwitch':
          this.tracker.noteAction(action.enabled ? 'killSwitchOn' : 'killSwitchOff');
          await this.deps.link.call('setSettings', { killSwitch: action.enabled });
          return;
        case 'setLockdown':
          this.tracker.noteAction(action.enabled ? 'killSwitchOn' : 'killSwitchOff');
          await this.deps.link.call('setSettings', { lockdown: action.enabled });
          return;
        case 'setNetworkRule':
          // "Untrusted" connects at once: the connect is the user's own (no surprise to report).
          if (action.rule === 'untrusted') this.tracker.noteAction('connect');
          await this.deps.link.call('setNetwork', { key: action.key, rule: action.rule });
          return;
        case 'showWindow':
          this.deps.showWindow();
          return;
        case 'quit':
          this.deps.quit();
          return;
      }
    } catch (e) {
      this.deps.notifier.show({ kind: 'failed', title: 'Umbra', body: toUmbraError(e).message });
    }
  }

  private changed(next: MirrorState, prev: MirrorState): void {
    if (next.reachable === false) this.tracker.reset();
    if (next.status && next.status !== prev.status) this.statusChanged(next.status);
    this.refresh();
  }

  private statusChanged(status: TunnelStatus): void {
    const notice = this.tracker.onStatus(status);
    if (notice) this.deps.notifier.show(notice);
    if (status.state === 'connected' && status.server && this.deps.recent.list()[0] !== status.server.id) {
      // The list changes at once (the tray redrawn next shows it); the file follows.
      this.deps.recent.add(status.server.id).catch((e: unknown) => this.deps.log?.(`could not save the recent locations: ${toUmbraError(e).message}`));
    }
  }
}
