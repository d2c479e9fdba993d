import { describe, expect, it } from 'vitest';
import { salvageNetworkRules } from './network-rules-salvage.js';
import { salvageSettings } from './settings-salvage.js';

const HOME = { key: '0123456789abcdef', name: 'Home', kind: 'wifi', rule: 'trusted' };

describe('salvageNetworkRules: what cannot be read never lowers protection', () => {
  it('keeps what checks', () => {
    expect(salvageNetworkRules({ unseen: 'ask', known: [HOME] })).toEqual({ rules: { unseen: 'ask', known: [HOME] }, notes: [] });
  });

  it('a bad rule is untrusted; a bad name or kind a plain one; a bad or repeated key is dropped', () => {
    const { rules, notes } = salvageNetworkRules({
      unseen: 'sometimes',
      known: [{ ...HOME, rule: 'trusted!' }, { ...HOME, key: 'fedcba9876543210', name: '' , kind: 'bluetooth' }, { ...HOME, key: 'NOT-A-KEY' }, HOME, 'junk'],
    });
    expect(rules).toEqual({
      unseen: 'untrusted',
      known: [
        { ...HOME, rule: 'untrusted' },
        { key: 'fedcba9876543210', name: 'network fedcba9876543210', kind: 'gateway', rule: 'trusted' },
      ],
    });
    expect(notes.length).toBeGreaterThanOrEqual(4);
    expect(notes.join('\n')).not.toContain('Home'); // values are not quoted in the log
  });

  it('settings.json: networks that do not check stay on, safely; other settings as before', () => {
    const s = salvageSettings({ killSwitch: false, killSwitchOnBoot: false, allowLan: false, autoConnect: false, networks: { unseen: 7, known: 'x' } });
    expect(s.settings.networks).toEqual({ unseen: 'untrusted', known: [] });
    expect(salvageSettings({ killSwitch: false, killSwitchOnBoot: false, allowLan: false, autoConnect: false, networks: null }).settings.networks).toBeNull();
    expect(salvageSettings({ killSwitch: false, killSwitchOnBoot: false, allowLan: false, autoConnect: false }).settings.networks).toBeUndefined();
  });
});
