import { describe, expect, it } from 'vitest';
import { ACTION_TTL_MS, actionOfCall, decideNotification, NotificationTracker } from './notifications.js';
import { connected, FRANKFURT, status, STOCKHOLM } from './testing/fakes.js';

const up = connected(STOCKHOLM, { blocked: true, firewallActive: true });
const upOpen = connected(STOCKHOLM);
const retrying = status({ state: 'connecting', server: STOCKHOLM, blocked: true, firewallActive: true, attempt: 1, error: { code: 'lost', message: 'the server stopped answering' } });

describe('decideNotification', () => {
  it('a tunnel that drops by itself: say so, and whether traffic is blocked', () => {
    expect(decideNotification(up, retrying, undefined)).toEqual({
      kind: 'dropped', title: 'Umbra',
      body: 'Umbra: the VPN connection dropped — reconnecting; your traffic is blocked (the server stopped answering)',
    });
    const open = decideNotification(upOpen, status({ state: 'connecting', server: STOCKHOLM }), undefined);
    expect(open?.body).toBe('Umbra: the VPN connection dropped — reconnecting; your traffic is not protected until it is back');
    expect(decideNotification(up, status({ state: 'error', server: STOCKHOLM, blocked: true }), undefined)?.kind).toBe('dropped');
  });

  it('a server that stops answering: reconnecting, with the tunnel kept up, and whether traffic is blocked', () => {
    const lost = status({ state: 'reconnecting', server: STOCKHOLM, blocked: true, error: { code: 'NO_HANDSHAKE', message: 'no answer from Stockholm 1' } });
    expect(decideNotification(up, lost, undefined)).toEqual({
      kind: 'dropped', title: 'Umbra',
      body: 'Umbra: the VPN server stopped answering — reconnecting; your traffic is blocked until it is back (no answer from Stockholm 1)',
    });
    const open = decideNotification(upOpen, status({ state: 'reconnecting', server: STOCKHOLM, firewallActive: true }), undefined);
    expect(open?.body).toBe('Umbra: the VPN server stopped answering — reconnecting (the tunnel stays up; the kill switch is off)');
    // Said once: what follows a reconnect is not another drop.
    expect(decideNotification(lost, status({ state: 'connecting', server: STOCKHOLM, blocked: true }), undefined)).toBeUndefined();
    expect(decideNotification(lost, up, undefined)).toBeUndefined();
    expect(decideNotification(up, lost, 'disconnect')).toBeUndefined();
  });

  it('nothing on what the user did: disconnect here or elsewhere, switching servers', () => {
    expect(decideNotification(up, status({ state: 'disconnecting', server: STOCKHOLM }), 'disconnect')).toBeUndefined();
    expect(decideNotification(up, status({ state: 'disconnecting', server: STOCKHOLM }), undefined)).toBeUndefined();
    expect(decideNotification(up, status(), undefined)).toBeUndefined();
    expect(decideNotification(up, status({ state: 'connecting', server: FRANKFURT, blocked: true }), 'connect')).toBeUndefined();
  });

  it('a block that comes on unexpectedly while there is no tunnel', () => {
    const blocked = status({ blocked: true, firewallActive: true });
    expect(decideNotification(status(), blocked, undefined)).toEqual({
      kind: 'blocking', title: 'Umbra',
      body: 'Umbra: kill switch is blocking traffic: nothing leaves this computer until you connect or turn the kill switch off',
    });
    expect(decideNotification(status({ state: 'error' }), status({ state: 'error', blocked: true }), undefined)?.kind).toBe('blocking');
  });

  it('a block held while disconnected says why and the way out', () => {
    expect(decideNotification(status(), status({ blocked: true, hold: 'boot' }), undefined)?.body).toBe('Umbra: Blocked: kill switch on boot — connect, or turn the setting off');
    expect(decideNotification(status(), status({ blocked: true, hold: 'unreadable-state' }), undefined)?.body).toBe(
      'Umbra: Blocked: Umbra could not read its settings after a crash; connect, or disconnect to lift the block',
    );
    // A hold the kernel does not carry out is no block to tell of.
    expect(decideNotification(status(), status({ hold: 'boot', firewall: { wanted: 'block', kernel: 'none' } }), undefined)).toBeUndefined();
  });

  it('no block notice when the block is expected or protective', () => {
    const connectingBlocked = status({ state: 'connecting', server: STOCKHOLM, blocked: true });
    expect(decideNotification(status(), connectingBlocked, 'connect')).toBeUndefined();
    expect(decideNotification(status(), connectingBlocked, undefined)).toBeUndefined();
    expect(decideNotification(upOpen, up, 'killSwitchOn')).toBeUndefined();
    expect(decideNotification(upOpen, up, undefined)).toBeUndefined();
    expect(decideNotification(status({ state: 'error' }), status({ state: 'error', blocked: true }), 'killSwitchOn')).toBeUndefined();
    expect(decideNotification(status({ blocked: true }), status({ blocked: true }), undefined)).toBeUndefined();
  });

  it('a network whose rule is ask: asked once on arriving, not on every status there', () => {
    const net = (key: string, rule: 'trusted' | 'ask') => ({ key, name: 'Café', kind: 'wifi', rule }) as const;
    const asked = decideNotification(status({ network: net('a', 'trusted') }), status({ network: net('b', 'ask') }), undefined);
    expect(asked).toMatchObject({ kind: 'ask', body: expect.stringContaining('“Café”') });
    expect(decideNotification(status(), status({ network: net('b', 'ask') }), 'connect')?.kind).toBe('ask');
    expect(decideNotification(status({ network: net('b', 'ask') }), status({ network: net('b', 'ask'), rxBytes: 9 }), undefined)).toBeUndefined();
    // Made "ask" here and now: asked too (a rule put back to ask is a question again).
    expect(decideNotification(status({ network: net('b', 'trusted') }), status({ network: net('b', 'ask') }), undefined)?.kind).toBe('ask');
    expect(decideNotification(status({ network: net('b', 'ask') }), status({ network: net('b', 'trusted') }), undefined)).toBeUndefined();
  });

  it('nothing without a previous status', () => {
    expect(decideNotification(undefined, status({ blocked: true }), undefined)).toBeUndefined();
  });
});

describe('NotificationTracker', () => {
  it('a drop after a connect the user made here is still reported', () => {
    let now = 0;
    const t = new NotificationTracker(() => now);
    t.onStatus(status());
    t.noteAction('connect');
    expect(t.onStatus(status({ state: 'connecting', server: STOCKHOLM, blocked: true }))).toBeUndefined();
    expect(t.onStatus(up)).toBeUndefined();
    now += 1000;
    expect(t.onStatus(retrying)?.kind).toBe('dropped');
  });

  it('switching servers from the app is not a drop', () => {
    const t = new NotificationTracker(() => 0);
    t.onStatus(up);
    t.noteAction('connect');
    expect(t.onStatus(status({ state: 'connecting', server: FRANKFURT, blocked: true }))).toBeUndefined();
  });

  it('an old action no longer explains a change', () => {
    let now = 0;
    const t = new NotificationTracker(() => now);
    t.onStatus(status({ state: 'error', server: STOCKHOLM }));
    t.noteAction('killSwitchOn');
    now += ACTION_TTL_MS + 1;
    expect(t.onStatus(status({ state: 'error', server: STOCKHOLM, blocked: true }))?.kind).toBe('blocking');
  });

  it('a kill switch turned on here explains the block that follows, even after other statuses', () => {
    const t = new NotificationTracker(() => 0);
    t.onStatus(status({ state: 'error', server: STOCKHOLM }));
    t.noteAction('killSwitchOn');
    expect(t.onStatus(status({ state: 'error', server: STOCKHOLM, attempt: 2 }))).toBeUndefined();
    expect(t.onStatus(status({ state: 'error', server: STOCKHOLM, attempt: 2, blocked: true }))).toBeUndefined();
  });

  it('starts over after reset (the helper went away)', () => {
    const t = new NotificationTracker(() => 0);
    t.onStatus(up);
    t.reset();
    expect(t.onStatus(retrying)).toBeUndefined();
  });
});

describe('actionOfCall', () => {
  it('maps the window calls that change the tunnel or the kill switch', () => {
    expect(actionOfCall('connect', { serverId: 'x' })).toBe('connect');
    expect(actionOfCall('disconnect', {})).toBe('disconnect');
    expect(actionOfCall('setSettings', { killSwitch: true })).toBe('killSwitchOn');
    expect(actionOfCall('setSettings', { killSwitch: false })).toBe('killSwitchOff');
    expect(actionOfCall('setSettings', { allowLan: true })).toBeUndefined();
    expect(actionOfCall('listServers', {})).toBeUndefined();
  });
});
