// Addresses, link state, routes and policy rules for the tunnel, in `ip`'s (iproute2's) words:
// applyTunnelRouting makes wg-quick's scheme in one `ip -batch -` command (two when IPv6 has a
// /0: `ip rule` needs -6 for IPv6 and a batch line takes no options), because the tunnel's first
// packet waits for the routes. The helper's runner does these commands through rtnetlink in the
// process (ip-library.ts); any other runner, as `ip` processes. Every change it makes is recorded
// with its undo in a ChangeSet (DESIGN.md, convention 5).
//
// The scheme (DESIGN.md, "Routing"), per address family that has a /0 in AllowedIPs:
//   ip route add <0.0.0.0/0 | ::/0> dev <tun> table T
//   ip rule add not fwmark M table T                 -> unmarked traffic looks up table T
//   ip rule add table main suppress_prefixlength 0   -> but more specific main routes (the LAN,
//                                                       other AllowedIPs) still win
// Rules added without a priority go above the existing ones, so the second rule is looked up
// before the first. The helper's own encrypted UDP carries mark M (set elsewhere), skips table T
// and leaves through the main table's default route, so it never loops into the tunnel.
// AllowedIPs that are not /0 become plain routes via the tunnel in the main table.
//
// Split tunnelling (excludedMark): per family with a /0, after the two rules above,
//   ip rule add fwmark X table main                  -> excluded traffic (marked by the firewall)
//                                                       looks up main before `not fwmark M` can
//                                                       send it into the tunnel
// Added last, it is looked up first. It sends excluded traffic past table T only: main-table
// routes into the tunnel (AllowedIPs that are not /0) still take it. Where a family has no /0
// there is no table T to skip, so no rule. applyExcludedRouting adds the same rule on its own, for
// exclusion turned on while the tunnel's routing is in place (it must come after that routing's
// rules, which it does by being added later).
//
// IPv6 with ::/0 but no IPv6 address on the tunnel: ::/0 is still routed into the tunnel, where
// the server drops it (the source is not the peer's). That keeps IPv6 from leaking past the
// tunnel instead of quietly using the uplink. The tunnel device must have IPv6 enabled for this
// (the kernel refuses with "IPv6 is disabled on nexthop device"; that error is passed on).
//
// Not done here: rp_filter/src_valid_mark handling and the marking of the helper's packets
// belong to the firewall module (nftables), like wg-quick's nft rules.
//
// Undos tolerate "already gone" (e.g. the TUN device was closed first, taking its addresses and
// routes with it): the aim of an undo is the state without the change, and that holds.
//
// `ip -batch` stops at the first failing line and names it ("Command failed -:N"), so exactly the
// lines before it are recorded as done, and the error names the failing change as a command.
import { formatPrefix, parsePrefix, type Prefix } from '../../net/ip.js';
import { CommandError, type CommandRunner } from '../exec.js';
import type { ChangeSet } from '../undo.js';

type Family = 4 | 6;
/** A routing table by number, or the main table. */
type Table = number | 'main';

interface RouteSpec {
  dest: Prefix;
  dev: string;
  /** Defaults to main. */
  table?: Table;
}

interface RuleSpec {
  family: Family;
  /** Inverts the selector: `not fwmark M` matches packets without mark M. */
  not?: boolean;
  fwmark?: number;
  table: Table;
  suppressPrefixLength?: number;
}

export interface TunnelRoutingOptions {
  dev: string;
  /** The interface's own addresses (host bits kept), e.g. from the config's Address. */
  addresses: Prefix[];
  mtu: number;
  /** All peers' AllowedIPs. */
  allowedIPs: Prefix[];
  fwmark: number;
  table: number;
  /** Split tunnelling: traffic with this mark (EXCLUDED_FWMARK) skips the tunnel's table. */
  excludedMark?: number;
  /** No IPv6 link-local address (and so no router solicitations) on the link: for a tunnel that carries no IPv6 (ipv6-off.ts). */
  noLinkLocal?: boolean;
}

const DEVICE_GONE = /Cannot find device/i;
const ADDRESS_GONE = /Cannot find device|address not found|Cannot assign requested address/i;
const ROUTE_GONE = /Cannot find device|No such process/i;
const RULE_GONE = /No such file or directory/i;

function assertDev(dev: string): void {
  if (!/^[^\s/:]{1,15}$/.test(dev) || dev === '.' || dev === '..') throw new TypeError(`"${dev}" is not a valid interface name`);
}

function assertUint(n: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${what} must be an integer from ${min} to ${max}, not ${n}`);
}

function assertTable(t: Table): void {
  if (t === 'main') return;
  assertUint(t, 1, 0xffffffff, 'a routing table');
  // 253, 254, 255 are default, main and local: not a table of our own.
  if (t >= 253 && t <= 255) throw new RangeError(`routing table ${t} is reserved by the kernel`);
}

const familyFlag = (f: Family) => (f === 4 ? '-4' : '-6');
const hex = (n: number) => `0x${n.toString(16)}`;

/** Runs an undo command, treating "already gone" as done. */
async function undoCommand(run: CommandRunner, argv: string[], gone: RegExp): Promise<void> {
  try {
    await run.run(argv);
  } catch (e) {
    if (e instanceof CommandError && gone.test(e.stderr)) return;
    throw e;
  }
}

function parseLinkShow(dev: string, stdout: string): { mtu: number; up: boolean } {
  let link: unknown;
  try {
    link = (JSON.parse(stdout) as unknown[])[0];
  } catch {
    link = undefined;
  }
  const l = link as { mtu?: unknown; flags?: unknown } | undefined;
  if (!l || typeof l.mtu !== 'number' || !Array.isArray(l.flags)) {
    throw new Error(`could not read the state of ${dev} from "ip -j link show"`);
  }
  return { mtu: l.mtu, up: l.flags.includes('UP') };
}

function routeArgs(spec: RouteSpec): string[] {
  const table = spec.table ?? 'main';
  return [formatPrefix(spec.dest), 'dev', spec.dev, ...(table === 'main' ? [] : ['table', String(table)])];
}

/** The selector and action of a rule, in the words of `ip rule` (also used to delete it). */
function ruleArgs(spec: RuleSpec): string[] {
  const out: string[] = [];
  if (spec.not) out.push('not');
  if (spec.fwmark !== undefined) out.push('fwmark', hex(spec.fwmark));
  out.push('table', String(spec.table));
  if (spec.suppressPrefixLength !== undefined) out.push('suppress_prefixlength', String(spec.suppressPrefixLength));
  return out;
}

/** The prefix routes the kernel adds itself for an interface's addresses (adding them again fails). */
function kernelPrefixRoutes(addresses: Prefix[]): Set<string> {
  const out = new Set<string>();
  for (const a of addresses) {
    // IPv4 /32 gets no main-table route; IPv6 gets one for every prefix, /128 included.
    if (a.family === 4 && a.prefix === 32) continue;
    out.add(formatPrefix(parsePrefix(formatPrefix(a))));
  }
  return out;
}

/** One change of a batch: its line for `ip -batch`, and its undo as a whole command. */
interface BatchChange {
  label: string;
  line: string[];
  undo: string[];
  gone: RegExp;
}

function ruleChange(spec: RuleSpec, label: string): BatchChange {
  return { label, line: ['rule', 'add', ...ruleArgs(spec)], undo: ['ip', familyFlag(spec.family), 'rule', 'del', ...ruleArgs(spec)], gone: RULE_GONE };
}

const excludedRule = (family: Family, mark: number) => ruleChange({ family, fwmark: mark, table: 'main' }, `IPv${family} rule fwmark ${hex(mark)} table main (excluded from the VPN)`);

/**
 * The changes of the scheme, in order, as lines for `ip -batch`: addresses, the link, specific
 * routes (IPv4, then IPv6; most specific first, as wg-quick), then per family with a /0 its
 * table's route and the two rules.
 */
function planTunnelRouting(opts: TunnelRoutingOptions): { first: BatchChange[]; rules6: BatchChange[] } {
  const { dev, mtu, fwmark, table } = opts;
  const first: BatchChange[] = [];
  const rules6: BatchChange[] = [];
  for (const a of opts.addresses) {
    const flag = familyFlag(a.family);
    first.push({
      label: `address ${formatPrefix(a)} on ${dev}`,
      line: ['address', 'add', formatPrefix(a), 'dev', dev],
      undo: ['ip', flag, 'address', 'del', formatPrefix(a), 'dev', dev],
      gone: ADDRESS_GONE,
    });
  }
  // Before the link goes up (with `up` in the same line the kernel has made the address already).
  // No undo: the setting is the TUN's and goes with it.
  if (opts.noLinkLocal) first.push({ label: `no IPv6 link-local on ${dev}`, line: ['link', 'set', 'dev', dev, 'addrgenmode', 'none'], undo: [], gone: DEVICE_GONE });
  // The undo of the link change is filled in by the caller, from the link's state before.
  first.push({ label: `${dev} up with mtu ${mtu}`, line: ['link', 'set', 'dev', dev, 'mtu', String(mtu), 'up'], undo: [], gone: DEVICE_GONE });
  const unique = new Map<string, Prefix>();
  for (const c of opts.allowedIPs) unique.set(formatPrefix(c), c);
  const allowed = [...unique.values()];
  const kernelRoutes = kernelPrefixRoutes(opts.addresses);
  const route = (dest: Prefix, t: Table | undefined): BatchChange => {
    const spec = { dest, dev, table: t };
    return {
      label: `route ${formatPrefix(dest)} dev ${dev}${t === undefined ? '' : ` table ${t}`}`,
      line: ['route', 'add', ...routeArgs(spec)],
      undo: ['ip', familyFlag(dest.family), 'route', 'del', ...routeArgs(spec)],
      gone: ROUTE_GONE,
    };
  };
  const specific = allowed.filter((c) => c.prefix > 0).sort((a, b) => a.family - b.family || b.prefix - a.prefix);
  for (const dest of specific) if (!kernelRoutes.has(formatPrefix(dest))) first.push(route(dest, undefined));
  for (const family of [4, 6] as const) {
    const dest = allowed.find((c) => c.prefix === 0 && c.family === family);
    if (!dest) continue;
    // The table gets its route before the rules send traffic to it, so nothing slips past; the
    // IPv6 rules' batch runs only after the first one (with ::/0 in the table) has succeeded.
    first.push(route(dest, table));
    const rules = family === 4 ? first : rules6;
    rules.push(
      ruleChange({ family, not: true, fwmark, table }, `IPv${family} rule not fwmark ${hex(fwmark)} table ${table}`),
      ruleChange({ family, table: 'main', suppressPrefixLength: 0 }, `IPv${family} rule table main suppress_prefixlength 0`),
    );
    if (opts.excludedMark !== undefined) rules.push(excludedRule(family, opts.excludedMark));
  }
  return { first, rules6 };
}

/**
 * Runs `ip [flags] -batch -` with the changes' lines; records the undo of each line that was
 * applied, in order, and throws (a CommandError) if one failed.
 */
async function runBatch(run: CommandRunner, changes: ChangeSet, flags: string[], batch: BatchChange[]): Promise<void> {
  const input = batch.map((c) => `${c.line.join(' ')}\n`).join('');
  let applied = batch.length;
  let failure: unknown;
  try {
    await run.run(['ip', ...flags, '-batch', '-'], { input });
  } catch (e) {
    failure = e;
    const failed = e instanceof CommandError ? /Command failed -:(\d+)/.exec(e.stderr) : null;
    if (failed) {
      applied = Math.min(batch.length, Number(failed[1]) - 1);
      // Named as the command that failed, as if it had run alone: what a person can retry.
      const line = batch[applied];
      const err = e as CommandError;
      if (line) failure = new CommandError(['ip', ...flags, ...line.line], err.exitCode, err.stderr.replace(/^Command failed -:\d+\s*$/m, ''));
    } else if (e instanceof CommandError && e.exitCode === null) applied = 0; // could not be started
    // Otherwise (killed half-way, say) any line may have been applied: all are kept, and their
    // undos treat "already gone" as done.
  }
  for (const c of batch.slice(0, applied)) if (c.undo.length > 0) changes.add(c.label, () => undoCommand(run, c.undo, c.gone));
  if (failure !== undefined) throw failure;
}

/**
 * Puts the tunnel's addresses and MTU on `dev`, brings it up and routes the AllowedIPs into it the
 * way wg-quick does (see the top of this file), with one `ip -batch` process (two with an IPv6
 * /0). Every change is recorded in `changes`; if a line fails, this throws (a CommandError naming
 * that change) and `changes.undoAll()` removes exactly the lines that were applied. `linkBefore`
 * is the link's MTU and up state as the caller knows it (e.g. from the kernel, for a TUN it just
 * created); without it one `ip -j link show` runs first, for the undo of the MTU and link state.
 */
export async function applyTunnelRouting(
  run: CommandRunner,
  changes: ChangeSet,
  opts: TunnelRoutingOptions,
  linkBefore?: { mtu: number; up: boolean },
): Promise<void> {
  const { dev, mtu, fwmark, table } = opts;
  assertDev(dev);
  assertUint(mtu, 576, 65535, 'the MTU');
  assertUint(fwmark, 1, 0xffffffff, 'the fwmark');
  assertTable(table);
  if (opts.excludedMark !== undefined) assertExcludedMark(opts.excludedMark, fwmark);
  const before = linkBefore ?? parseLinkShow(dev, (await run.run(['ip', '-j', 'link', 'show', 'dev', dev])).stdout);
  const { first, rules6 } = planTunnelRouting(opts);
  const link = first.find((c) => c.line[0] === 'link' && c.line.includes('up'))!;
  link.undo = ['ip', 'link', 'set', 'dev', dev, 'mtu', String(before.mtu), ...(before.up ? [] : ['down'])];
  await runBatch(run, changes, [], first);
  if (rules6.length > 0) await runBatch(run, changes, ['-6'], rules6);
}

function assertExcludedMark(mark: number, fwmark: number | undefined): void {
  assertUint(mark, 1, 0xffffffff, 'the excluded mark');
  if (mark === fwmark) throw new RangeError(`the excluded mark must differ from the tunnel's fwmark (${hex(mark)})`);
}

/**
 * Split tunnelling on its own: `ip rule add fwmark <mark> table main` for each family given (those
 * whose tunnel routing has a /0; IPv6 only where the kernel has it), recorded in `changes`. Needed
 * only while the tunnel's routing is in place, and only after it (see the top of this file):
 * without table T everything looks up main already, and the rule is harmless.
 */
export async function applyExcludedRouting(run: CommandRunner, changes: ChangeSet, opts: { mark: number; fwmark?: number; families: Family[] }): Promise<void> {
  assertExcludedMark(opts.mark, opts.fwmark);
  if (opts.families.includes(4)) await runBatch(run, changes, [], [excludedRule(4, opts.mark)]);
  if (opts.families.includes(6)) await runBatch(run, changes, ['-6'], [excludedRule(6, opts.mark)]);
}
