import { describe, expect, it } from 'vitest';
import type { TunnelStatus } from '../../helper/ipc/schema.js';
import { EMPTY_STATE, type MirrorState } from './state-mirror.js';
import { HOLD_LINE, HOLD_TEXT } from './tunnel-words.js';
import { connected, FRANKFURT, HOMELAB, SERVERS, SETTINGS, status, STOCKHOLM } from './testing/fakes.js';
import {
  connectTarget, iconStateOf, locationLabel, panelTone, toMenuTemplate, TRAY_ICON_NAMES, trayModel,
  type TrayAction, type TrayMenuItem, type TrayModel,
} from './tray-model.js';

function mirror(s: TunnelStatus | undefined, overrides: Partial<MirrorState> = {}): MirrorState {
  return { reachable: true, message: undefined, status: s, settings: { ...SETTINGS }, servers: [...SERVERS], ...overrides };
}

function model(m: MirrorState, recent: string[] = [], panel: 'dark' | 'light' = 'dark'): TrayModel {
  return trayModel({ mirror: m, recent, panel });
}

const first = (m: TrayModel) => m.items[0]!;
const find = (m: TrayModel, label: string | RegExp) =>
  m.items.find((i) => 'label' in i && (typeof label === 'string' ? i.label === label : label.test(i.label)));
const labels = (items: readonly TrayMenuItem[]) => items.map((i) => (i.kind === 'separator' ? '---' : i.label));

describe('tray model, state by state', () => {
  it('connected: disconnect first, where in the tooltip and the status line', () => {
    const m = model(mirror(connected(STOCKHOLM)));
    expect(m.iconState).toBe('connected');
    expect(m.iconName).toBe('connected-light');
    expect(m.tooltip).toBe('Umbra: Connected to Stockholm, Sweden');
    expect(first(m)).toEqual({ kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: true });
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Connected · Stockholm, Sweden' });
    expect(labels(m.items)).toEqual(['Disconnect', 'Connected · Stockholm, Sweden', '---', 'Recent locations', 'Kill switch', '---', 'Show window', 'Quit (the VPN stays on)']);
  });

  it('connected, no reply from the server lately: the tooltip says for how long', () => {
    const now = 1_800_000_000_000;
    const m = trayModel({ mirror: mirror({ ...connected(STOCKHOLM), noReplySince: now - 6_000 }), recent: [], panel: 'light', now });
    expect(m.tooltip).toBe('Umbra: Connected to Stockholm, Sweden · no reply from the server for 6 s');
  });

  it('disconnected: connect to the last used location in one click', () => {
    const m = model(mirror(status(), { settings: { ...SETTINGS, lastServerId: FRANKFURT.id } }), [STOCKHOLM.id]);
    expect(m.iconState).toBe('disconnected');
    expect(m.tooltip).toBe('Umbra: Disconnected');
    expect(first(m)).toEqual({ kind: 'action', label: 'Connect to Frankfurt, Germany', action: { type: 'connect', serverId: FRANKFURT.id }, enabled: true });
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Disconnected' });
  });

  it('connecting: cancel first; the retry count and a block are said', () => {
    const m = model(mirror(status({ state: 'connecting', server: STOCKHOLM, attempt: 2, blocked: true, firewallActive: true })));
    expect(m.iconState).toBe('connecting');
    expect(m.tooltip).toBe('Umbra: Connecting to Stockholm, Sweden… (retry 2) · traffic blocked');
    expect(first(m)).toMatchObject({ label: 'Cancel', action: { type: 'disconnect' }, enabled: true });
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Connecting · Stockholm, Sweden (retry 2)' });
  });

  it('disconnecting: nothing to click until it is done', () => {
    const m = model(mirror(status({ state: 'disconnecting', server: STOCKHOLM })));
    expect(m.iconState).toBe('connecting');
    expect(m.tooltip).toBe('Umbra: Disconnecting…');
    expect(first(m)).toMatchObject({ label: 'Disconnecting…', enabled: false });
  });

  it('reconnecting: the server went silent; disconnect first, a block is said', () => {
    const m = model(mirror(status({ state: 'reconnecting', server: STOCKHOLM, blocked: true, addresses: ['100.64.0.2/32'] })));
    expect(m.iconState).toBe('connecting');
    expect(m.tooltip).toBe('Umbra: Reconnecting to Stockholm, Sweden: the server stopped answering… · traffic blocked');
    expect(first(m)).toEqual({ kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: true });
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Reconnecting · Stockholm, Sweden' });
    const open = model(mirror(status({ state: 'reconnecting', server: STOCKHOLM, firewallActive: true, attempt: 1 })));
    expect(open.tooltip).toBe('Umbra: Reconnecting to Stockholm, Sweden: the server stopped answering… (retry 1)');
  });

  it('blocked on boot while disconnected: says why and the way out, connect still first', () => {
    const m = model(mirror(status({ blocked: true, hold: 'boot' }), { settings: { ...SETTINGS, killSwitchOnBoot: true } }), [HOMELAB.id]);
    expect(m.iconState).toBe('blocked');
    expect(m.iconName).toBe('blocked-light');
    expect(m.tooltip).toBe('Umbra: Blocked: kill switch on boot — connect, or turn the setting off');
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Blocked · kill switch on boot' });
    expect(first(m)).toMatchObject({ label: 'Connect to homelab', action: { type: 'connect', serverId: HOMELAB.id } });
    expect(find(m, /^Lift the block/)).toBeUndefined();
  });

  it('blocked after a crash with unreadable settings: says why, and offers the disconnect that lifts it', () => {
    const m = model(mirror(status({ blocked: true, hold: 'unreadable-state' })), [HOMELAB.id]);
    expect(m.iconState).toBe('blocked');
    expect(m.tooltip).toBe('Umbra: Blocked: Umbra could not read its settings after a crash; connect, or disconnect to lift the block');
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Blocked · settings unreadable after a crash' });
    expect(first(m)).toMatchObject({ label: 'Connect to homelab' });
    expect(m.items[2]).toEqual({ kind: 'action', label: 'Lift the block (disconnect)', action: { type: 'disconnect' }, enabled: true });
  });

  it('lockdown while disconnected: says so, offers Connect and the one way to lift it', () => {
    const m = model(mirror(status({ blocked: true, hold: 'lockdown' }), { settings: { ...SETTINGS, lockdown: true } }), [HOMELAB.id]);
    expect(m.iconState).toBe('blocked');
    expect(m.tooltip).toBe('Umbra: Blocked: lockdown is on — connect, or turn lockdown off');
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Blocked · lockdown is on' });
    expect(first(m)).toMatchObject({ label: 'Connect to homelab' });
    expect(m.items[2]).toEqual({ kind: 'action', label: 'Turn lockdown off', action: { type: 'setLockdown', enabled: false }, enabled: true });
  });

  it('blocked on an untrusted network with no server: says so in the CLI\'s words, and names the network', () => {
    const network = { key: '0123456789abcdef', name: 'Café Wi-Fi', kind: 'wifi', rule: 'untrusted' } as const;
    const m = model(mirror(status({ blocked: true, hold: 'untrusted-network', network }), { servers: [] }));
    expect(m.iconState).toBe('blocked');
    expect(m.tooltip).toBe(`Umbra: ${HOLD_TEXT['untrusted-network']}`);
    expect(m.items[1]).toEqual({ kind: 'label', label: HOLD_LINE['untrusted-network'] });
    expect(m.items[2]).toMatchObject({ kind: 'submenu', label: 'Network: Café Wi-Fi — untrusted' });
  });

  it('the network line: its name and rule while the helper knows it, nothing without rules or with the helper gone', () => {
    const net = (rule: 'trusted' | 'untrusted' | 'ask') => ({ key: 'fedcba9876543210', name: 'Home', kind: 'gateway', rule }) as const;
    expect(find(model(mirror(connected(STOCKHOLM))), /^Network:/)).toBeUndefined();
    expect(find(model(mirror({ ...connected(STOCKHOLM), network: net('trusted') })), /^Network:/)).toMatchObject({ kind: 'submenu', label: 'Network: Home — trusted' });
    expect(find(model(mirror(status({ network: net('ask') }))), /^Network:/)).toMatchObject({ kind: 'submenu', label: 'Network: Home — not decided yet (ask)' });
    expect(find(model(mirror(status({ network: net('ask') }), { reachable: false })), /^Network:/)).toBeUndefined();
  });

  it("changes the shown network's rule from its submenu, and asks in the menu itself while the rule is ask", () => {
    const net = (rule: 'trusted' | 'untrusted' | 'ask') => ({ key: 'fedcba9876543210', name: 'Home', kind: 'gateway', rule }) as const;
    const menu = find(model(mirror(status({ network: net('trusted') }))), /^Network:/);
    expect(menu?.kind === 'submenu' && menu.items).toEqual([
      { kind: 'checkbox', label: 'Trusted: do nothing here', checked: true, enabled: false, action: { type: 'setNetworkRule', key: 'fedcba9876543210', rule: 'trusted' } },
      { kind: 'checkbox', label: 'Untrusted: connect, with the kill switch on', checked: false, enabled: true, action: { type: 'setNetworkRule', key: 'fedcba9876543210', rule: 'untrusted' } },
      { kind: 'checkbox', label: 'Ask each time', checked: false, enabled: true, action: { type: 'setNetworkRule', key: 'fedcba9876543210', rule: 'ask' } },
    ]);
    expect(find(model(mirror(status({ network: net('trusted') }))), /^Trust this network$/)).toBeUndefined();
    const asking = model(mirror(status({ network: net('ask') })));
    expect(find(asking, /^Trust this network$/)).toMatchObject({ kind: 'action', enabled: true, action: { type: 'setNetworkRule', key: 'fedcba9876543210', rule: 'trusted' } });
    expect(find(asking, /^Do not trust this network/)).toMatchObject({ action: { type: 'setNetworkRule', rule: 'untrusted' } });
  });

  it('Quit says what it leaves behind: the VPN, a block, or nothing', () => {
    const quit = (m: TrayModel) => m.items.at(-1)!;
    expect(quit(model(mirror(status({ state: 'reconnecting', server: HOMELAB, blocked: true }))))).toMatchObject({ label: 'Quit (the VPN stays on)', action: { type: 'quit' } });
    expect(quit(model(mirror(status({ blocked: true, hold: 'lockdown' }))))).toMatchObject({ label: 'Quit (traffic stays blocked)' });
    expect(quit(model(mirror(status())))).toMatchObject({ label: 'Quit' });
  });

  it('a block follows the kernel: a hold without a block in the kernel is not shown as blocking', () => {
    const m = model(mirror(status({ hold: 'unreadable-state', firewall: { wanted: 'block', kernel: 'none' } })));
    expect(m.iconState).toBe('disconnected');
    expect(m.tooltip).toBe('Umbra: Disconnected');
    expect(find(m, /^Lift the block/)).toBeUndefined();
  });

  it('blocked while disconnected for no stated reason: says only that it blocks', () => {
    const m = model(mirror(status({ blocked: true })));
    expect(m.tooltip).toBe('Umbra: Blocking traffic (kill switch)');
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Blocking traffic · kill switch' });
  });

  it('error with the kill switch blocking: blocked icon, the cause, and a way out', () => {
    const s = status({ state: 'error', server: STOCKHOLM, blocked: true, firewallActive: true, attempt: 3, error: { code: 'timeout', message: 'no handshake within 12 s: is the server up?' } });
    const m = model(mirror(s, { settings: { ...SETTINGS, killSwitch: true } }));
    expect(m.iconState).toBe('blocked');
    expect(m.tooltip).toBe('Umbra: Blocking traffic (kill switch) · Could not connect to Stockholm, Sweden: no handshake within 12 s: is the server up?');
    expect(first(m)).toMatchObject({ label: 'Disconnect', action: { type: 'disconnect' }, enabled: true });
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Blocking traffic · Could not connect to Stockholm, Sweden' });
  });

  it('error without a block: error icon', () => {
    const s = status({ state: 'error', server: FRANKFURT, error: { code: 'x', message: 'x'.repeat(300) } });
    const m = model(mirror(s));
    expect(m.iconState).toBe('error');
    expect(m.tooltip.startsWith('Umbra: Could not connect to Frankfurt, Germany: xxx')).toBe(true);
    expect(m.tooltip.length).toBeLessThan(160);
  });

  it('helper not running: error icon, nothing that needs the helper is enabled', () => {
    const m = model({ ...EMPTY_STATE, reachable: false, message: 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock): start it with …' }, [STOCKHOLM.id], 'light');
    expect(m.iconState).toBe('error');
    expect(m.iconName).toBe('error-dark');
    expect(m.tooltip).toBe('Umbra: helper not running');
    expect(first(m)).toMatchObject({ label: 'Connect', enabled: false });
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Helper not running' });
    expect(find(m, 'Kill switch')).toMatchObject({ enabled: false, checked: false });
    expect(find(m, 'Recent locations')).toMatchObject({ enabled: false });
    expect(find(m, 'Show window')).toMatchObject({ enabled: true });
    expect(find(m, 'Quit')).toMatchObject({ enabled: true });
  });

  it('helper not running after a block: says traffic is blocked, and that Quit leaves it', () => {
    const last = connected(STOCKHOLM, { blocked: true, firewallActive: true, firewall: { wanted: 'block', kernel: 'block' } });
    const m = model({ ...EMPTY_STATE, reachable: false, message: 'the connection to the Umbra helper was closed', lastStatus: last });
    expect(m.tooltip).toBe('Umbra: helper not running · your traffic is blocked by the kill switch');
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Helper not running · traffic blocked' });
    expect(find(m, /^Quit/)).toMatchObject({ label: 'Quit (traffic stays blocked)', enabled: true });
  });

  it('helper not running after a tunnel without a block: says the user is not protected', () => {
    const m = model({ ...EMPTY_STATE, reachable: false, message: 'the connection to the Umbra helper was closed', lastStatus: connected(STOCKHOLM, { blocked: false }) });
    expect(m.tooltip).toBe('Umbra: helper not running · you are not protected');
    expect(m.items[1]).toEqual({ kind: 'label', label: 'Helper not running · not protected' });
    expect(find(m, /^Quit/)).toMatchObject({ label: 'Quit' });
  });

  it('no permission on the socket: says what is wrong', () => {
    const m = model({ ...EMPTY_STATE, reachable: false, message: 'permission denied on /run/umbra/umbrad.sock: only root and members of the umbra group may control Umbra' });
    expect(m.tooltip).toBe('Umbra: not allowed to control the helper (join the umbra group)');
  });

  it('starting: no claims until the helper has answered', () => {
    for (const m of [model(EMPTY_STATE), model(mirror(undefined, { settings: undefined, servers: undefined }))]) {
      expect(m.iconState).toBe('disconnected');
      expect(m.tooltip).toBe('Umbra: starting…');
      expect(first(m)).toMatchObject({ enabled: false });
      expect(find(m, 'Kill switch')).toMatchObject({ checked: false });
    }
  });

  it('no servers yet: the first item opens the window to add one', () => {
    const m = model(mirror(status(), { servers: [] }));
    expect(first(m)).toEqual({ kind: 'action', label: 'Add a server…', action: { type: 'showWindow' }, enabled: true });
  });

  it('the icon name carries the tone for the panel', () => {
    expect(model(mirror(connected()), [], 'dark').iconName).toBe('connected-light');
    expect(model(mirror(connected()), [], 'light').iconName).toBe('connected-dark');
    expect(TRAY_ICON_NAMES).toHaveLength(10);
  });
});

describe('kill switch item', () => {
  it('is checked from the helper settings and toggles', () => {
    const on = model(mirror(connected(STOCKHOLM, { blocked: true, firewallActive: true }), { settings: { ...SETTINGS, killSwitch: true } }));
    expect(find(on, 'Kill switch')).toEqual({ kind: 'checkbox', label: 'Kill switch', checked: true, action: { type: 'setKillSwitch', enabled: false }, enabled: true });
    const off = model(mirror(connected()));
    expect(find(off, 'Kill switch')).toMatchObject({ checked: false, action: { type: 'setKillSwitch', enabled: true } });
  });

  it('says when its rules are not in the kernel while a tunnel is wanted', () => {
    const m = model(mirror(connected(STOCKHOLM, { blocked: false, firewallActive: false }), { settings: { ...SETTINGS, killSwitch: true } }));
    expect(find(m, /^Kill switch/)).toMatchObject({ label: 'Kill switch (rules not in the kernel!)', checked: true });
    // Only the guard in the kernel is not a kill switch.
    const guarded = model(mirror(connected(STOCKHOLM, { firewallActive: true }), { settings: { ...SETTINGS, killSwitch: true } }));
    expect(find(guarded, /^Kill switch/)).toMatchObject({ label: 'Kill switch (rules not in the kernel!)' });
    const reconnecting = model(mirror(status({ state: 'reconnecting', server: STOCKHOLM, firewallActive: true }), { settings: { ...SETTINGS, killSwitch: true } }));
    expect(find(reconnecting, /^Kill switch/)).toMatchObject({ label: 'Kill switch (rules not in the kernel!)' });
    const held = model(mirror(status({ state: 'reconnecting', server: STOCKHOLM, blocked: true }), { settings: { ...SETTINGS, killSwitch: true } }));
    expect(find(held, /^Kill switch/)).toMatchObject({ label: 'Kill switch' });
  });

  it('says so when the helper wants a block the kernel does not hold, whatever the setting', () => {
    const m = model(mirror(status({ hold: 'boot', firewall: { wanted: 'block', kernel: 'foreign' } })));
    expect(find(m, /^Kill switch/)).toMatchObject({ label: 'Kill switch (rules not in the kernel!)', checked: false });
    expect(find(model(mirror(status())), /^Kill switch/)).toMatchObject({ label: 'Kill switch' });
  });
});

describe('recent locations', () => {
  it('lists known recent servers in order, the connected one marked and not clickable', () => {
    const m = model(mirror(connected(FRANKFURT)), [FRANKFURT.id, 'gone-server', STOCKHOLM.id, HOMELAB.id]);
    const sub = find(m, 'Recent locations');
    expect(sub?.kind).toBe('submenu');
    if (sub?.kind !== 'submenu') return;
    expect(sub.items).toEqual([
      { kind: 'action', label: 'Frankfurt, Germany (connected)', action: { type: 'connect', serverId: FRANKFURT.id }, enabled: false },
      { kind: 'action', label: 'Stockholm, Sweden', action: { type: 'connect', serverId: STOCKHOLM.id }, enabled: true },
      { kind: 'action', label: 'homelab', action: { type: 'connect', serverId: HOMELAB.id }, enabled: true },
    ]);
  });

  it('says when there are none', () => {
    const sub = find(model(mirror(status())), 'Recent locations');
    expect(sub).toMatchObject({ kind: 'submenu', items: [{ kind: 'label', label: 'No recent locations' }] });
  });
});

describe('helpers', () => {
  it('labels a location by city and country, else by name', () => {
    expect(locationLabel(STOCKHOLM)).toBe('Stockholm, Sweden');
    expect(locationLabel(HOMELAB)).toBe('homelab');
    expect(locationLabel({ ...HOMELAB, country: 'Norway' })).toBe('Norway');
  });

  it('picks the connect target: server in play, last used, most recent, first', () => {
    const base = mirror(status());
    expect(connectTarget({ ...base, status: status({ state: 'error', server: HOMELAB }) }, [])?.id).toBe(HOMELAB.id);
    expect(connectTarget({ ...base, settings: { ...SETTINGS, lastServerId: FRANKFURT.id } }, [HOMELAB.id])?.id).toBe(FRANKFURT.id);
    expect(connectTarget(base, ['gone', HOMELAB.id])?.id).toBe(HOMELAB.id);
    expect(connectTarget(base, [])?.id).toBe(STOCKHOLM.id);
    expect(connectTarget({ ...base, servers: [] }, [STOCKHOLM.id])).toBeUndefined();
  });

  it('maps every state to an icon', () => {
    expect(iconStateOf(mirror(status({ state: 'disconnecting' })))).toBe('connecting');
    expect(iconStateOf(mirror(status({ state: 'reconnecting', blocked: true })))).toBe('connecting');
    expect(iconStateOf(mirror(status({ state: 'error', blocked: true })))).toBe('blocked');
    expect(iconStateOf({ ...EMPTY_STATE, reachable: false })).toBe('error');
  });

  it('picks the panel tone: override, GNOME-like desktops, then the theme', () => {
    expect(panelTone({ UMBRA_TRAY_PANEL: 'light', XDG_CURRENT_DESKTOP: 'GNOME' }, true)).toBe('light');
    expect(panelTone({ XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' }, false)).toBe('dark');
    expect(panelTone({ XDG_CURRENT_DESKTOP: 'KDE' }, false)).toBe('light');
    expect(panelTone({ XDG_CURRENT_DESKTOP: 'KDE' }, true)).toBe('dark');
    expect(panelTone({}, false)).toBe('light');
  });

  it('builds an Electron menu template whose clicks dispatch the actions', () => {
    const m = model(mirror(connected(FRANKFURT)), [STOCKHOLM.id]);
    const dispatched: TrayAction[] = [];
    const template = toMenuTemplate(m.items, (a) => dispatched.push(a));
    expect(template.map((t) => t.type)).toEqual(['normal', 'normal', 'separator', 'submenu', 'checkbox', 'separator', 'normal', 'normal']);
    expect(template[1]).toMatchObject({ label: 'Connected · Frankfurt, Germany', enabled: false });
    expect(template[4]).toMatchObject({ checked: false, enabled: true });
    const click = (t: (typeof template)[number] | undefined) => (t?.click as unknown as (() => void) | undefined)?.();
    click(template[0]);
    click((template[3]?.submenu as typeof template)[0]);
    click(template[4]);
    click(template[7]);
    expect(dispatched).toEqual([{ type: 'disconnect' }, { type: 'connect', serverId: STOCKHOLM.id }, { type: 'setKillSwitch', enabled: true }, { type: 'quit' }]);
  });
});
