// No IPv6 on a tunnel that carries none: no address and no IPv6 AllowedIPs. Left alone, the
// kernel gives the new TUN a link-local address when it goes up and sends router solicitations
// into the tunnel (the server drops them; the helper wakes up to read each one). The routing
// batch sets the link's address generation to none before it brings the link up (routes.ts):
// netlink, so it works inside umbrad.service, whose ProtectKernelTunables= makes the
// disable_ipv6 sysctl read-only. The setting belongs to the device and goes with it.
import { existsSync } from 'node:fs';
import type { Prefix } from '../../net/ip.js';

/** Whether a tunnel with these addresses and AllowedIPs has nothing to do with IPv6. */
export function carriesNoIpv6(addresses: readonly Prefix[], allowedIPs: readonly Prefix[]): boolean {
  return !addresses.some((a) => a.family === 6) && !allowedIPs.some((p) => p.family === 6);
}

/** Whether this kernel has IPv6 at all (without it there is no link-local to avoid, and `addrgenmode` fails). */
export const kernelHasIpv6 = (): boolean => existsSync('/proc/sys/net/ipv6');
