// The firewall in the kernel: applies, reads back and removes our tables (`inet umbra`, plus
// `arp umbra` for the CVE-2019-14899 guard; see ruleset.ts) with `nft` (through a CommandRunner,
// so the lab runs it inside a namespace), and a watchdog that puts them back when someone
// flushes, replaces or edits them (DESIGN.md, "Firewall policy per state").
//
// Every change is ONE `nft -f -` transaction (see ruleset.ts): the kernel commits it whole or not
// at all, so there is nothing to validate first (`nft -c` would check the same batch). Operations
// of one Firewall run one at a time, in the order they were called.
//
// Tamper detection: the inet table's comment carries the policy and a hash of the spec it was
// built from; after each apply the Firewall also keeps the kernel's own listing of both tables, so
// a rule added, changed or deleted inside them (same comment), or the arp table deleted, is
// noticed too.
import { CommandError, type CommandRunner } from '../exec.js';
import type { RulesetEvents } from './ruleset-monitor.js';
import {
  ARP_TABLE_FAMILY, buildRuleset, hasArpTable, parseMarker, removalScript, specHash, TABLE_FAMILY, TABLE_NAME, type FirewallSpec,
} from './ruleset.js';

export type { FirewallSpec } from './ruleset.js';

export type FirewallErrorCode = 'nft-missing' | 'permission' | 'refused' | 'failed';

/** A failure with a message a person can act on; `code` says which kind. */
export class FirewallError extends Error {
  constructor(
    readonly code: FirewallErrorCode,
    message: string,
    readonly nftOutput = '',
  ) {
    super(message);
    this.name = 'FirewallError';
  }
}

/** nft's own message, without the echo of the input line and caret markers it prints under it. */
function nftMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd());
  const errors = lines.filter((l) => /Error:|error:/i.test(l));
  const picked = (errors.length > 0 ? errors : lines.filter((l) => l.trim() !== '' && !/^\s*\^+\s*$/.test(l))).slice(0, 4);
  return picked.join('; ') || 'no message';
}

/** Turns a failed nft run into a FirewallError that says what to do. */
export function explainNftFailure(e: unknown, doing: 'apply' | 'remove' | 'read' | 'load'): Error {
  if (!(e instanceof CommandError)) return e instanceof Error ? e : new Error(String(e));
  const err = e.stderr;
  // Not started at all (systemRunner), or `ip netns exec` could not find it (exit 255).
  if ((e.exitCode === null && /ENOENT/.test(e.message)) || /exec of "?nft"? failed: No such file/.test(err)) {
    return new FirewallError('nft-missing', 'nft is not installed: apt-get install nftables (the kill switch needs it)');
  }
  if (/Operation not permitted|Permission denied/.test(err)) {
    return new FirewallError('permission', `changing the firewall needs root (CAP_NET_ADMIN): ${nftMessage(err)}`, err);
  }
  const msg = nftMessage(err);
  switch (doing) {
    case 'apply':
    case 'load': {
      const hint = /Could not process rule: No such file or directory/.test(err)
        ? ' (the kernel lacks an nftables feature the firewall uses: check that the nf_tables (with its arp family), nft_reject_inet and nf_conntrack modules are available)'
        : '';
      // The boot file is always the kill switch; an apply may be the guard of a connection without it.
      return new FirewallError('refused', `the kernel refused the ${doing === 'load' ? 'kill-switch' : 'firewall'} ruleset: ${msg}${hint}`, err);
    }
    case 'remove':
      return new FirewallError('failed', `could not remove the firewall (tables ${TABLE_FAMILY} ${TABLE_NAME} and ${ARP_TABLE_FAMILY} ${TABLE_NAME}): ${msg}`, err);
    case 'read':
      return new FirewallError('failed', `could not read the firewall with nft: ${msg}`, err);
  }
}

/** What the kernel holds in place of our tables. */
export interface TableState {
  /** Whether table inet umbra is there (ours or not). */
  present: boolean;
  /** The spec hash in the table's marker; undefined when absent or not ours. */
  hash?: string;
  /** The policy the marker names (true: the kill switch, false: the guard); undefined when absent or not ours. */
  block?: boolean;
  /** `nft list table inet umbra` as printed, followed by table arp umbra when it is there; undefined when absent. */
  listing?: string;
}

/** What a read of the kernel shows: none, our guard, our block, or a table of our name that is not ours. */
export function kernelKind(state: TableState): 'none' | 'guard' | 'block' | 'foreign' {
  if (!state.present) return 'none';
  if (state.block === undefined) return 'foreign';
  return state.block ? 'block' : 'guard';
}

/** Whether a listing (as TableState has it) includes table arp umbra. */
const listsArpTable = (listing: string) => listing.split('\n').some((l) => l === `table ${ARP_TABLE_FAMILY} ${TABLE_NAME} {`);

/** Why the watchdog restored the table. */
export type RestoreReason = 'the table was missing' | 'the table held a different ruleset' | 'the table had been modified';

export class Firewall {
  private queue: Promise<unknown> = Promise.resolve();
  /** Operations waiting for or holding the queue. */
  private pending = 0;
  /** Of those, the applies and removals: a change that will replace the table anyway. */
  private changesQueued = 0;
  /** The kernel's listing right after our last apply, with the hash it was for. */
  private recorded: { hash: string; listing: string } | undefined;
  /** Whether the kernel keeps the table's comment (our marker); unknown until an apply. */
  private markerKept: boolean | undefined;

  constructor(private readonly run: CommandRunner) {}

  /** Runs `fn` after every operation called before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.queue.then(fn);
    this.queue = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** Replaces our tables with the policy for `spec`, in one transaction. */
  async apply(spec: FirewallSpec): Promise<void> {
    // Validates (and rejects) before anything is queued.
    const text = buildRuleset(spec);
    const hash = specHash(spec);
    return this.change(() => this.applyNow(text, hash));
  }

  /** An apply or removal: counted, so one that another change will replace can skip its reading back. */
  private change(fn: () => Promise<void>): Promise<void> {
    this.changesQueued++;
    return this.exclusive(async () => {
      this.changesQueued--;
      await fn();
    });
  }

  private async applyNow(text: string, hash: string): Promise<void> {
    try {
      await this.run.run(['nft', '-f', '-'], { input: text });
    } catch (e) {
      throw explainNftFailure(e, 'apply');
    }
    // Reading the table back (two more nft processes) gives the watchdog its reference. A change
    // already queued behind this one replaces the table and reads its own: a connect (its block,
    // then its tunnel's policy) does not wait for a reference nobody will check.
    if (this.changesQueued > 0) {
      this.recorded = undefined;
      return;
    }
    const state = await this.readNow().catch(() => undefined);
    this.recorded = state?.listing !== undefined ? { hash, listing: state.listing } : undefined;
    // A kernel without table comments (before Linux 5.10) drops the marker: then only the
    // listing tells our table apart.
    if (state?.present) this.markerKept = state.hash === hash;
  }

  /** Whether the kernel would take `spec`, changing nothing (`nft -c`); throws what nft said. */
  async check(spec: FirewallSpec): Promise<void> {
    const text = buildRuleset(spec);
    try {
      await this.run.run(['nft', '-c', '-f', '-'], { input: text });
    } catch (e) {
      throw explainNftFailure(e, 'apply');
    }
  }

  /** Deletes our tables; no error when they are not there. Touches no other table. */
  remove(): Promise<void> {
    return this.change(async () => {
      try {
        await this.run.run(['nft', '-f', '-'], { input: removalScript() });
      } catch (e) {
        throw explainNftFailure(e, 'remove');
      }
      this.recorded = undefined;
    });
  }

  /** Whether table inet umbra is in the kernel (ours or not). */
  async isPresent(): Promise<boolean> {
    return (await this.exclusive(() => this.readNow())).present;
  }

  /** The spec hash our table carries; undefined when there is no table or it has no marker of ours. */
  async currentSpecHash(): Promise<string | undefined> {
    return (await this.exclusive(() => this.readNow())).hash;
  }

  /** The table as the kernel has it. */
  read(): Promise<TableState> {
    return this.exclusive(() => this.readNow());
  }

  private async readNow(): Promise<TableState> {
    let listing: string;
    try {
      listing = (await this.run.run(['nft', 'list', 'table', TABLE_FAMILY, TABLE_NAME])).stdout;
    } catch (e) {
      // Absent ("No such file or directory"), or a real failure: `list tables` tells them apart
      // without depending on the wording of the first error.
      let tables: string;
      try {
        tables = (await this.run.run(['nft', 'list', 'tables'])).stdout;
      } catch (e2) {
        throw explainNftFailure(e2, 'read');
      }
      if (!hasOurTable(tables)) return { present: false };
      throw explainNftFailure(e, 'read');
    }
    // The arp family's tables (rarely any but ours): succeeds, printing nothing, when there are none.
    let arp: string;
    try {
      arp = ourArpTable((await this.run.run(['nft', 'list', 'ruleset', ARP_TABLE_FAMILY])).stdout);
    } catch (e) {
      throw explainNftFailure(e, 'read');
    }
    if (arp !== '') listing = `${listing.replace(/\n*$/, '\n')}${arp}`;
    const marker = parseMarker(listing);
    return marker === undefined ? { present: true, listing } : { present: true, hash: marker.hash, block: marker.block, listing };
  }

  /**
   * One watchdog step, run in turn with the other operations: reads the table and, when `expected`
   * (called after the read, so it sees what callers set meanwhile) gives a spec the kernel does
   * not hold exactly, applies it. Does nothing more while another operation is waiting (a caller
   * changing the table right now; the next step checks again).
   */
  enforce(expected: () => FirewallSpec | undefined): Promise<{ present: boolean; restored?: RestoreReason } | { skipped: true }> {
    return this.exclusive(async () => {
      // A change is queued behind this check: it replaces the table, reads it back and makes its
      // own ruleset event, which brings the next check. Reading now would only hold it back.
      // (Reading outside the queue instead was measured slower on two cores: the check's `nft`
      // processes then compete with a connect's for the CPU.)
      if (this.changesQueued > 0) return { skipped: true as const };
      const state = await this.readNow();
      const spec = expected();
      if (spec === undefined || this.pending > 1) return { present: state.present };
      const want = specHash(spec);
      let why: RestoreReason | undefined;
      if (!state.present) why = 'the table was missing';
      else if (this.markerKept === false) {
        // No marker to go by: the listing after our apply is the only reference.
        if (this.recorded?.hash !== want || this.recorded.listing !== state.listing) why = 'the table had been modified';
      } else if (state.hash !== want) why = 'the table held a different ruleset';
      else if (this.recorded?.hash === want && this.recorded.listing !== state.listing) why = 'the table had been modified';
      // An adopted table has no recorded listing: the arp table must still be there when the spec has one.
      else if (listsArpTable(state.listing ?? '') !== hasArpTable(spec)) why = 'the table had been modified';
      if (why === undefined) {
        // Adopted (e.g. from boot or before a restart): the listing seen now is the reference.
        if (this.recorded?.hash !== want && state.listing !== undefined) this.recorded = { hash: want, listing: state.listing };
        return { present: true };
      }
      await this.applyNow(buildRuleset(spec), want);
      return { present: true, restored: why };
    });
  }
}

function hasOurTable(tablesListing: string): boolean {
  return tablesListing.split('\n').some((l) => l.trim() === `table ${TABLE_FAMILY} ${TABLE_NAME}`);
}

/** Table arp umbra out of `nft list ruleset arp` (a table starts at `table ...{` and ends at a `}` line, both unindented). */
function ourArpTable(ruleset: string): string {
  const lines = ruleset.split('\n');
  const start = lines.indexOf(`table ${ARP_TABLE_FAMILY} ${TABLE_NAME} {`);
  if (start < 0) return '';
  const end = lines.indexOf('}', start);
  return lines.slice(start, end < 0 ? undefined : end + 1).join('\n') + '\n';
}

export interface WatchdogOptions {
  /** Time between the end of one check and the start of the next; 1000 ms by default. */
  intervalMs?: number;
  /**
   * Ruleset changes as they happen (`nft monitor`): while it is alive the watchdog checks on each
   * change instead of every interval, and polls again when it is not.
   */
  events?: RulesetEvents;
  /**
   * While the events are alive, a check at least this often anyway (WATCHDOG_BACKSTOP_MS by
   * default): insurance for a change they never reported. The known gaps are covered otherwise:
   * the moment before nft monitor listened gets a check once it does, and events the kernel
   * dropped under load make nft monitor print "# ERROR: We lost some netlink events!", a line,
   * so a check. Each check runs nft, so a short backstop would spawn processes all day.
   */
  backstopMs?: number;
  /** The spec that should be in the kernel now, or undefined when none should be enforced. */
  expected: () => FirewallSpec | undefined;
  /** Called after the table was put back. */
  onRestore: (why: RestoreReason) => void;
  /** Failures of a check or a restore (never thrown); the watchdog keeps going. */
  onError?: (e: Error) => void;
  /** Whether the table is in the kernel: after the first check, then on every change. */
  onPresence?: (present: boolean) => void;
}

export interface Watchdog {
  stop(): void;
  /** Runs a check now (or waits for the one under way); resolves when it is done. */
  checkNow(): Promise<void>;
}

/** The default backstop: a check every 15 minutes while ruleset events are reported. */
export const WATCHDOG_BACKSTOP_MS = 15 * 60_000;

/** How long the watchdog lets a burst of reported changes settle before it checks. */
const CHANGE_SETTLE_MS = 20;

/**
 * Checks our tables (on every reported change, else every interval) and restores `expected()`
 * when they are missing, replaced or edited. Checks never overlap. Callers that change the kill
 * switch should update what `expected()` returns no later than right after their
 * `apply()`/`remove()` resolves; a change queued on the Firewall while a check runs is never
 * undone by that check.
 */
export function startWatchdog(fw: Firewall, opts: WatchdogOptions): Watchdog {
  const intervalMs = opts.intervalMs ?? 1000;
  const backstopMs = opts.backstopMs ?? WATCHDOG_BACKSTOP_MS;
  for (const [name, ms] of [['intervalMs', intervalMs], ['backstopMs', backstopMs]] as const) {
    if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`${name} must be a positive number, not ${String(ms)}`);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastPresence: boolean | undefined;

  const report = (f: (() => void) | undefined) => {
    try {
      f?.();
    } catch (e) {
      try {
        opts.onError?.(e instanceof Error ? e : new Error(String(e)));
      } catch {
        // A failing error callback must not stop the watchdog.
      }
    }
  };

  async function check(): Promise<void> {
    try {
      const r = await fw.enforce(opts.expected);
      if ('skipped' in r) return;
      if (r.present !== lastPresence) {
        lastPresence = r.present;
        report(opts.onPresence && (() => opts.onPresence!(r.present)));
      }
      if (r.restored) report(() => opts.onRestore(r.restored!));
    } catch (e) {
      report(opts.onError && (() => opts.onError!(e instanceof Error ? e : new Error(String(e)))));
    }
  }

  // A change reported while a check runs may have come after its read: check once more.
  let again = false;
  let timerForChange = false;

  function runCheck(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    if (timer) clearTimeout(timer);
    timer = undefined;
    again = false;
    running = check().finally(() => {
      running = undefined;
      if (again && !stopped) void runCheck();
      else schedule();
    });
    return running;
  }

  function arm(ms: number, forChange: boolean): void {
    timerForChange = forChange;
    timer = setTimeout(() => {
      timer = undefined;
      void runCheck();
    }, ms);
    timer.unref();
  }

  function schedule(): void {
    if (stopped || timer) return;
    arm(opts.events?.alive ? backstopMs : intervalMs, false);
  }

  opts.events?.subscribe({
    change() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      // One transaction prints several lines: let the burst settle into one check.
      if (timer && timerForChange) return;
      if (timer) clearTimeout(timer);
      arm(CHANGE_SETTLE_MS, true);
    },
    alive(up) {
      if (stopped) return;
      // Just started: changes made before it listened went unreported, so look now. Just ended: poll.
      if (up) void runCheck();
      else {
        // The backstop's long timer gives way to polling.
        if (timer && !timerForChange) {
          clearTimeout(timer);
          timer = undefined;
        }
        schedule();
      }
    },
  });

  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    checkNow: () => runCheck(),
  };
}
