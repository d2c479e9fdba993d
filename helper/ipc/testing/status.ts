// A TunnelStatus for tests, built from only the fields a test cares about. The three firewall
// fields agree unless a test sets them apart on purpose: `firewall` when given decides the other
// two; else `blocked` means a block in the kernel and `firewallActive` alone means the guard.
import type { FirewallKind, TunnelStatus } from '../schema.js';

type KernelKind = TunnelStatus['firewall']['kernel'];

function kernelOf(blocked: boolean | undefined, active: boolean | undefined): KernelKind {
  if (blocked) return 'block';
  return active ? 'guard' : 'none';
}

export function tunnelStatus(overrides: Partial<TunnelStatus> = {}): TunnelStatus {
  const kernel = overrides.firewall?.kernel ?? kernelOf(overrides.blocked, overrides.firewallActive);
  const wanted: FirewallKind = overrides.firewall?.wanted ?? (kernel === 'foreign' ? 'none' : kernel);
  return {
    state: 'disconnected',
    addresses: [],
    dns: [],
    rxBytes: 0,
    txBytes: 0,
    attempt: 0,
    ...overrides,
    blocked: overrides.blocked ?? kernel === 'block',
    firewallActive: overrides.firewallActive ?? kernel !== 'none',
    firewall: { wanted, kernel },
  };
}
