// applyTunnelRoutingBatch (helper/platform/routing/routes.ts), which the tunnel uses: the same
// changes as applyTunnelRouting in one or two `ip -batch` processes, and after a failure exactly
// the applied lines undone. Against a fake runner; routing-batch.lab.test.ts runs it for real.
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../net/ip.js';
import { CommandError } from '../platform/exec.js';
import { UMBRA_FWMARK, UMBRA_TABLE } from '../platform/routing/constants.js';
import { applyTunnelRoutingBatch, type TunnelRoutingOptions } from '../platform/routing/routes.js';
import { FakeRunner } from '../platform/testing/fake-runner.js';
import { ChangeSet } from '../platform/undo.js';

const addr = (t: string) => parsePrefix(t, { keepHostBits: true });
const cidrs = (...ts: string[]) => ts.map((t) => parsePrefix(t));
const DOWN = { mtu: 1500, up: false };

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

describe('applyTunnelRoutingBatch', () => {
  it('makes the full-tunnel changes in two processes, and the undo is that of applyTunnelRouting', async () => {
    const run = new FakeRunner();
    const changes = new ChangeSet();
    await applyTunnelRoutingBatch(run, changes, options(), DOWN);
    expect(run.calls).toEqual([
      { argv: ['ip', '-batch', '-'], input: batchInput(FIRST) },
      { argv: ['ip', '-6', '-batch', '-'], input: batchInput(RULES6) },
    ]);
    expect(changes.size).toBe(9);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual(UNDO_ALL);
  });

  it('IPv4 only is one process; other AllowedIPs are main-table routes, most specific first', async () => {
    const run = new FakeRunner();
    await applyTunnelRoutingBatch(run, new ChangeSet(), options({
      addresses: [addr('100.64.1.2/24')],
      allowedIPs: cidrs('203.0.113.0/24', '0.0.0.0/0', '198.51.100.7/32', '100.64.1.0/24', '2001:db8:abcd::/48'),
    }), DOWN);
    expect(run.calls).toEqual([{
      argv: ['ip', '-batch', '-'],
      input: batchInput([
        'address add 100.64.1.2/24 dev tun0',
        'link set dev tun0 mtu 1420 up',
        'route add 198.51.100.7/32 dev tun0',
        'route add 203.0.113.0/24 dev tun0',
        'route add 2001:db8:abcd::/48 dev tun0',
        'route add 0.0.0.0/0 dev tun0 table 30061',
        'rule add not fwmark 0x756d table 30061',
        'rule add table main suppress_prefixlength 0',
      ]),
    }]);
  });

  it('without the link state, reads it first with `ip -j link show`, and restores it on undo', async () => {
    const run = new FakeRunner().respond(/^ip -j link show/, '[{"ifname":"tun0","flags":["UP"],"mtu":1380}]');
    const changes = new ChangeSet();
    await applyTunnelRoutingBatch(run, changes, options({ addresses: [], allowedIPs: cidrs('198.51.100.0/24') }));
    expect(run.lines).toEqual(['ip -j link show dev tun0', 'ip -batch -']);
    run.clearCalls();
    await changes.undoAll();
    expect(run.lines).toEqual(['ip -4 route del 198.51.100.0/24 dev tun0', 'ip link set dev tun0 mtu 1380']);
  });

  it('a failing line: exactly the lines before it are undone', async () => {
    const run = new FakeRunner().failOn(/^ip -batch/, { exitCode: 1, stderr: 'Error: Nexthop device is not up.\nCommand failed -:4\n' });
    const changes = new ChangeSet();
    const err = await applyTunnelRoutingBatch(run, changes, options(), DOWN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toMatch(/Nexthop device is not up/);
    expect(changes.size).toBe(3);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual(UNDO_ALL.slice(-3));
  });

  it('a failure in the IPv6 rules keeps the first batch and the IPv6 rules before it', async () => {
    const run = new FakeRunner().failOn(/^ip -6 -batch/, { exitCode: 1, stderr: 'RTNETLINK answers: Operation not permitted\nCommand failed -:2\n' });
    const changes = new ChangeSet();
    await expect(applyTunnelRoutingBatch(run, changes, options(), DOWN)).rejects.toThrow(CommandError);
    expect(changes.size).toBe(8);
    run.clearCalls();
    await changes.undoAll();
    expect(run.lines).toEqual(UNDO_ALL.slice(1));
  });

  it('ip that never ran leaves nothing to undo; one that says nothing keeps every undo (they tolerate "gone")', async () => {
    const notStarted = { run: (argv: string[]) => Promise.reject(new CommandError(argv, null, '', 'could not be started (ENOENT)')) };
    const c1 = new ChangeSet();
    await expect(applyTunnelRoutingBatch(notStarted, c1, options(), DOWN)).rejects.toThrow();
    expect(c1.size).toBe(0);
    const silent = new FakeRunner().failOn(/^ip -batch/, { exitCode: 1, stderr: 'Killed' });
    const c2 = new ChangeSet();
    await expect(applyTunnelRoutingBatch(silent, c2, options(), DOWN)).rejects.toThrow();
    expect(c2.size).toBe(7);
  });

  it('checks its options before running anything', async () => {
    const run = new FakeRunner();
    await expect(applyTunnelRoutingBatch(run, new ChangeSet(), options({ dev: 'bad dev' }), DOWN)).rejects.toThrow(/interface name/);
    await expect(applyTunnelRoutingBatch(run, new ChangeSet(), options({ table: 254 }), DOWN)).rejects.toThrow(/reserved/);
    await expect(applyTunnelRoutingBatch(run, new ChangeSet(), options({ fwmark: 0 }), DOWN)).rejects.toThrow(/fwmark/);
    expect(run.calls).toEqual([]);
  });
});
