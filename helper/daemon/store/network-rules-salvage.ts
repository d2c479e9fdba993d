// Reading the trusted-networks rules of settings.json so that a bad value never lowers
// protection: the rules stay on, a rule that does not check is "untrusted" (the safe value), a
// name that does not check is a plain one, and only an entry whose key does not check is dropped
// (it could never match a network). Pure.
import { KnownNetwork, MAX_KNOWN_NETWORKS, NetworkKey, NetworkKind, NetworkRule, type NetworkRules } from '../../ipc/schema.js';

const SAFE_RULE: NetworkRule = 'untrusted';

export function salvageNetworkRules(raw: unknown): { rules: NetworkRules; notes: string[] } {
  const notes: string[] = [];
  const o = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const unseen = NetworkRule.safeParse(o.unseen);
  if (!unseen.success) notes.push('"networks.unseen" could not be read; using untrusted, the safe value');
  const known: KnownNetwork[] = [];
  const entries = Array.isArray(o.known) ? o.known : [];
  if (!Array.isArray(o.known)) notes.push('"networks.known" could not be read; starting with no known networks');
  for (const e of entries.slice(0, MAX_KNOWN_NETWORKS)) {
    const entry = typeof e === 'object' && e !== null ? (e as Record<string, unknown>) : {};
    const key = NetworkKey.safeParse(entry.key);
    if (!key.success || known.some((n) => n.key === key.data)) {
      notes.push('dropped a known network whose key could not be read');
      continue;
    }
    const whole = KnownNetwork.safeParse(entry);
    if (whole.success) {
      known.push(whole.data);
      continue;
    }
    const rule = NetworkRule.safeParse(entry.rule);
    const kind = NetworkKind.safeParse(entry.kind);
    const name = KnownNetwork.shape.name.safeParse(entry.name);
    if (!rule.success) notes.push(`network ${key.data}: its rule could not be read; using untrusted, the safe value`);
    known.push({ key: key.data, name: name.success ? name.data : `network ${key.data}`, kind: kind.success ? kind.data : 'gateway', rule: rule.success ? rule.data : SAFE_RULE });
  }
  return { rules: { unseen: unseen.success ? unseen.data : SAFE_RULE, known }, notes };
}
