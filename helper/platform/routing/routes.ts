// Addresses, link state, routes and policy rules for the tunnel, with `ip` (iproute2). Each
// function makes one change and returns its undo (DESIGN.md, convention 5); applyTunnelRouting
// composes them into wg-quick's scheme and records every undo in a ChangeSet.
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
// applyTunnelRoutingBatch makes the same changes with one `ip -batch -` process (two when IPv6
// has a /0: `ip rule` needs -6 for IPv6 and a batch line takes no options), because each `ip`
// process costs milliseconds and the tunnel's first packet waits for the routes. `ip -batch`
// stops at the first failing line and names it ("Command failed -:N"), so exactly the lines
// before it are recorded as done.
import { formatPrefix, parsePrefix, type Prefix } from '../../net/ip.js';
import { CommandError, type CommandRunner } from '../exec.js';
import type { ChangeSet, Undo } from '../undo.js';

export type Family = 4 | 6;
/** A routing table by number, or the main table. */
export type Table = number | 'main';

export interface RouteSpec {
  dest: Prefix;
  dev: string;
  /** Defaults to main. */
  table?: Table;
}

export interface RuleSpec {
  family: Family;
  /** Inverts the selector: `not fwmark M` matches packets without mark M. */
  not?: boolean;
  fwmark?: number;
  table: Table;
  suppressPrefixLength?: number;
  /** Leave unset to let the kernel put the rule above the existing ones (as wg-quick does). */
  priority?: number;
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

/** `ip address add` an interface address (host bits kept, e.g. 100.64.1.2/24). */
export async function addAddress(run: CommandRunner, dev: string, cidr: Prefix): Promise<Undo> {
  assertDev(dev);
  const args = [familyFlag(cidr.family), 'address'];
  await run.run(['ip', ...args, 'add', formatPrefix(cidr), 'dev', dev]);
  return () => undoCommand(run, ['ip', ...args, 'del', formatPrefix(cidr), 'dev', dev], ADDRESS_GONE);
}

/** Sets the MTU and brings the link up; the undo restores the MTU and the up/down state it had. */
export async function setLinkUp(run: CommandRunner, dev: string, mtu: number): Promise<Undo> {
  assertDev(dev);
  assertUint(mtu, 576, 65535, 'the MTU');
  const before = parseLinkShow(dev, (await run.run(['ip', '-j', 'link', 'show', 'dev', dev])).stdout);
  await run.run(['ip', 'link', 'set', 'dev', dev, 'mtu', String(mtu), 'up']);
  const restore = ['ip', 'link', 'set', 'dev', dev, 'mtu', String(before.mtu), ...(before.up ? [] : ['down'])];
  return () => undoCommand(run, restore, DEVICE_GONE);
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

/** `ip route add <dest> dev <dev> [table T]`; the undo deletes that exact route. */
export async function addRoute(run: CommandRunner, spec: RouteSpec): Promise<Undo> {
  assertDev(spec.dev);
  if (spec.table !== undefined) assertTable(spec.table);
  const flag = familyFlag(spec.dest.family);
  await run.run(['ip', flag, 'route', 'add', ...routeArgs(spec)]);
  return () => undoCommand(run, ['ip', flag, 'route', 'del', ...routeArgs(spec)], ROUTE_GONE);
}

/** The selector and action of a rule, in the words of `ip rule` (also used to delete it). */
export function ruleArgs(spec: RuleSpec): string[] {
  const out: string[] = [];
  if (spec.priority !== undefined) out.push('priority', String(spec.priority));
  if (spec.not) out.push('not');
  if (spec.fwmark !== undefined) out.push('fwmark', hex(spec.fwmark));
  out.push('table', String(spec.table));
  if (spec.suppressPrefixLength !== undefined) out.push('suppress_prefixlength', String(spec.suppressPrefixLength));
  return out;
}

/** `ip rule add ...`; the undo deletes the rule by the same spec (never `ip rule flush`). */
export async function addRule(run: CommandRunner, spec: RuleSpec): Promise<Undo> {
  assertTable(spec.table);
  if (spec.fwmark !== undefined) assertUint(spec.fwmark, 1, 0xffffffff, 'the fwmark');
  if (spec.priority !== undefined) assertUint(spec.priority, 1, 0xfffffffe, 'the rule priority');
  if (spec.suppressPrefixLength !== undefined) assertUint(spec.suppressPrefixLength, 0, spec.family === 4 ? 32 : 128, 'suppress_prefixlength');
  const flag = familyFlag(spec.family);
  await run.run(['ip', flag, 'rule', 'add', ...ruleArgs(spec)]);
  return () => undoCommand(run, ['ip', flag, 'rule', 'del', ...ruleArgs(spec)], RULE_GONE);
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

/**
 * Puts the tunnel's addresses and MTU on `dev`, brings it up and routes the AllowedIPs into it the
 * way wg-quick does (see the top of this file). Every change is recorded in `changes` as it is
 * made; if a step fails, this throws and `changes.undoAll()` removes exactly what was done.
 */
export async function applyTunnelRouting(run: CommandRunner, changes: ChangeSet, opts: TunnelRoutingOptions): Promise<void> {
  const { dev, mtu, fwmark, table } = opts;
  assertDev(dev);
  assertUint(mtu, 576, 65535, 'the MTU');
  assertUint(fwmark, 1, 0xffffffff, 'the fwmark');
  assertTable(table);

  for (const a of opts.addresses) {
    await changes.apply(`address ${formatPrefix(a)} on ${dev}`, () => addAddress(run, dev, a));
  }
  await changes.apply(`${dev} up with mtu ${mtu}`, () => setLinkUp(run, dev, mtu));

  const unique = new Map<string, Prefix>();
  for (const c of opts.allowedIPs) unique.set(formatPrefix(c), c);
  const allowed = [...unique.values()];
  const kernelRoutes = kernelPrefixRoutes(opts.addresses);

  // Specific routes first (IPv4, then IPv6; most specific first, as wg-quick), then the defaults.
  const specific = allowed.filter((c) => c.prefix > 0).sort((a, b) => a.family - b.family || b.prefix - a.prefix);
  for (const dest of specific) {
    if (kernelRoutes.has(formatPrefix(dest))) continue;
    await changes.apply(`route ${formatPrefix(dest)} dev ${dev}`, () => addRoute(run, { dest, dev }));
  }
  for (const family of [4, 6] as const) {
    const dest = allowed.find((c) => c.prefix === 0 && c.family === family);
    if (!dest) continue;
    // The table gets its route before the rules send traffic to it, so nothing slips past.
    await changes.apply(`route ${formatPrefix(dest)} dev ${dev} table ${table}`, () => addRoute(run, { dest, dev, table }));
    await changes.apply(`IPv${family} rule not fwmark ${hex(fwmark)} table ${table}`, () =>
      addRule(run, { family, not: true, fwmark, table }),
    );
    await changes.apply(`IPv${family} rule table main suppress_prefixlength 0`, () =>
      addRule(run, { family, table: 'main', suppressPrefixLength: 0 }),
    );
  }
}

/** One change of a batch: its line for `ip -batch`, and its undo as a whole command. */
interface BatchChange {
  label: string;
  line: string[];
  undo: string[];
  gone: RegExp;
}

/**
 * The changes of applyTunnelRouting, in its order, as lines for `ip -batch` (kept in step with
 * it by hand; routing-batch.lab.test.ts checks that both leave the kernel in the same state).
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
    for (const spec of [{ family, not: true, fwmark, table }, { family, table: 'main' as const, suppressPrefixLength: 0 }]) {
      rules.push({
        label: spec.fwmark !== undefined ? `IPv${family} rule not fwmark ${hex(fwmark)} table ${table}` : `IPv${family} rule table main suppress_prefixlength 0`,
        line: ['rule', 'add', ...ruleArgs(spec)],
        undo: ['ip', familyFlag(family), 'rule', 'del', ...ruleArgs(spec)],
        gone: RULE_GONE,
      });
    }
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
    if (failed) applied = Math.min(batch.length, Number(failed[1]) - 1);
    else if (e instanceof CommandError && e.exitCode === null) applied = 0; // could not be started
    // Otherwise (killed half-way, say) any line may have been applied: all are kept, and their
    // undos treat "already gone" as done.
  }
  for (const c of batch.slice(0, applied)) changes.add(c.label, () => undoCommand(run, c.undo, c.gone));
  if (failure !== undefined) throw failure;
}

/**
 * The same changes as applyTunnelRouting, with one `ip -batch` process (two with an IPv6 /0),
 * recorded in `changes` the same way: on failure, `changes.undoAll()` removes exactly the lines
 * that were applied. `linkBefore` is the link's MTU and up state as the caller knows it (e.g.
 * from the kernel, for a TUN it just created); without it one `ip -j link show` runs first, for
 * the undo of the MTU and link state.
 */
export async function applyTunnelRoutingBatch(
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
  const before = linkBefore ?? parseLinkShow(dev, (await run.run(['ip', '-j', 'link', 'show', 'dev', dev])).stdout);
  const { first, rules6 } = planTunnelRouting(opts);
  const link = first.find((c) => c.line[0] === 'link')!;
  link.undo = ['ip', 'link', 'set', 'dev', dev, 'mtu', String(before.mtu), ...(before.up ? [] : ['down'])];
  await runBatch(run, changes, [], first);
  if (rules6.length > 0) await runBatch(run, changes, ['-6'], rules6);
}
