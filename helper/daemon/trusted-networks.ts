// Trusted and untrusted networks (issue 17), the pure half: given the rules, the network the
// machine is on and who wants the tunnel, what the helper does. The network guard
// (network-guard.ts) feeds it what the link monitor and the identity sources say and runs the
// answer through the state machine's driver.
//
// - untrusted: the kill switch is forced on and the tunnel connects (on arrival: the user's own
//   disconnect there lifts the block until the network changes); the block comes first, and
//   already when a network appears whose rule is not known yet (before DHCP finishes), because
//   the rules could make it untrusted.
// - trusted: nothing is done; a connection the rules made is taken down, the user's stays.
// - ask: nothing is done until the user answers (the tray asks); a connection the rules made stays
//   up (that is the safe side) and follows the new path.
// - a network change while the tunnel is wanted: the tunnel reconnects on the new path, the block
//   held throughout when anything forces it.
import { MAX_KNOWN_NETWORKS, type KnownNetwork, type NetworkRule, type NetworkRules } from '../ipc/schema.js';

export interface SeenNetwork {
  key: string;
  kind: KnownNetwork['kind'];
  /** The sources' default name, used the first time it is seen. */
  name: string;
}

/** Who wants the tunnel: no one, the user (connect), or the rules (an untrusted network). */
export type Wanted = 'idle' | 'user' | 'rules';

export interface GuardView {
  /** The rules; undefined: trusted networks are off (the guard does not run). */
  rules: NetworkRules;
  wanted: Wanted;
  /** A server to connect to is known (the last one used). */
  canConnect: boolean;
}

export type Action =
  | 'none'
  /** Block while disconnected (no server to connect to, or the rule not known yet). */
  | 'hold'
  /** Lift a block this guard holds while disconnected. */
  | 'release'
  | 'connect'
  /** The tunnel stays wanted: a fresh handshake on the new path. */
  | 'reconnect'
  /** The rules' connection goes (the user's never does). */
  | 'disconnect';

export interface Decision {
  action: Action;
  /** Whether the kill switch is forced on while the tunnel is wanted. */
  force: boolean;
  /** The network's rule is "ask": the UI should ask. */
  ask: boolean;
  /** First sight: the known networks with this one remembered (with the rule for unseen networks). */
  known?: KnownNetwork[];
}

export function ruleOf(rules: NetworkRules, key: string): NetworkRule {
  return rules.known.find((n) => n.key === key)?.rule ?? rules.unseen;
}

/** Whether a network not identified yet could be untrusted under these rules. */
export function mayBeUntrusted(rules: NetworkRules): boolean {
  return rules.unseen === 'untrusted' || rules.known.some((n) => n.rule === 'untrusted');
}

/**
 * A network may have appeared (a carrier up, a default route added): which network is not known
 * yet. Blocks now when it may be untrusted, or when the tunnel is wanted (no packet leaves on a
 * new path outside it).
 */
export function onAppeared(v: GuardView): Decision {
  const block = mayBeUntrusted(v.rules) || v.wanted !== 'idle';
  if (!block) return { action: 'none', force: false, ask: false };
  return { action: v.wanted === 'idle' ? 'hold' : 'none', force: true, ask: false };
}

/**
 * The network has been identified (or there is none: undefined). `moved`: it is another network
 * than before, or it appeared again (a carrier, a default route); otherwise only something small
 * changed (an address), and a user's own disconnect on an untrusted network is left alone.
 */
export function onIdentified(v: GuardView, network: SeenNetwork | undefined, moved: boolean): Decision {
  if (!network) {
    // Offline, or a network that says nothing we can identify: keep whatever holds; nothing to connect over.
    const unknown = mayBeUntrusted(v.rules);
    return { action: unknown && v.wanted === 'idle' ? 'hold' : 'none', force: unknown || v.wanted === 'rules', ask: false };
  }
  const known = v.rules.known.some((n) => n.key === network.key);
  const rule = ruleOf(v.rules, network.key);
  const added = known ? undefined : withKnown(v.rules, { key: network.key, name: network.name, kind: network.kind, rule });
  const remember = added ? { known: added } : {};
  const follow: Action = moved ? 'reconnect' : 'none';
  switch (rule) {
    case 'untrusted':
      if (v.wanted !== 'idle') return { action: follow, force: true, ask: false, ...remember };
      // Only on arriving: a user who disconnected here stays disconnected until the network changes.
      return { action: moved ? (v.canConnect ? 'connect' : 'hold') : 'none', force: true, ask: false, ...remember };
    case 'trusted':
      if (v.wanted === 'rules') return { action: 'disconnect', force: false, ask: false, ...remember };
      return { action: v.wanted === 'user' ? follow : 'release', force: false, ask: false, ...remember };
    case 'ask':
      if (v.wanted === 'rules') return { action: follow, force: true, ask: true, ...remember };
      return { action: v.wanted === 'user' ? follow : 'release', force: false, ask: true, ...remember };
  }
}

/** What status says of the network: its key, the user's name for it (else the default) and its rule. */
export function networkStatus(rules: NetworkRules, network: SeenNetwork): KnownNetwork {
  const known = rules.known.find((n) => n.key === network.key);
  return { key: network.key, name: known?.name ?? network.name, kind: network.kind, rule: known?.rule ?? rules.unseen };
}

/**
 * The known networks with `entry` added. At the limit the oldest one whose rule is the rule for
 * unseen networks makes room (forgetting it loses only its name: it would get that rule again);
 * undefined when every one has a rule of its own.
 */
function withKnown(rules: NetworkRules, entry: KnownNetwork): KnownNetwork[] | undefined {
  if (rules.known.length < MAX_KNOWN_NETWORKS) return [...rules.known, entry];
  const i = rules.known.findIndex((n) => n.rule === rules.unseen);
  return i < 0 ? undefined : [...rules.known.slice(0, i), ...rules.known.slice(i + 1), entry];
}

/** The rules with one network's rule or name changed (added when it was not known); undefined when there is no room for it. */
export function withNetwork(rules: NetworkRules, network: SeenNetwork, change: { rule?: NetworkRule; name?: string }): NetworkRules | undefined {
  const i = rules.known.findIndex((n) => n.key === network.key);
  const before: KnownNetwork = i >= 0 ? rules.known[i]! : { key: network.key, name: network.name, kind: network.kind, rule: rules.unseen };
  const after: KnownNetwork = { ...before, ...(change.rule ? { rule: change.rule } : {}), ...(change.name ? { name: change.name } : {}) };
  const known = i >= 0 ? rules.known.map((n, j) => (j === i ? after : n)) : withKnown(rules, after);
  return known && { ...rules, known };
}

/** The rules without one network (it is then seen anew, with the rule for unseen networks). */
export function withoutNetwork(rules: NetworkRules, key: string): NetworkRules {
  return { ...rules, known: rules.known.filter((n) => n.key !== key) };
}
