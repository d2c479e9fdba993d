// `umbra networks`: the trusted-networks rules. List them (the network the machine is on marked),
// set one network's rule or name, or the rule for networks never seen (`off`: the helper stops
// looking at networks). Parsing and formatting are pure; run() makes the calls.
import type { IpcClient } from '../ipc/client.js';
import { NetworkRule, type NetworkRules, type TunnelStatus } from '../ipc/schema.js';
import { UsageError } from './args.js';

export type NetworksCommand =
  | { name: 'networks' }
  | { name: 'networks-set'; key: string; rule?: NetworkRule; networkName?: string }
  | { name: 'networks-forget'; key: string }
  | { name: 'networks-default'; rule: NetworkRule | 'off' };

const USAGE = 'usage: umbra networks | networks set KEY|current trusted|untrusted|ask [--name NAME] | networks forget KEY|current | networks default untrusted|ask|trusted|off';

export const NETWORKS_USAGE = `  networks                        the networks the helper has seen, each with its rule; * marks
                                  the one this machine is on
  networks set KEY|current RULE [--name NAME]
                                  a network's rule: trusted (nothing is done), untrusted (connect,
                                  kill switch on, blocked from the moment it appears) or ask;
                                  --name: what it is called (RULE may be left out with --name)
  networks forget KEY|current     forget a network: its name and rule go (the one this machine
                                  is on is seen anew, with the rule for networks never seen)
  networks default RULE|off       the rule for networks never seen (untrusted is the safe one);
                                  off: the helper does not look at networks`;

function ruleOf(word: string): NetworkRule {
  const r = NetworkRule.safeParse(word.toLowerCase());
  if (!r.success) throw new UsageError(`"${word}" is not a rule: trusted, untrusted or ask`);
  return r.data;
}

export function parseNetworks(rest: string[], networkName: string | undefined): NetworksCommand {
  const [verb, ...args] = rest;
  if (verb === undefined) {
    if (networkName !== undefined) throw new UsageError('--name goes with networks set: umbra networks set KEY --name NAME');
    return { name: 'networks' };
  }
  if (verb === 'set') {
    const [key, rule, ...extra] = args;
    if (key === undefined || extra.length > 0 || (rule === undefined && networkName === undefined)) throw new UsageError(USAGE);
    return { name: 'networks-set', key: key.toLowerCase(), ...(rule !== undefined ? { rule: ruleOf(rule) } : {}), ...(networkName !== undefined ? { networkName } : {}) };
  }
  if (verb === 'forget' && args.length === 1 && networkName === undefined) return { name: 'networks-forget', key: args[0]!.toLowerCase() };
  if (verb === 'default' && args.length === 1 && networkName === undefined) return { name: 'networks-default', rule: args[0]!.toLowerCase() === 'off' ? 'off' : ruleOf(args[0]!) };
  throw new UsageError(USAGE);
}

export function formatNetworks(rules: NetworkRules | null | undefined, current: TunnelStatus['network']): string[] {
  if (!rules) return ['Trusted networks: off (umbra networks default untrusted turns them on)'];
  const lines = [`Networks never seen: ${rules.unseen}`];
  if (rules.known.length === 0) lines.push('No networks seen yet.');
  for (const n of rules.known) lines.push(`${n.key === current?.key ? '*' : ' '} ${n.key}  ${n.rule.padEnd(9)}  ${n.kind.padEnd(7)}  ${n.name}`);
  if (current && !rules.known.some((n) => n.key === current.key)) lines.push(`* ${current.key}  ${current.rule.padEnd(9)}  ${current.kind.padEnd(7)}  ${current.name}`);
  return lines;
}

export async function runNetworks(client: IpcClient, cmd: NetworksCommand): Promise<{ json: unknown; lines: string[] }> {
  switch (cmd.name) {
    case 'networks': {
      const [settings, status] = await Promise.all([client.call('getSettings'), client.call('status')]);
      return { json: { rules: settings.networks ?? null, current: status.network ?? null }, lines: formatNetworks(settings.networks, status.network) };
    }
    case 'networks-set':
    case 'networks-forget': {
      const change = cmd.name === 'networks-forget' ? { forget: true as const } : { ...(cmd.rule ? { rule: cmd.rule } : {}), ...(cmd.networkName ? { name: cmd.networkName } : {}) };
      const rules = await client.call('setNetwork', { key: cmd.key, ...change });
      const status = await client.call('status');
      return { json: rules, lines: formatNetworks(rules, status.network) };
    }
    case 'networks-default': {
      const before = (await client.call('getSettings')).networks;
      const networks = cmd.rule === 'off' ? null : { unseen: cmd.rule, known: before?.known ?? [] };
      const settings = await client.call('setSettings', { networks });
      const status = await client.call('status');
      return { json: settings.networks ?? null, lines: formatNetworks(settings.networks, status.network) };
    }
  }
}
