// LAN DNS (Settings.lanDns) as the DNS check sees it. resolv.conf then names the helper's own
// forwarder on loopback, which says nothing of where names go; so the forwarder is replaced by
// what it forwards to: the tunnel's DNS servers (judged by their route, like any resolver), and
// the LAN servers, marked as expected outside the tunnel for the domains the user named. Pure.
import type { LanDns } from '../ipc/schema.js';
import { LAN_FORWARDER_ADDRESS } from '../platform/dns/lan-forwarder.js';
import type { ResolverSource } from './probes.js';

export type JudgedSource = ResolverSource & { expectedFor?: string[] };

export function throughLanForwarder(sources: readonly ResolverSource[], lanDns: LanDns | null | undefined, tunnelDns: readonly string[]): JudgedSource[] {
  const fwd = sources.find((s) => s.address === LAN_FORWARDER_ADDRESS);
  if (!fwd || !lanDns) return [...sources];
  const via = `through Umbra's LAN DNS forwarder (${fwd.source})`;
  const out: JudgedSource[] = sources.filter((s) => s !== fwd);
  for (const address of tunnelDns) if (!out.some((s) => s.address === address)) out.push({ address, source: `${via}, every other name` });
  for (const address of lanDns.servers) out.push({ address, source: `${via}, names under ${lanDns.domains.join(', ')}`, expectedFor: [...lanDns.domains] });
  return out;
}
