// The tunnel routing the lab tests apply unless they say otherwise: tun0, one IPv4 address, both
// default routes, Umbra's mark and table.
import { parsePrefix } from '../../../net/ip.js';
import { UMBRA_FWMARK, UMBRA_TABLE } from '../constants.js';
import type { TunnelRoutingOptions } from '../routes.js';

export const cidr = (t: string) => parsePrefix(t);
export const address = (t: string) => parsePrefix(t, { keepHostBits: true });

export function labRouting(over: Partial<TunnelRoutingOptions> = {}): TunnelRoutingOptions {
  return {
    dev: 'tun0',
    addresses: [address('100.64.0.2/32')],
    mtu: 1420,
    allowedIPs: [cidr('0.0.0.0/0'), cidr('::/0')],
    fwmark: UMBRA_FWMARK,
    table: UMBRA_TABLE,
    ...over,
  };
}
