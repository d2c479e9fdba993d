import { describe, expect, it } from 'vitest';
import { TunnelStatus } from '../schema.js';
import { tunnelStatus } from './status.js';

describe('tunnelStatus (test fixture)', () => {
  it('is a valid status whose firewall fields agree', () => {
    const cases = [
      [tunnelStatus(), { blocked: false, firewallActive: false, firewall: { wanted: 'none', kernel: 'none' } }],
      [tunnelStatus({ blocked: true }), { blocked: true, firewallActive: true, firewall: { wanted: 'block', kernel: 'block' } }],
      [tunnelStatus({ firewallActive: true }), { blocked: false, firewallActive: true, firewall: { wanted: 'guard', kernel: 'guard' } }],
      [tunnelStatus({ firewall: { wanted: 'block', kernel: 'foreign' } }), { blocked: false, firewallActive: true, firewall: { wanted: 'block', kernel: 'foreign' } }],
    ] as const;
    for (const [s, want] of cases) {
      expect(TunnelStatus.parse(s)).toEqual(s);
      expect(s).toMatchObject(want);
    }
  });

  it('keeps what a test sets apart on purpose', () => {
    expect(tunnelStatus({ blocked: true, firewallActive: false })).toMatchObject({ blocked: true, firewallActive: false, firewall: { kernel: 'block' } });
    expect(tunnelStatus({ state: 'reconnecting', hold: 'boot' })).toMatchObject({ state: 'reconnecting', hold: 'boot' });
  });
});
