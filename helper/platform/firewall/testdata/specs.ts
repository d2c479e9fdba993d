// Firewall specs the unit tests share: connected under the kill switch, with IPv4 and IPv6
// tunnel addresses, and the guard (connected without the kill switch) built from it.
import { UMBRA_FWMARK } from '../../routing/constants.js';
import type { FirewallSpec } from '../ruleset.js';

export const CONNECTED: FirewallSpec = {
  block: true,
  tunnelInterface: 'umbra0',
  tunnelAddresses: ['100.64.0.2', '2001:db8:64::2'],
  tunnelsIpv6: true,
  endpoints: [{ address: '203.0.113.2', port: 51820 }],
  fwmark: UMBRA_FWMARK,
  dnsServers: ['100.64.0.53'],
  lookupResolvers: [],
  allowLan: false,
};

export const GUARD: FirewallSpec = { ...CONNECTED, block: false, dnsServers: [], allowLan: false };
