// The tray as data: which icon, what tooltip, which menu — a pure function of the mirrored helper
// state, so every state can be tested and the glue only draws it. The first menu item is the
// one-click action (Linux trays often deliver no click events). Actions are data; the glue
// dispatches them.
import type { MenuItemConstructorOptions } from 'electron';
import type { NetworkRule, ServerInfo, TunnelStatus } from '../../helper/ipc/schema.js';
import type { MirrorState } from './state-mirror.js';
import { HELPER_DOWN_TEXT, helperDownVerdict, HOLD_LINE, HOLD_TEXT, noReplyText, RECONNECTING_TEXT, WANTS_TUNNEL } from './tunnel-words.js';

export const TRAY_STATES = ['disconnected', 'connecting', 'connected', 'blocked', 'error'] as const;
export type TrayIconState = (typeof TRAY_STATES)[number];
/** The icon's own tone: `light` glyphs for dark panels, `dark` glyphs for light panels. */
type IconTone = 'light' | 'dark';
export type TrayIconName = `${TrayIconState}-${IconTone}`;
export const TRAY_ICON_NAMES: readonly TrayIconName[] = TRAY_STATES.flatMap((s) => [`${s}-light`, `${s}-dark`] as const);

/** The colour of the panel the tray sits in. */
export type PanelTone = 'dark' | 'light';

export type TrayAction =
  | { type: 'connect'; serverId?: string }
  | { type: 'disconnect' }
  | { type: 'setKillSwitch'; enabled: boolean }
  | { type: 'setLockdown'; enabled: boolean }
  /** The rule for the network the tray showed (by its key: not whatever network the machine is on by the time of the click). */
  | { type: 'setNetworkRule'; key: string; rule: NetworkRule }
  | { type: 'showWindow' }
  | { type: 'quit' };

export type TrayMenuItem =
  | { kind: 'action'; label: string; action: TrayAction; enabled: boolean }
  | { kind: 'checkbox'; label: string; checked: boolean; action: TrayAction; enabled: boolean }
  | { kind: 'label'; label: string }
  | { kind: 'submenu'; label: string; items: TrayMenuItem[]; enabled: boolean }
  | { kind: 'separator' };

export interface TrayModel {
  iconState: TrayIconState;
  iconName: TrayIconName;
  tooltip: string;
  items: TrayMenuItem[];
}

export interface TrayInput {
  mirror: MirrorState;
  /** Recent server ids, newest first (recent.ts). */
  recent: readonly string[];
  panel: PanelTone;
  /** Epoch ms, for "no reply from the server for N s"; the clock by default. */
  now?: number;
}

const MAX_TOOLTIP_DETAIL = 90;

/** "Stockholm, Sweden", or the server's name when the catalog gives no place. */
export function locationLabel(server: ServerInfo): string {
  const place = [server.city, server.country].filter((x): x is string => typeof x === 'string' && x.trim() !== '').join(', ');
  return place || server.name;
}

function clip(text: string, max = MAX_TOOLTIP_DETAIL): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export function iconStateOf(mirror: MirrorState): TrayIconState {
  if (mirror.reachable === false) return 'error';
  const s = mirror.status;
  if (!s) return 'disconnected';
  switch (s.state) {
    case 'connected':
      return 'connected';
    case 'connecting':
    case 'reconnecting':
    case 'disconnecting':
      return 'connecting';
    case 'error':
      return s.blocked ? 'blocked' : 'error';
    case 'disconnected':
      return s.blocked ? 'blocked' : 'disconnected';
  }
}

/** Where a one-click connect goes: the server in play, the last used, the most recent, the first. */
export function connectTarget(mirror: MirrorState, recent: readonly string[]): ServerInfo | undefined {
  const servers = mirror.servers ?? [];
  const byId = (id: string | undefined) => (id === undefined ? undefined : servers.find((s) => s.id === id));
  return byId(mirror.status?.server?.id) ?? byId(mirror.settings?.lastServerId) ?? recent.map(byId).find((s) => s !== undefined) ?? servers[0];
}

function unreachableText(mirror: MirrorState): { tooltip: string; line: string } {
  if (mirror.message && /permission denied/i.test(mirror.message)) {
    return { tooltip: 'Umbra: not allowed to control the helper (join the umbra group)', line: 'Not allowed to control the helper' };
  }
  // Whether traffic is blocked right now is what matters most while the helper is down.
  const verdict = helperDownVerdict(mirror.lastStatus);
  const { tooltip, line } = HELPER_DOWN_TEXT[verdict];
  return { tooltip, line };
}

function describe(status: TunnelStatus, now: number): { tooltip: string; line: string } {
  const where = status.server ? locationLabel(status.server) : undefined;
  const retry = status.attempt > 0 ? ` (retry ${status.attempt})` : '';
  switch (status.state) {
    case 'connected': {
      const quiet = noReplyText(status, now);
      return { tooltip: `Umbra: Connected${where ? ` to ${where}` : ''}${quiet ? ` · ${quiet}` : ''}`, line: `Connected${where ? ` · ${where}` : ''}` };
    }
    case 'connecting':
      return {
        tooltip: `Umbra: Connecting${where ? ` to ${where}` : ''}…${retry}${status.blocked ? ' · traffic blocked' : ''}`,
        line: `Connecting${where ? ` · ${where}` : ''}${retry}`,
      };
    case 'reconnecting':
      return {
        tooltip: `Umbra: Reconnecting${where ? ` to ${where}` : ''}: ${RECONNECTING_TEXT}${retry}${status.blocked ? ' · traffic blocked' : ''}`,
        line: `Reconnecting${where ? ` · ${where}` : ''}${retry}`,
      };
    case 'disconnecting':
      return { tooltip: 'Umbra: Disconnecting…', line: 'Disconnecting…' };
    case 'disconnected':
      // What the kernel holds decides; the hold only says why.
      if (!status.blocked) return { tooltip: 'Umbra: Disconnected', line: 'Disconnected' };
      if (status.hold) return { tooltip: `Umbra: ${HOLD_TEXT[status.hold]}`, line: HOLD_LINE[status.hold] };
      return { tooltip: 'Umbra: Blocking traffic (kill switch)', line: 'Blocking traffic · kill switch' };
    case 'error': {
      const why = status.error?.message ? `: ${clip(status.error.message)}` : '';
      const failed = `Could not connect${where ? ` to ${where}` : ''}`;
      return status.blocked
        ? { tooltip: `Umbra: Blocking traffic (kill switch) · ${failed}${why}`, line: `Blocking traffic · ${failed}` }
        : { tooltip: `Umbra: ${failed}${why}`, line: failed };
    }
  }
}

function firstAction(mirror: MirrorState, recent: readonly string[]): TrayMenuItem {
  const s = mirror.status;
  if (mirror.reachable !== true || !s) return { kind: 'action', label: 'Connect', action: { type: 'connect' }, enabled: false };
  switch (s.state) {
    case 'connected':
      return { kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: true };
    case 'connecting':
      return { kind: 'action', label: 'Cancel', action: { type: 'disconnect' }, enabled: true };
    case 'reconnecting':
    case 'error':
      // The helper keeps retrying (and blocking, with the kill switch): stopping is the way out.
      return { kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: true };
    case 'disconnecting':
      return { kind: 'action', label: 'Disconnecting…', action: { type: 'disconnect' }, enabled: false };
    case 'disconnected': {
      const target = connectTarget(mirror, recent);
      if (!target) {
        return mirror.servers ? { kind: 'action', label: 'Add a server…', action: { type: 'showWindow' }, enabled: true } : { kind: 'action', label: 'Connect', action: { type: 'connect' }, enabled: false };
      }
      return { kind: 'action', label: `Connect to ${locationLabel(target)}`, action: { type: 'connect', serverId: target.id }, enabled: true };
    }
  }
}

/**
 * The way out of a block held while disconnected that the first item (Connect) does not offer:
 * a disconnect lifts one held after a crash; lockdown lifts only when turned off.
 */
function liftBlock(mirror: MirrorState): TrayMenuItem[] {
  const s = mirror.status;
  if (mirror.reachable !== true || !s || s.state !== 'disconnected' || !s.blocked) return [];
  if (s.hold === 'unreadable-state') return [{ kind: 'action', label: 'Lift the block (disconnect)', action: { type: 'disconnect' }, enabled: true }];
  if (s.hold === 'lockdown') return [{ kind: 'action', label: 'Turn lockdown off', action: { type: 'setLockdown', enabled: false }, enabled: true }];
  return [];
}

/** Quitting the app stops neither the helper's tunnel nor its block: the item says so. */
function quitLabel(mirror: MirrorState): string {
  const s = mirror.status;
  if (mirror.reachable === false && helperDownVerdict(mirror.lastStatus) === 'blocked') return 'Quit (traffic stays blocked)';
  if (mirror.reachable !== true || !s) return 'Quit';
  if (WANTS_TUNNEL.has(s.state)) return 'Quit (the VPN stays on)';
  if (s.blocked) return 'Quit (traffic stays blocked)';
  return 'Quit';
}

function recentMenu(mirror: MirrorState, recent: readonly string[]): TrayMenuItem {
  const servers = mirror.servers ?? [];
  const usable = mirror.reachable === true && mirror.status !== undefined && mirror.status.state !== 'disconnecting';
  const current = mirror.status?.state === 'connected' ? mirror.status.server?.id : undefined;
  const items: TrayMenuItem[] = [];
  for (const id of recent) {
    const server = servers.find((s) => s.id === id);
    if (!server) continue;
    const label = `${locationLabel(server)}${server.id === current ? ' (connected)' : ''}`;
    items.push({ kind: 'action', label, action: { type: 'connect', serverId: server.id }, enabled: usable && server.id !== current });
  }
  if (items.length === 0) items.push({ kind: 'label', label: 'No recent locations' });
  return { kind: 'submenu', label: 'Recent locations', items, enabled: mirror.reachable === true };
}

/** A rule in the CLI's words (umbra status), short enough for a menu line. */
const RULE_WORDS: Record<NetworkRule, string> = { trusted: 'trusted', untrusted: 'untrusted', ask: 'not decided yet (ask)' };

/** The rules as the tray offers them, with what each does. */
const RULE_CHOICES: readonly { rule: NetworkRule; label: string }[] = [
  { rule: 'trusted', label: 'Trusted: do nothing here' },
  { rule: 'untrusted', label: 'Untrusted: connect, with the kill switch on' },
  { rule: 'ask', label: 'Ask each time' },
];

/**
 * With trusted networks on: the network the machine is on and its rule, once the helper knows it,
 * as a submenu that changes the rule. A network whose rule is "ask" is asked about right in the
 * menu: trust it, or treat it as untrusted (which connects).
 */
function networkItems(mirror: MirrorState): TrayMenuItem[] {
  const network = mirror.reachable === true ? mirror.status?.network : undefined;
  if (!network) return [];
  const set = (rule: NetworkRule): TrayAction => ({ type: 'setNetworkRule', key: network.key, rule });
  const items: TrayMenuItem[] = [
    {
      kind: 'submenu',
      label: `Network: ${network.name} — ${RULE_WORDS[network.rule]}`,
      enabled: true,
      items: RULE_CHOICES.map((c) => ({ kind: 'checkbox', label: c.label, checked: network.rule === c.rule, action: set(c.rule), enabled: network.rule !== c.rule })),
    },
  ];
  if (network.rule === 'ask') {
    items.push(
      { kind: 'action', label: 'Trust this network', action: set('trusted'), enabled: true },
      { kind: 'action', label: 'Do not trust this network (connect)', action: set('untrusted'), enabled: true },
    );
  }
  return items;
}

function killSwitchItem(mirror: MirrorState): TrayMenuItem {
  const settings = mirror.settings;
  const status = mirror.status;
  const on = settings?.killSwitch === true;
  // DESIGN.md convention 7: never suggest protection the kernel does not have. A block is
  // missing when the kill switch is on and a tunnel is wanted, or the helper wants one, and the
  // kernel holds none.
  const missing = status !== undefined && !status.blocked && ((on && WANTS_TUNNEL.has(status.state)) || status.firewall.wanted === 'block');
  const label = missing ? 'Kill switch (rules not in the kernel!)' : 'Kill switch';
  return { kind: 'checkbox', label, checked: on, action: { type: 'setKillSwitch', enabled: !on }, enabled: mirror.reachable === true && settings !== undefined };
}

export function trayModel({ mirror, recent, panel, now = Date.now() }: TrayInput): TrayModel {
  const iconState = iconStateOf(mirror);
  const iconName: TrayIconName = `${iconState}-${panel === 'dark' ? 'light' : 'dark'}`;
  let text: { tooltip: string; line: string };
  if (mirror.reachable === false) text = unreachableText(mirror);
  else if (!mirror.status) text = { tooltip: 'Umbra: starting…', line: 'Starting…' };
  else text = describe(mirror.status, now);
  return {
    iconState,
    iconName,
    tooltip: text.tooltip,
    items: [
      firstAction(mirror, recent),
      { kind: 'label', label: text.line },
      ...networkItems(mirror),
      ...liftBlock(mirror),
      { kind: 'separator' },
      recentMenu(mirror, recent),
      killSwitchItem(mirror),
      { kind: 'separator' },
      { kind: 'action', label: 'Show window', action: { type: 'showWindow' }, enabled: true },
      { kind: 'action', label: quitLabel(mirror), action: { type: 'quit' }, enabled: true },
    ],
  };
}

/** Electron menu template for the items; `dispatch` gets each clicked item's action. */
export function toMenuTemplate(items: readonly TrayMenuItem[], dispatch: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'label':
        return { type: 'normal', label: item.label, enabled: false };
      case 'action':
        return { type: 'normal', label: item.label, enabled: item.enabled, click: () => dispatch(item.action) };
      case 'checkbox':
        return { type: 'checkbox', label: item.label, checked: item.checked, enabled: item.enabled, click: () => dispatch(item.action) };
      case 'submenu':
        return { type: 'submenu', label: item.label, enabled: item.enabled, submenu: toMenuTemplate(item.items, dispatch) };
    }
  });
}

/**
 * The panel's tone. GNOME and Unity draw a dark top bar whatever the theme; elsewhere the panel
 * follows the theme. UMBRA_TRAY_PANEL=dark|light overrides both.
 */
export function panelTone(env: NodeJS.ProcessEnv, prefersDark: boolean): PanelTone {
  const forced = env.UMBRA_TRAY_PANEL;
  if (forced === 'dark' || forced === 'light') return forced;
  const desktop = (env.XDG_CURRENT_DESKTOP ?? '').toLowerCase();
  if (/gnome|unity|ubuntu|pantheon/.test(desktop)) return 'dark';
  return prefersDark ? 'dark' : 'light';
}
