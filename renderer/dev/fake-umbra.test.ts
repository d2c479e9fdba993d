import { afterEach, describe, expect, it } from 'vitest';
import type { HelperEvent } from '../api.js';
import { mapLocations } from '../features/server-picker/locations.js';
import { createFakeUmbra, makeServers, type FakeUmbra } from './fake-umbra.js';

let fake: FakeUmbra | undefined;
afterEach(() => fake?.control.dispose());

describe('the development fake', () => {
  it('has a few hundred servers in real cities, valid as the schema wants them', () => {
    const servers = makeServers();
    expect(servers.length).toBeGreaterThan(200);
    expect(mapLocations(servers).length).toBeGreaterThanOrEqual(40);
    expect(new Set(servers.map((s) => s.id)).size).toBe(servers.length);
    for (const s of servers) {
      expect(s.id).toMatch(/^[a-z0-9][a-z0-9._-]*$/);
      expect(s.publicKey).toHaveLength(44);
      expect(s.endpoint).toMatch(/^198\.51\.100\.\d+:\d+$/);
    }
  });

  it('pushes events before it replies, like the helper', async () => {
    fake = createFakeUmbra({ connectMs: 5, tickMs: 0 });
    const events: HelperEvent[] = [];
    const snap = await fake.subscribe((e) => events.push(e));
    expect(snap.status.state).toBe('disconnected');
    const reply = await fake.call('connect', { serverId: 'es-madrid-1' });
    expect(reply.state).toBe('connecting');
    expect(events.map((e) => (e.type === 'status' ? e.status.state : e.type))).toEqual(['settings', 'connecting']);
    await new Promise((r) => setTimeout(r, 20));
    expect(events.at(-1)).toMatchObject({ type: 'status', status: { state: 'connected' } });
  });

  it('holds the firewall policy per state, and a server can fall silent (reconnecting)', async () => {
    fake = createFakeUmbra({ connectMs: 5, tickMs: 0 });
    const events: HelperEvent[] = [];
    await fake.subscribe((e) => events.push(e));
    const last = () => fake!.control.state().status;
    await fake.call('connect', { serverId: 'es-madrid-1' });
    expect(last()).toMatchObject({ state: 'connecting', blocked: false, firewallActive: false, firewall: { wanted: 'none', kernel: 'none' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(last()).toMatchObject({ state: 'connected', blocked: false, firewallActive: true, firewall: { wanted: 'guard', kernel: 'guard' } });
    await fake.call('setSettings', { killSwitch: true });
    expect(last()).toMatchObject({ state: 'connected', blocked: true, firewall: { kernel: 'block' } });

    fake.control.silenceServer();
    expect(last()).toMatchObject({ state: 'reconnecting', blocked: true, error: { code: 'NO_HANDSHAKE' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(last()).toMatchObject({ state: 'connected', blocked: true });
    expect(last().error).toBeUndefined();

    await fake.call('disconnect', {});
    await new Promise((r) => setTimeout(r, 20));
    expect(last()).toMatchObject({ state: 'disconnected', blocked: false, firewallActive: false, firewall: { wanted: 'none', kernel: 'none' } });
    expect(events.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.status.state : ''))).toContain('reconnecting');
  });

  it('refuses what the helper refuses, as values', async () => {
    fake = createFakeUmbra();
    await expect(fake.call('connect', { serverId: 'nowhere' })).rejects.toEqual({ code: -32002, message: 'no server "nowhere": list them with `umbra servers`' });
    await expect(fake.call('importConfig', { text: 'hello' })).rejects.toMatchObject({ code: -32003 });
    fake.control.setReachable(false);
    await expect(fake.subscribe(() => {})).rejects.toMatchObject({ code: 'not-running' });
  });
  it('with network rules on, is on one network that a rename or a rule changes; off, on none', async () => {
    fake = createFakeUmbra({ connectMs: 5, tickMs: 0 });
    await fake.subscribe(() => undefined);
    const on = await fake.call('setSettings', { networks: { unseen: 'ask', known: [] } });
    const network = fake.control.state().status.network;
    expect(network).toMatchObject({ name: 'Café Wi-Fi', rule: 'ask' });
    expect(on.networks?.known).toEqual([network]);
    const rules = await fake.call('setNetwork', { key: 'current', rule: 'trusted', name: 'Corner café' });
    expect(rules.known).toEqual([{ ...network, rule: 'trusted', name: 'Corner café' }]);
    expect(fake.control.state().status.network).toEqual(rules.known[0]);
    await expect(fake.call('setNetwork', { key: '0000000000000000', rule: 'ask' })).rejects.toMatchObject({ code: -32002 });
    await fake.call('setSettings', { networks: null });
    expect(fake.control.state().status.network).toBeUndefined();
  });
});
