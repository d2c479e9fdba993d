// Trusted and untrusted networks, pure: which network the machine is on as the helper last said
// (its rule and name from the rules, which a setNetwork answer updates before the next status),
// and the words for each rule.
import type { KnownNetwork, NetworkRule, Settings, TunnelStatus } from '../../api.js';

export const RULES: readonly { rule: NetworkRule; label: string; what: string }[] = [
  { rule: 'trusted', label: 'Trusted', what: 'do nothing' },
  { rule: 'untrusted', label: 'Untrusted', what: 'connect automatically, kill switch on' },
  { rule: 'ask', label: 'Ask', what: 'do nothing until you answer' },
];

/** The network the machine is on, with its name and rule as the rules now hold them. */
export function currentNetwork(status: TunnelStatus | null, settings: Settings | null): KnownNetwork | undefined {
  const now = status?.network;
  if (!now || !settings?.networks) return undefined;
  return settings.networks.known.find((n) => n.key === now.key) ?? now;
}
