// applyTunnelRouting against a fake runner: wg-quick's scheme in one or two `ip -batch`
// processes, its undo in reverse, exactly the applied lines undone after a failure, and undos
// that treat "already gone" as done. routing.lab.test.ts runs it for real.
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../net/ip.js';
import { CommandError } from '../exec.js';
import { FakeRunner } from '../testing/fake-runner.js';
import { ChangeSet } from '../undo.js';
import { EXCLUDED_FWMARK, UMBRA_FWMARK, UMBRA_TABLE } from './constants.js';
import { applyExcludedRouting, applyTunnelRouting, type TunnelRoutingOptions } from './routes.js';

const LINK_DOWN = '[{"ifindex":7,"ifname":"tun0","flags":["POINTOPOINT","MULTICAST","NOARP"],"mtu":1500,"operstate":"DOWN"}]';
const LINK_UP = '[{"ifindex":7,"ifname":"tun0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1380,"operstate":"UNKNOWN"}]';
const DOWN = { mtu: 1500, up: false };

const addr = (t: string) => parsePrefix(t, { keepHostBits: true });
const cidrs = (...ts: string[]) => ts.map((t) => parsePrefix(t));

function options(over: Partial<TunnelRoutingOptions> = {}): TunnelRoutingOptions {
  return {
    dev: 'tun0',
    addresses: [addr('100.64.0.2/32'), addr('2001:db8:ff::2/128')],
    mtu: 1420,
    allowedIPs: cidrs('0.0.0.0/0', '::/0'),
    fwmark: UMBRA_FWMARK,
    table: UMBRA_TABLE,
    ...over,
  };
}

const FIRST = [
  'address add 100.64.0.2/32 dev tun0',
  'address add 2001:db8:ff::2/128 dev tun0',
  'link set dev tun0 mtu 1420 up',
  'route add 0.0.0.0/0 dev tun0 table 30061',
  'rule add not fwmark 0x756d table 30061',
  'rule add table main suppress_prefixlength 0',
  'route add ::/0 dev tun0 table 30061',
];
const RULES6 = ['rule add not fwmark 0x756d table 30061', 'rule add table main suppress_prefixlength 0'];

const UNDO_ALL = [
  'ip -6 rule del table main suppress_prefixlength 0',
  'ip -6 rule del not fwmark 0x756d table 30061',
  'ip -6 route del ::/0 dev tun0 table 30061',
  'ip -4 rule del table main suppress_prefixlength 0',
  'ip -4 rule del not fwmark 0x756d table 30061',
  'ip -4 route del 0.0.0.0/0 dev tun0 table 30061',
  'ip link set dev tun0 mtu 1500 down',
  'ip -6 address del 2001:db8:ff::2/128 dev tun0',
  'ip -4 address del 100.64.0.2/32 dev tun0',
];

const batchInput = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
/** The lines of every batch run, in order. */
const batchLines = (run: FakeRunner) => run.calls.flatMap((c) => (c.input ?? '').split('\n').filter((l) => l !== ''));

describe('constants', () => {
  it('are 0x756d', () => {
    expect(UMBRA_FWMARK).toBe(0x756d);
    expect(UMBRA_TABLE).toBe(30061);
  });
});

describe('applyTunnelRouting', () => {
  it('makes the full-tunnel changes in two processes, and undoes them in reverse', async () => {
    const run = new FakeRunner();
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, options(), DOWN);
    expect(run.calls).toEqual([
      { argv: ['ip', '-batch', '-'], input: batchInput(FIRST) },
      { argv: ['ip', '-6', '-batch', '-'], input: batchInput(RULES6) },
    ]);
    expect(changes.size).toBe(9);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual(UNDO_ALL);
    expect(changes.size).toBe(0);
  });

  it('routes ::/0 into the tunnel even without an IPv6 address on it (so IPv6 is blocked, not leaked)', async () => {
    const run = new FakeRunner();
    await applyTunnelRouting(run, new ChangeSet(), options({ addresses: [addr('100.64.0.2/32')] }), DOWN);
    expect(batchLines(run)).toContain('route add ::/0 dev tun0 table 30061');
    expect(run.calls[1]).toEqual({ argv: ['ip', '-6', '-batch', '-'], input: batchInput(RULES6) });
    expect(batchLines(run).filter((l) => l.startsWith('address add 2001:'))).toEqual([]);
  });

  it('IPv4 only is one process; other AllowedIPs are main-table routes, most specific first', async () => {
    const run = new FakeRunner();
    await applyTunnelRouting(run, new ChangeSet(), options({
      addresses: [addr('100.64.1.2/24'), addr('2001:db8:ff::2/64')],
      fwmark: 0x1234,
      table: 1000,
      // Duplicates and the tunnel's own subnets (the kernel routes those already) are skipped.
      allowedIPs: cidrs('203.0.113.0/24', '0.0.0.0/0', '198.51.100.7/32', '100.64.1.0/24', '2001:db8:ff::/64', '2001:db8:abcd::/48', '203.0.113.9/24'),
    }), DOWN);
    expect(run.calls).toEqual([{
      argv: ['ip', '-batch', '-'],
      input: batchInput([
        'address add 100.64.1.2/24 dev tun0',
        'address add 2001:db8:ff::2/64 dev tun0',
        'link set dev tun0 mtu 1420 up',
        'route add 198.51.100.7/32 dev tun0',
        'route add 203.0.113.0/24 dev tun0',
        'route add 2001:db8:abcd::/48 dev tun0',
        'route add 0.0.0.0/0 dev tun0 table 1000',
        'rule add not fwmark 0x1234 table 1000',
        'rule add table main suppress_prefixlength 0',
      ]),
    }]);
  });

  it('a split tunnel adds no rules at all', async () => {
    const run = new FakeRunner();
    await applyTunnelRouting(run, new ChangeSet(), options({ allowedIPs: cidrs('198.51.100.0/24', '2001:db8:1::/48') }), DOWN);
    expect(run.calls).toHaveLength(1);
    expect(batchLines(run).filter((l) => l.includes('rule ') || l.includes(' table '))).toEqual([]);
  });

  it.each([
    ['down', LINK_DOWN, 'ip link set dev tun0 mtu 1500 down'],
    ['up', LINK_UP, 'ip link set dev tun0 mtu 1380'],
  ])('without the link state, reads it first with `ip -j link show`, and restores it (%s) on undo', async (_state, json, restore) => {
    const run = new FakeRunner().respond(/^ip -j link show/, json);
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, options({ addresses: [], allowedIPs: cidrs('198.51.100.0/24') }));
    expect(run.lines).toEqual(['ip -j link show dev tun0', 'ip -batch -']);
    run.clearCalls();
    await changes.undoAll();
    expect(run.lines).toEqual(['ip -4 route del 198.51.100.0/24 dev tun0', restore]);
  });

  it('refuses link state it cannot read, before changing anything', async () => {
    const run = new FakeRunner().respond(/link show/, 'not json');
    const changes = new ChangeSet();
    await expect(applyTunnelRouting(run, changes, options())).rejects.toThrow(/could not read the state of tun0/);
    expect(run.lines).toEqual(['ip -j link show dev tun0']);
    expect(changes.size).toBe(0);
  });

  it('a failing line: exactly the lines before it are undone, and the error names that change', async () => {
    const run = new FakeRunner().failOn(/^ip -batch/, { exitCode: 1, stderr: 'Error: Nexthop device is not up.\nCommand failed -:4\n' });
    const changes = new ChangeSet();
    const err = await applyTunnelRouting(run, changes, options(), DOWN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toBe('ip route add 0.0.0.0/0 dev tun0 table 30061: exited with 1: Error: Nexthop device is not up.');
    expect((err as CommandError).exitCode).toBe(1);
    expect(changes.size).toBe(3);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual(UNDO_ALL.slice(-3));
  });

  it('a failure at the first line leaves nothing to undo', async () => {
    const run = new FakeRunner().failOn(/^ip -batch/, { exitCode: 1, stderr: 'Cannot find device "tun0"\nCommand failed -:1\n' });
    const changes = new ChangeSet();
    await expect(applyTunnelRouting(run, changes, options(), DOWN)).rejects.toThrow(/^ip address add 100.64.0.2\/32 dev tun0: .*Cannot find device/);
    expect(changes.size).toBe(0);
  });

  it('a failure in the IPv6 rules keeps the first batch and the IPv6 rules before it', async () => {
    const run = new FakeRunner().failOn(/^ip -6 -batch/, { exitCode: 1, stderr: 'RTNETLINK answers: Operation not permitted\nCommand failed -:2\n' });
    const changes = new ChangeSet();
    await expect(applyTunnelRouting(run, changes, options(), DOWN)).rejects.toThrow(/^ip -6 rule add table main suppress_prefixlength 0: /);
    expect(changes.size).toBe(8);
    run.clearCalls();
    await changes.undoAll();
    expect(run.lines).toEqual(UNDO_ALL.slice(1));
  });

  it('ip that never ran leaves nothing to undo; one that says nothing keeps every undo (they tolerate "gone")', async () => {
    const notStarted = { run: (argv: string[]) => Promise.reject(new CommandError(argv, null, '', 'could not be started (ENOENT)')) };
    const c1 = new ChangeSet();
    await expect(applyTunnelRouting(notStarted, c1, options(), DOWN)).rejects.toThrow(/could not be started/);
    expect(c1.size).toBe(0);
    const silent = new FakeRunner().failOn(/^ip -batch/, { exitCode: 1, stderr: 'Killed' });
    const c2 = new ChangeSet();
    await expect(applyTunnelRouting(silent, c2, options(), DOWN)).rejects.toThrow(/^ip -batch -: exited with 1: Killed$/);
    expect(c2.size).toBe(7);
  });

  it('checks its options before running anything', async () => {
    const run = new FakeRunner();
    const bad: [Partial<TunnelRoutingOptions>, RegExp][] = [
      [{ dev: 'has space' }, /not a valid interface name/],
      [{ dev: 'waytoolonginterface' }, /interface name/],
      [{ mtu: 100 }, /MTU/],
      [{ table: 254 }, /reserved/],
      [{ table: 0 }, /routing table/],
      [{ fwmark: 0 }, /fwmark/],
      [{ fwmark: 1.5 }, /fwmark/],
    ];
    for (const [over, message] of bad) await expect(applyTunnelRouting(run, new ChangeSet(), options(over), DOWN)).rejects.toThrow(message);
    expect(run.calls).toEqual([]);
  });
});

describe('split tunnelling (excludedMark)', () => {
  const EXCL = 'rule add fwmark 0x7578 table main';

  it('is a mark of its own', () => {
    expect(EXCLUDED_FWMARK).not.toBe(UMBRA_FWMARK);
  });

  it('adds fwmark <excluded> table main after the two rules of each family with a /0, so it is looked up first', async () => {
    const run = new FakeRunner();
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, options({ excludedMark: EXCLUDED_FWMARK }), DOWN);
    const [first, second] = run.calls.map((c) => (c.input ?? '').split('\n').filter((l) => l !== ''));
    expect(first).toEqual([...FIRST.slice(0, 6), EXCL, FIRST[6]]);
    expect(second).toEqual([...RULES6, EXCL]);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines.slice(0, 2)).toEqual(['ip -6 rule del fwmark 0x7578 table main', ...UNDO_ALL.slice(0, 1)]);
    expect(run.lines).toContain('ip -4 rule del fwmark 0x7578 table main');
  });

  it('adds no rule to a family without a /0 (there is no table to skip there)', async () => {
    const run = new FakeRunner();
    await applyTunnelRouting(run, new ChangeSet(), options({ allowedIPs: cidrs('0.0.0.0/0', '2001:db8::/32'), excludedMark: EXCLUDED_FWMARK }), DOWN);
    expect(batchLines(run).filter((l) => l === EXCL)).toHaveLength(1);
    expect(run.calls).toHaveLength(1);
  });

  it('refuses a mark that is the tunnel fwmark or out of range', async () => {
    for (const excludedMark of [UMBRA_FWMARK, 0, 2 ** 32]) {
      const run = new FakeRunner();
      await expect(applyTunnelRouting(run, new ChangeSet(), options({ excludedMark }), DOWN)).rejects.toThrow(/excluded mark/);
      expect(run.calls).toEqual([]);
    }
  });

  it('applies on its own, per family given, with its undo', async () => {
    const run = new FakeRunner();
    const changes = new ChangeSet();
    await applyExcludedRouting(run, changes, { mark: EXCLUDED_FWMARK, fwmark: UMBRA_FWMARK, families: [4, 6] });
    expect(run.calls).toEqual([
      { argv: ['ip', '-batch', '-'], input: `${EXCL}\n` },
      { argv: ['ip', '-6', '-batch', '-'], input: `${EXCL}\n` },
    ]);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual(['ip -6 rule del fwmark 0x7578 table main', 'ip -4 rule del fwmark 0x7578 table main']);
    await expect(applyExcludedRouting(run, changes, { mark: UMBRA_FWMARK, fwmark: UMBRA_FWMARK, families: [4] })).rejects.toThrow(/must differ/);
  });
});

describe('undos treat "already gone" as done', () => {
  const fullV4 = () => options({ addresses: [addr('100.64.0.2/32')], allowedIPs: cidrs('0.0.0.0/0') });

  it.each([
    ['address', /address del/, 'Error: ipv4: Address not found.'],
    ['address on an older kernel', /address del/, 'RTNETLINK answers: Cannot assign requested address'],
    ['address of a closed device', /address del/, 'Cannot find device "tun0"'],
    ['route', /route del/, 'RTNETLINK answers: No such process'],
    ['route of a closed device', /route del/, 'Cannot find device "tun0"'],
    ['rule', /rule del/, 'RTNETLINK answers: No such file or directory'],
    ['link of a closed device', /link set dev tun0 mtu 1500/, 'Cannot find device "tun0"'],
  ])('%s', async (_what, match, stderr) => {
    const run = new FakeRunner().failOn(match, { stderr });
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, fullV4(), DOWN);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines.some((l) => match.test(l))).toBe(true); // the failing undo did run
  });

  it('but other failures are reported, and the remaining undos still run', async () => {
    const run = new FakeRunner().failOn(/rule del not fwmark/, { stderr: 'RTNETLINK answers: Operation not permitted' });
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, fullV4(), DOWN);
    run.clearCalls();
    const failures = await changes.undoAll();
    expect(failures.map((e) => e.message)).toEqual([
      'undo "IPv4 rule not fwmark 0x756d table 30061" failed: ip -4 rule del not fwmark 0x756d table 30061: exited with 2: RTNETLINK answers: Operation not permitted',
    ]);
    expect(run.lines).toHaveLength(5);
  });
});
