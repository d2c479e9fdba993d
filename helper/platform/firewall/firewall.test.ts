// Firewall and watchdog against fakes: which nft commands run (one `nft -f -` per change), the
// errors a person gets, reading the marker back, and the watchdog's restore logic (missing,
// replaced, edited, adopted; never overlapping; never undoing a change a caller has queued).
// The real kernel is exercised in firewall.lab.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommandError, type CommandRunner, type RunResult } from '../exec.js';
import { FakeRunner } from '../testing/fake-runner.js';
import { UMBRA_FWMARK } from '../routing/constants.js';
import { Firewall, FirewallError, kernelKind, startWatchdog, WATCHDOG_BACKSTOP_MS, type RestoreReason, type Watchdog, type WatchdogOptions } from './firewall.js';
import { CONNECTED } from './testdata/specs.js';
import { bootSpec, buildRuleset, markerComment, removalScript, specHash, type FirewallSpec } from './ruleset.js';

const A: FirewallSpec = { ...CONNECTED, tunnelAddresses: ['100.64.0.2'] };
const B: FirewallSpec = { ...A, endpoints: [{ address: '203.0.113.3', port: 51820 }] };
const GUARD: FirewallSpec = { ...A, block: false, dnsServers: [] };

const NO_TABLE = 'Error: No such file or directory\nlist table inet umbra\n                ^^^^^\n';

/** Our tables of a ruleset text, "as listed": the inet one, and the arp one if the text has it. */
function asListed(text: string): { inet: string; arp: string | undefined } {
  const i = text.indexOf('table inet umbra {');
  const a = text.indexOf('table arp umbra {');
  return a < 0 ? { inet: text.slice(i), arp: undefined } : { inet: text.slice(i, a), arp: text.slice(a) };
}

/** A stand-in for nft with our tables' worth of kernel state: what the last `nft -f` left. */
class FakeNft implements CommandRunner {
  table: string | undefined;
  arpTable: string | undefined;
  /** Another arp table, not ours, listed beside ours. */
  otherArp = '';
  readonly log: string[] = [];
  /** Resolves each command only when the test says so, when set. */
  gate: Promise<void> | undefined;
  running = 0;
  maxRunning = 0;

  async run(argv: string[], opts: { input?: string } = {}): Promise<RunResult> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gate) await this.gate;
      await new Promise((r) => setTimeout(r, 1));
      const line = argv.join(' ');
      this.log.push(line);
      if (line === 'nft -f -') {
        const input = opts.input ?? '';
        if (input === removalScript()) this.table = this.arpTable = undefined;
        else ({ inet: this.table, arp: this.arpTable } = asListed(input));
        return { stdout: '', stderr: '' };
      }
      if (line === 'nft list ruleset arp') return { stdout: this.otherArp + (this.arpTable ?? ''), stderr: '' };
      if (line === 'nft list table inet umbra') {
        if (this.table === undefined) throw new CommandError(argv, 1, NO_TABLE);
        return { stdout: this.table, stderr: '' };
      }
      if (line === 'nft list tables') return { stdout: this.table === undefined ? '' : 'table inet umbra\n', stderr: '' };
      throw new Error(`unexpected command ${line}`);
    } finally {
      this.running--;
    }
  }
}

describe('Firewall', () => {
  it('applies a spec with ONE nft -f - transaction and reads both tables back', async () => {
    const run = new FakeRunner().respond('nft list table inet umbra', asListed(buildRuleset(A)).inet);
    await new Firewall(run).apply(A);
    expect(run.lines).toEqual(['nft -f -', 'nft list table inet umbra', 'nft list ruleset arp']);
    expect(run.calls[0]!.input).toBe(buildRuleset(A));
  });

  it('validates before running anything', async () => {
    const run = new FakeRunner();
    await expect(new Firewall(run).apply({ ...A, tunnelInterface: 'bad name' })).rejects.toThrow(/not a valid interface name/);
    await expect(new Firewall(run).apply({ ...A, tunnelInterface: undefined })).rejects.toThrow(RangeError);
    expect(run.calls).toEqual([]);
  });

  it('removes with the removal script, whether or not the table is there', async () => {
    const run = new FakeRunner();
    await new Firewall(run).remove();
    expect(run.calls).toEqual([{ argv: ['nft', '-f', '-'], input: removalScript() }]);
  });

  it('says how to install nft when it is missing', async () => {
    const run = new FakeRunner();
    const missing = new CommandError(['nft', '-f', '-'], null, '', 'could not be started (spawn nft ENOENT)');
    run.run = () => Promise.reject(missing);
    const e = await new Firewall(run).apply(A).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FirewallError);
    expect(e).toMatchObject({ code: 'nft-missing', message: 'nft is not installed: apt-get install nftables (the kill switch needs it)' });
    // Through `ip netns exec` the same case looks like this.
    const run2 = new FakeRunner().failOn(/^nft/, { exitCode: 255, stderr: 'exec of "nft" failed: No such file or directory\n' });
    await expect(new Firewall(run2).remove()).rejects.toMatchObject({ code: 'nft-missing' });
  });

  it("passes on the kernel's refusal with nft's message (without the echoed input)", async () => {
    const stderr = '/dev/stdin:12:3-40: Error: Could not process rule: No such file or directory\n\t\tmeta l4proto { icmp, ipv6-icmp } ct state related accept\n\t\t^^^^^^^^^^^\n';
    const run = new FakeRunner().failOn('nft -f -', { exitCode: 1, stderr });
    const e = (await new Firewall(run).apply(A).catch((x: unknown) => x)) as FirewallError;
    expect(e.code).toBe('refused');
    expect(e.message).toMatch(/^the kernel refused the firewall ruleset: \/dev\/stdin:12:3-40: Error: Could not process rule: No such file or directory \(the kernel lacks/);
    expect(e.message).not.toContain('^^^');
    const perm = new FakeRunner().failOn('nft -f -', { exitCode: 1, stderr: 'Error: Could not process rule: Operation not permitted\n' });
    await expect(new Firewall(perm).apply(A)).rejects.toMatchObject({ code: 'permission', message: expect.stringMatching(/needs root \(CAP_NET_ADMIN\)/) });
  });

  it('reads presence, the marker and its policy; absent is not an error', async () => {
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    expect(await fw.isPresent()).toBe(false);
    expect(await fw.currentSpecHash()).toBeUndefined();
    expect(kernelKind(await fw.read())).toBe('none');
    await fw.apply(A);
    expect(await fw.isPresent()).toBe(true);
    expect(await fw.currentSpecHash()).toBe(specHash(A));
    const state = await fw.read();
    expect(state).toMatchObject({ present: true, hash: specHash(A), block: true });
    expect(kernelKind(state)).toBe('block');
    // The listing covers both tables, and only ours of the arp family.
    nft.otherArp = 'table arp other {\n\tchain x {\n\t}\n}\n';
    const { listing } = await fw.read();
    expect(listing).toMatch(/^table inet umbra \{\n\tcomment "umbra firewall v2 block=1 spec=/);
    expect(listing).toContain('table arp umbra {\n\tchain input {');
    expect(listing).toContain('arp operation request arp daddr ip 100.64.0.2 drop');
    expect(listing).not.toContain('arp other');
    await fw.apply(GUARD);
    expect(kernelKind(await fw.read())).toBe('guard');
    expect(await fw.read()).toMatchObject({ hash: specHash(GUARD), block: false });
    // A table loaded from a boot file of an earlier version: a block.
    nft.table = 'table inet umbra {\n\tcomment "umbra kill switch v1 spec=' + 'c'.repeat(32) + '"\n}\n';
    expect(await fw.read()).toMatchObject({ present: true, hash: 'c'.repeat(32), block: true });
    // Someone else's table under our name: present, but no hash and no policy.
    nft.table = 'table inet umbra {\n\tchain x {\n\t}\n}\n';
    nft.arpTable = undefined;
    expect(await fw.read()).toEqual({ present: true, listing: nft.table });
    expect(kernelKind(await fw.read())).toBe('foreign');
    await fw.remove();
    expect(await fw.isPresent()).toBe(false);
  });

  it('kernelKind: none, guard, block or foreign', () => {
    expect(kernelKind({ present: false })).toBe('none');
    expect(kernelKind({ present: true, listing: 'x' })).toBe('foreign');
    expect(kernelKind({ present: true, hash: 'a', block: true })).toBe('block');
    expect(kernelKind({ present: true, hash: 'a', block: false })).toBe('guard');
  });

  it('removes both tables, and says so when it cannot', async () => {
    const run = new FakeRunner().failOn('nft -f -', { exitCode: 1, stderr: 'Error: Could not process rule: Device or resource busy\n' });
    await expect(new Firewall(run).remove()).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/^could not remove the firewall \(tables inet umbra and arp umbra\): .*busy/) });
    expect(removalScript()).toContain('delete table arp umbra');
  });

  it('reports a failing read instead of calling the table absent', async () => {
    const run = new FakeRunner()
      .failOn('nft list table inet umbra', { exitCode: 1, stderr: 'netlink: Error: cache initialization failed: Operation not permitted\n' })
      .respond('nft list tables', 'table inet umbra\n');
    await expect(new Firewall(run).isPresent()).rejects.toMatchObject({ code: 'permission' });
  });

  it('an apply with another change queued behind it does not read the table back; the last one does', async () => {
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    await Promise.all([fw.apply(A), fw.apply(B)]);
    expect(nft.log).toEqual(['nft -f -', 'nft -f -', 'nft list table inet umbra', 'nft list ruleset arp']);
    // The reference is B's: an edit of the table is still found.
    const expected = vi.fn(() => B);
    nft.table = nft.table!.replace('accept', 'drop');
    expect(await fw.enforce(expected)).toEqual({ present: true, restored: 'the table had been modified' });
  });

  it('a watchdog check with a change queued behind it reads nothing: the change brings its own check', async () => {
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    await fw.apply(A);
    nft.log.length = 0;
    expect(await fw.enforce(() => A)).toEqual({ present: true });
    expect(nft.log).toEqual(['nft list table inet umbra', 'nft list ruleset arp']);
    nft.log.length = 0;
    const [checked] = await Promise.all([fw.enforce(() => A), fw.apply(B)]);
    expect(checked).toEqual({ skipped: true });
    expect(await fw.currentSpecHash()).toBe(specHash(B));
  });

  it('runs its operations one at a time, in call order', async () => {
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    await Promise.all([fw.apply(A), fw.apply(B), fw.remove(), fw.apply(A), fw.isPresent()]);
    expect(nft.maxRunning).toBe(1);
    expect(await fw.currentSpecHash()).toBe(specHash(A));
  });
});

describe('startWatchdog', () => {
  afterEach(() => vi.useRealTimers());

  function setup(expected: FirewallSpec | undefined) {
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    const restores: RestoreReason[] = [];
    const errors: string[] = [];
    const presence: boolean[] = [];
    const state = { expected };
    const wd = startWatchdog(fw, {
      intervalMs: 20,
      expected: () => state.expected,
      onRestore: (why) => restores.push(why),
      onError: (e) => errors.push(e.message),
      onPresence: (p) => presence.push(p),
    });
    return { nft, fw, wd, restores, errors, presence, state };
  }

  it('puts back a missing, replaced or edited table', async () => {
    const { nft, fw, wd, restores, presence } = setup(A);
    try {
      await fw.apply(A);
      await wd.checkNow();
      expect(restores).toEqual([]);
      expect(presence).toEqual([true]);

      nft.table = undefined; // nft flush ruleset
      await wd.checkNow();
      expect(restores).toEqual(['the table was missing']);
      expect(await fw.currentSpecHash()).toBe(specHash(A));

      nft.table = asListed(buildRuleset(B)).inet; // replaced
      await wd.checkNow();
      expect(restores.at(-1)).toBe('the table held a different ruleset');

      nft.table = nft.table!.replace('policy drop;', 'policy accept;'); // edited, same marker
      expect(nft.table).toContain(markerComment(A));
      await wd.checkNow();
      expect(restores.at(-1)).toBe('the table had been modified');
      expect(nft.table).toContain('policy drop;');
      expect(restores).toHaveLength(3);

      nft.arpTable = undefined; // nft delete table arp umbra
      await wd.checkNow();
      expect(restores.at(-1)).toBe('the table had been modified');
      expect(nft.arpTable).toContain('arp daddr ip 100.64.0.2 drop');
      expect(restores).toHaveLength(4);
      // Presence never dropped as seen by a check (each restore happened within the check).
      expect(presence).toEqual([true]);
    } finally {
      wd.stop();
    }
  });

  it('checks by itself every interval, without overlapping', async () => {
    const { nft, fw, wd, restores } = setup(A);
    try {
      await fw.apply(A);
      nft.table = undefined;
      await vi.waitFor(() => expect(restores).toEqual(['the table was missing']), { timeout: 2000, interval: 5 });
      let release!: () => void;
      nft.gate = new Promise((r) => (release = r));
      await new Promise((r) => setTimeout(r, 100)); // several intervals while one check hangs
      expect(nft.maxRunning).toBe(1);
      release();
      nft.gate = undefined;
    } finally {
      wd.stop();
    }
  });

  it('enforces nothing when nothing is expected, but still reports presence', async () => {
    const { nft, fw, wd, restores, presence, state } = setup(undefined);
    try {
      await wd.checkNow();
      expect(presence).toEqual([false]);
      await fw.apply(A);
      await wd.checkNow();
      expect(presence).toEqual([false, true]);
      nft.table = undefined;
      await wd.checkNow();
      expect(presence).toEqual([false, true, false]);
      expect(restores).toEqual([]);
      expect(nft.table).toBeUndefined();
      state.expected = A;
      await wd.checkNow();
      expect(restores).toEqual(['the table was missing']);
      expect(presence).toEqual([false, true, false, true]);
    } finally {
      wd.stop();
    }
  });

  it('adopts a table with the expected marker (boot, restart) and guards its listing from then on', async () => {
    const boot = bootSpec({ fwmark: UMBRA_FWMARK });
    const { nft, wd, restores } = setup(boot);
    try {
      nft.table = asListed(buildRuleset(boot)).inet; // loaded by the boot unit
      await wd.checkNow();
      expect(restores).toEqual([]);
      expect(nft.log.filter((l) => l === 'nft -f -')).toEqual([]);
      nft.table += '\n# edited';
      await wd.checkNow();
      expect(restores).toEqual(['the table had been modified']);
    } finally {
      wd.stop();
    }
  });

  it('adopts a guard only with its arp table (a restart after someone deleted it)', async () => {
    const { nft, wd, restores } = setup(GUARD);
    try {
      nft.table = asListed(buildRuleset(GUARD)).inet; // the arp table is gone
      await wd.checkNow();
      expect(restores).toEqual(['the table had been modified']);
      expect(nft.arpTable).toBe(asListed(buildRuleset(GUARD)).arp);
      await wd.checkNow();
      expect(restores).toHaveLength(1);
    } finally {
      wd.stop();
    }
  });

  it('never undoes a switch: expected() is read after the kernel (caller updates it after apply)', async () => {
    const { nft, fw, wd, restores, state } = setup(A);
    try {
      await fw.apply(A);
      await wd.checkNow();
      // The caller switches to B; a check gets queued behind the apply.
      let release!: () => void;
      nft.gate = new Promise((r) => (release = r));
      const switched = fw.apply(B).then(() => {
        state.expected = B; // updated right after apply resolves, as the daemon does
      });
      await new Promise((r) => setTimeout(r, 5));
      const check = wd.checkNow();
      nft.gate = undefined;
      release();
      await Promise.all([check, switched]);
      await wd.checkNow();
      expect(await fw.currentSpecHash()).toBe(specHash(B));
      expect(restores).toEqual([]);
      expect(nft.log.filter((l) => l === 'nft -f -')).toHaveLength(2);
    } finally {
      wd.stop();
    }
  });

  it('does not race a change queued while it checks (caller updates expected() before apply)', async () => {
    const { nft, fw, wd, restores, state } = setup(A);
    try {
      await fw.apply(A);
      await wd.checkNow();
      let release!: () => void;
      nft.gate = new Promise((r) => (release = r));
      const check = wd.checkNow(); // reads the kernel (A) ...
      await new Promise((r) => setTimeout(r, 5));
      state.expected = B; // ... while the caller moves on to B
      const switched = fw.apply(B);
      nft.gate = undefined;
      release();
      await Promise.all([check, switched]);
      expect(restores).toEqual([]); // the queued apply does it; no spurious "restore"
      expect(nft.log.filter((l) => l === 'nft -f -')).toHaveLength(2);
      await wd.checkNow();
      expect(restores).toEqual([]);
      expect(await fw.currentSpecHash()).toBe(specHash(B));
    } finally {
      wd.stop();
    }
  });

  it('works by the listing alone on a kernel that drops table comments', async () => {
    const { nft, fw, wd, restores } = setup(A);
    const strip = (t: string) => t.replace(/\tcomment "umbra firewall[^"]*"\n/, '');
    const run = nft.run.bind(nft);
    nft.run = async (argv, opts) => {
      const r = await run(argv, opts);
      if (nft.table !== undefined) nft.table = strip(nft.table);
      return r;
    };
    try {
      await fw.apply(A);
      expect(await fw.currentSpecHash()).toBeUndefined();
      await wd.checkNow();
      await wd.checkNow();
      expect(restores).toEqual([]); // no flapping
      nft.table = nft.table!.replace('policy drop;', 'policy accept;');
      await wd.checkNow();
      expect(restores).toEqual(['the table had been modified']);
      expect(nft.table).toContain('policy drop;');
      nft.table = undefined;
      await wd.checkNow();
      expect(restores.at(-1)).toBe('the table was missing');
    } finally {
      wd.stop();
    }
  });

  it('reports failures through onError and keeps going', async () => {
    const run = new FakeRunner().failOn(/^nft/, { exitCode: 1, stderr: 'Error: Could not process rule: Operation not permitted\n' });
    const errors: string[] = [];
    const wd = startWatchdog(new Firewall(run), {
      intervalMs: 10,
      expected: () => A,
      onRestore: () => {
        throw new Error('not reached');
      },
      onError: (e) => errors.push(e.message),
    });
    try {
      await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2), { timeout: 2000, interval: 5 });
      expect(errors[0]).toMatch(/needs root/);
    } finally {
      wd.stop();
    }
    const n = run.calls.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(run.calls.length).toBe(n); // stopped
  });

  /** Ruleset events the test drives by hand (nft monitor's part). */
  function fakeEvents(alive: boolean) {
    const subs: { change: () => void; alive: (a: boolean) => void }[] = [];
    const ev = {
      alive,
      subscribe: (on: (typeof subs)[number]) => void subs.push(on),
      stop: () => undefined,
      change: () => subs.forEach((s) => s.change()),
      setAlive: (a: boolean) => {
        ev.alive = a;
        subs.forEach((s) => s.alive(a));
      },
    };
    return ev;
  }

  /** A watchdog over table A with hand-driven ruleset events (alive), stopped after `f`. */
  async function withEvents(
    opts: Pick<WatchdogOptions, 'intervalMs' | 'backstopMs'>,
    f: (t: { nft: FakeNft; events: ReturnType<typeof fakeEvents>; restores: RestoreReason[]; wd: Watchdog }) => Promise<void>,
  ): Promise<void> {
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    await fw.apply(A);
    const events = fakeEvents(true);
    const restores: RestoreReason[] = [];
    const wd = startWatchdog(fw, { ...opts, events, expected: () => A, onRestore: (why) => restores.push(why) });
    try {
      await f({ nft, events, restores, wd });
    } finally {
      wd.stop();
    }
  }

  it('with ruleset events: checks on a change, not every interval, and polls when they stop', async () => {
    await withEvents({ intervalMs: 10 }, async ({ nft, events, restores }) => {
      const reads = () => nft.log.filter((l) => l.startsWith('nft list')).length;
      const before = reads();
      await new Promise((r) => setTimeout(r, 100)); // ten intervals
      expect(reads()).toBe(before); // asleep: nothing changed, nothing read

      nft.table = undefined; // nft flush ruleset …
      events.change(); // … which the monitor reports in several lines
      events.change();
      await vi.waitFor(() => expect(restores).toEqual(['the table was missing']), { timeout: 2000, interval: 5 });
      expect(nft.table).toBeDefined();

      events.setAlive(false); // the monitor died: back to polling
      nft.table = undefined;
      await vi.waitFor(() => expect(restores).toEqual(['the table was missing', 'the table was missing']), { timeout: 2000, interval: 5 });
    });
  });

  it('with ruleset events and nothing changing: no nft for minutes, only the rare backstop', async () => {
    vi.useFakeTimers();
    const nft = new FakeNft();
    const fw = new Firewall(nft);
    const wd = await (async () => {
      const applied = fw.apply(A);
      await vi.advanceTimersByTimeAsync(100);
      await applied;
      return startWatchdog(fw, { events: fakeEvents(true), expected: () => A, onRestore: () => undefined });
    })();
    try {
      const runs = () => nft.log.filter((l) => l.startsWith('nft')).length;
      await vi.advanceTimersByTimeAsync(1_000);
      const before = runs();
      await vi.advanceTimersByTimeAsync(10 * 60_000); // an idle helper spawns nothing
      expect(runs()).toBe(before);
      await vi.advanceTimersByTimeAsync(WATCHDOG_BACKSTOP_MS);
      expect(runs()).toBeGreaterThan(before);
    } finally {
      wd.stop();
      vi.useRealTimers();
    }
  });

  it('with ruleset events: a change they never report is found by the backstop', async () => {
    await withEvents({ intervalMs: 1_000_000, backstopMs: 30 }, async ({ nft, restores }) => {
      nft.table = undefined; // gone, and nft monitor said nothing
      await vi.waitFor(() => expect(restores).toEqual(['the table was missing']), { timeout: 2000, interval: 5 });
    });
  });

  it('with ruleset events: a change during a check is checked again after it', async () => {
    await withEvents({ intervalMs: 1_000_000 }, async ({ nft, events, restores, wd }) => {
      let open!: () => void;
      nft.gate = new Promise<void>((r) => (open = r));
      const first = wd.checkNow(); // reads the table while it is still there
      nft.table = undefined; // removed after the read …
      events.change(); // … and reported while the check runs
      open();
      nft.gate = undefined;
      await first;
      await vi.waitFor(() => expect(restores).toEqual(['the table was missing']), { timeout: 2000, interval: 5 });
    });
  });

  it('refuses a nonsensical interval', () => {
    expect(() => startWatchdog(new Firewall(new FakeRunner()), { intervalMs: 0, expected: () => undefined, onRestore: () => {} })).toThrow(RangeError);
    expect(() => startWatchdog(new Firewall(new FakeRunner()), { backstopMs: Number.NaN, expected: () => undefined, onRestore: () => {} })).toThrow(/backstopMs/);
  });
});
