import { describe, expect, it } from 'vitest';
import { salvageSettings } from './settings-salvage.js';

const BASE = { killSwitch: true, killSwitchOnBoot: false, allowLan: false, autoConnect: false };

describe('settings.json: LAN DNS (lanDns)', () => {
  it('kept when it checks', () => {
    const lanDns = { domains: ['corp.example', 'lan'], servers: ['198.51.100.53', '2001:db8::53'] };
    expect(salvageSettings({ ...BASE, lanDns }).settings.lanDns).toEqual(lanDns);
  });

  it('a bad value is dropped (no exception, the safe value), never widened or partly kept', () => {
    for (const lanDns of [
      { domains: ['.corp.example'], servers: ['198.51.100.53'] },
      { domains: ['Corp.Example'], servers: ['198.51.100.53'] },
      { domains: ['corp.example'], servers: ['198.51.100.53', 'resolver.lan'] },
      { domains: ['corp.example'], servers: ['198.51.100.53', '198.51.100.54', '198.51.100.55'] },
      { domains: [], servers: ['198.51.100.53'] },
      { domains: Array.from({ length: 9 }, (_, i) => `d${i}.example`), servers: ['198.51.100.53'] },
      { domains: ['corp.example'], servers: ['198.51.100.53'], extra: true },
      'corp.example via 198.51.100.53',
    ]) {
      const s = salvageSettings({ ...BASE, lanDns });
      expect(s.settings.lanDns, JSON.stringify(lanDns)).toBeUndefined();
      expect(s.notes).toEqual(['"lanDns" could not be read; using its default']);
      expect(s.settings.killSwitch).toBe(true);
    }
  });
});
