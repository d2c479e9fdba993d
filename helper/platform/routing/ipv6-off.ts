// IPv6 off on a tunnel that carries none: no address and no IPv6 AllowedIPs. Left on, the kernel
// gives the new TUN a link-local address when it goes up and sends router solicitations into
// the tunnel (the server drops them; the helper wakes up to read each one). The sysctl belongs to
// the device and goes with it, so its undo is the TUN's own close. Written to /proc directly: a
// `sysctl` process would cost milliseconds on the way to the first packet.
import { writeFileSync } from 'node:fs';
import type { Prefix } from '../../net/ip.js';

/** Whether a tunnel with these addresses and AllowedIPs has nothing to do with IPv6. */
export function carriesNoIpv6(addresses: readonly Prefix[], allowedIPs: readonly Prefix[]): boolean {
  return !addresses.some((a) => a.family === 6) && !allowedIPs.some((p) => p.family === 6);
}

/** The sysctl file for `dev`; undefined for a name that could step out of its folder. */
export function disableIpv6Path(dev: string): string | undefined {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$/.test(dev)) return undefined;
  return `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
}

/**
 * Turns IPv6 off on `dev`, before it goes up. Best effort: where the kernel has no IPv6 at all the
 * file does not exist, and nothing needs turning off; false when it was not written.
 */
export function turnIpv6Off(dev: string, write: (path: string, text: string) => void = (p, t) => writeFileSync(p, t)): boolean {
  const path = disableIpv6Path(dev);
  if (!path) return false;
  try {
    write(path, '1');
    return true;
  } catch {
    return false;
  }
}
