// The user's own DNS servers (Settings.dnsServers) in place of a profile's DNS: every connect's
// config carries them, so the firewall lets DNS reach them through the tunnel only, the helper
// points the system's resolver at them, and the leak check expects them. Pure.
import type { WgQuickConfig } from '../config/wg-quick.js';

/** The config a connect uses: the profile's, with `dnsServers` as its DNS when the user set them. */
export function withUserDns(cfg: WgQuickConfig, dnsServers: readonly string[] | null | undefined): WgQuickConfig {
  if (!dnsServers || dnsServers.length === 0) return cfg;
  return { ...cfg, interface: { ...cfg.interface, dns: [...dnsServers] } };
}

/** Whether a settings change alters the DNS a connection uses (then a wanted connection is made again). */
export function userDnsChanged(before: readonly string[] | null | undefined, after: readonly string[] | null | undefined): boolean {
  return (before ?? []).join(',') !== (after ?? []).join(',');
}
