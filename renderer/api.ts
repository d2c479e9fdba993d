// What the renderer sees of Umbra: `window.umbra`, typed from the one IPC schema. The preload
// (Electron) or the browser-mode bridge provides it; the renderer never touches Node, Electron
// or the helper's socket (DESIGN.md). Only types come from the schema: nothing of it is bundled.
import type { HostInfo } from '../helper/ipc/tunnel-words.js';
import type { DesktopAppInfo, ExcludedApp } from '../helper/ipc/split-apps.js';
import type {
  FirewallKind, HelperEvent, KnownNetwork, LeakCheckId, LeakCheckProgress, LeakCheckResult, LeakEvidence, LeakReport, LeakVerdict, MethodName, NetworkRule, NetworkRules, Params, Result, ServerInfo, Settings, TunnelState, TunnelStatus,
} from '../helper/ipc/schema.js';

export type { DesktopAppInfo, ExcludedApp, HostInfo };
export type {
  FirewallKind, HelperEvent, KnownNetwork, LeakCheckId, LeakCheckProgress, LeakCheckResult, LeakEvidence, LeakReport, LeakVerdict, MethodName, NetworkRule, NetworkRules, Params, Result, ServerInfo, Settings, TunnelState, TunnelStatus,
};

/** The picture `subscribe` starts from: the helper's status, settings and servers. */
export type Snapshot = Result<'subscribe'>;

/**
 * An error crossing `window.umbra` as a value. `code` is the helper's JSON-RPC code (a number,
 * e.g. −32003 for a bad config) or, for trouble reaching it, a kind such as 'not-running',
 * 'permission-denied', 'timeout', 'closed'. `message` is for a person and says what to do.
 */
export interface UmbraError {
  code: number | string;
  message: string;
}

/** Settings the Electron main process owns (not the helper). Absent in browser mode. */
interface UmbraAppApi {
  getLaunchAtLogin(): Promise<boolean>;
  /** Resolves with the value now in effect. */
  setLaunchAtLogin(enabled: boolean): Promise<boolean>;
}

/**
 * Split tunnelling's apps, answered by main (Electron) or the browser-mode host: installed apps by
 * desktop file id, the user's list of apps that run outside the VPN, and a launch of one of them.
 */
interface UmbraSplitAppsApi {
  listInstalled(): Promise<DesktopAppInfo[]>;
  listExcluded(): Promise<ExcludedApp[]>;
  /** Each resolves with the list as it is now. */
  add(id: string): Promise<ExcludedApp[]>;
  remove(id: string): Promise<ExcludedApp[]>;
  /** Starts the app outside the VPN; rejects (nothing started) when the helper refuses. */
  launch(id: string): Promise<{ pid: number }>;
}

export interface UmbraApi {
  /** One helper method; rejects with an {@link UmbraError} value (not an Error instance). */
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  /**
   * Starts delivering the helper's events to `onEvent` and resolves with the current picture.
   * Events come after the snapshot, in the helper's order. Rejects with an UmbraError when the
   * helper cannot be reached. A second subscribe replaces the first listener.
   */
  subscribe(onEvent: (event: HelperEvent) => void): Promise<Snapshot>;
  /** Stops delivering events to this window. */
  unsubscribe(): void;
  /**
   * Whether the helper can be reached, now (may be called back at once) and on every change;
   * `message` says why not and what to do. Returns a function that removes the callback.
   * After a `true` that follows a `false`, the renderer subscribes again for a fresh snapshot.
   * `host`, where the host gives it: how this copy was installed, and whether the helper's last
   * status held a block (so a window opened after the helper went can still say).
   */
  onConnectionChange(cb: (helperReachable: boolean, message?: string, host?: HostInfo) => void): () => void;
  /** App settings the main process owns; absent where there is no such process. */
  app?: UmbraAppApi;
  /** Absent from a host that does not offer split tunnelling. */
  splitApps?: UmbraSplitAppsApi;
}

declare global {
  interface Window {
    /** Set by the preload (Electron) or the browser-mode bridge before the app starts. */
    umbra?: UmbraApi;
  }
}

/** Any rejection reason as an UmbraError, so every error shown has a code and a message. */
export function toUmbraError(reason: unknown): UmbraError {
  if (typeof reason === 'object' && reason !== null) {
    const r = reason as { code?: unknown; kind?: unknown; message?: unknown };
    const message = typeof r.message === 'string' && r.message.trim() !== '' ? r.message : 'something went wrong, and the helper gave no reason';
    const code = typeof r.code === 'number' || typeof r.code === 'string' ? r.code : typeof r.kind === 'string' ? r.kind : 'error';
    return { code, message };
  }
  if (typeof reason === 'string' && reason.trim() !== '') return { code: 'error', message: reason };
  return { code: 'error', message: 'something went wrong, and the helper gave no reason' };
}

/** Longest config text the helper imports (mirrors MAX_CONFIG_BYTES in the schema, whose values are not bundled). */
export const MAX_CONFIG_BYTES = 64 * 1024;
