// Trusted networks in the dev fake: the one network the fake machine is on, remembered with the
// rule for networks never seen once the rules are on, and a setNetwork as the helper answers it.
import type { KnownNetwork, NetworkRules, Params, UmbraError } from '../api.js';

const CAFE: Omit<KnownNetwork, 'rule'> = { key: '0c0ffee0c0ffee00', name: 'Café Wi-Fi', kind: 'wifi' };

/** The rules with the fake's network in them (seen now, with the rule for networks never seen), and that network. */
export function fakeNetworkSeen(rules: NetworkRules): { rules: NetworkRules; network: KnownNetwork } {
  const known = rules.known.find((n) => n.key === CAFE.key);
  if (known) return { rules, network: known };
  const network = { ...CAFE, rule: rules.unseen };
  return { rules: { ...rules, known: [...rules.known, network] }, network };
}

/** The rules after a setNetwork; throws the helper's error for a network it does not know. */
export function fakeSetNetwork(rules: NetworkRules | null | undefined, current: KnownNetwork | undefined, p: Params<'setNetwork'>): NetworkRules {
  const key = p.key === 'current' ? current?.key : p.key;
  const network = rules?.known.find((n) => n.key === key);
  if (!rules || !network) throw { code: -32002, message: p.key === 'current' ? 'the network this machine is on is not known yet: see umbra networks' : `no network "${p.key}": umbra networks lists them` } satisfies UmbraError;
  // Forgotten, the fake's own network is seen anew (fakeNetworkSeen adds it back on the next status).
  if (p.forget) return { ...rules, known: rules.known.filter((n) => n.key !== network.key) };
  const next = { ...network, ...(p.rule ? { rule: p.rule } : {}), ...(p.name ? { name: p.name } : {}) };
  return { ...rules, known: rules.known.map((n) => (n.key === next.key ? next : n)) };
}
