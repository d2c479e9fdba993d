import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../net/ip.js';
import { CommandError } from '../exec.js';
import { FakeRunner } from '../testing/fake-runner.js';
import { ChangeSet } from '../undo.js';
import { UMBRA_FWMARK, UMBRA_TABLE } from './constants.js';
import { addAddress, addRoute, addRule, applyTunnelRouting, ruleArgs, setLinkUp, type TunnelRoutingOptions } from './routes.js';

const LINK_DOWN = '[{"ifindex":7,"ifname":"tun0","flags":["POINTOPOINT","MULTICAST","NOARP"],"mtu":1500,"operstate":"DOWN"}]';
const LINK_UP = '[{"ifindex":7,"ifname":"tun0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1380,"operstate":"UNKNOWN"}]';

function fake(linkJson = LINK_DOWN): FakeRunner {
  return new FakeRunner().respond(/^ip -j link show dev /, linkJson);
}

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

describe('constants', () => {
  it('are 0x756d', () => {
    expect(UMBRA_FWMARK).toBe(0x756d);
    expect(UMBRA_TABLE).toBe(30061);
  });
});

describe('single changes and their undos', () => {
  it('addAddress adds and deletes with the family flag', async () => {
    const run = fake();
    const undo4 = await addAddress(run, 'tun0', addr('100.64.1.2/24'));
    const undo6 = await addAddress(run, 'tun0', addr('2001:db8:ff::2/64'));
    await undo6();
    await undo4();
    expect(run.lines).toEqual([
      'ip -4 address add 100.64.1.2/24 dev tun0',
      'ip -6 address add 2001:db8:ff::2/64 dev tun0',
      'ip -6 address del 2001:db8:ff::2/64 dev tun0',
      'ip -4 address del 100.64.1.2/24 dev tun0',
    ]);
  });

  it('setLinkUp reads the link first and its undo restores MTU and down state', async () => {
    const run = fake(LINK_DOWN);
    const undo = await setLinkUp(run, 'tun0', 1420);
    await undo();
    expect(run.lines).toEqual(['ip -j link show dev tun0', 'ip link set dev tun0 mtu 1420 up', 'ip link set dev tun0 mtu 1500 down']);
  });

  it('setLinkUp on a link that was already up leaves it up on undo', async () => {
    const run = fake(LINK_UP);
    await (await setLinkUp(run, 'tun0', 1280))();
    expect(run.lines.at(-1)).toBe('ip link set dev tun0 mtu 1380');
  });

  it('setLinkUp refuses output it cannot read, before changing anything', async () => {
    const run = new FakeRunner().respond(/link show/, 'not json');
    await expect(setLinkUp(run, 'tun0', 1420)).rejects.toThrow(/could not read the state of tun0/);
    expect(run.lines).toEqual(['ip -j link show dev tun0']);
  });

  it('addRoute uses main unless a table is given', async () => {
    const run = fake();
    await (await addRoute(run, { dest: parsePrefix('203.0.113.0/24'), dev: 'tun0' }))();
    await (await addRoute(run, { dest: parsePrefix('::/0'), dev: 'tun0', table: 30061 }))();
    expect(run.lines).toEqual([
      'ip -4 route add 203.0.113.0/24 dev tun0',
      'ip -4 route del 203.0.113.0/24 dev tun0',
      'ip -6 route add ::/0 dev tun0 table 30061',
      'ip -6 route del ::/0 dev tun0 table 30061',
    ]);
  });

  it('addRule deletes by exactly the spec it added', async () => {
    const run = fake();
    await (await addRule(run, { family: 4, not: true, fwmark: 0x756d, table: 30061 }))();
    await (await addRule(run, { family: 6, table: 'main', suppressPrefixLength: 0 }))();
    await (await addRule(run, { family: 4, priority: 100, fwmark: 1, table: 7 }))();
    expect(run.lines).toEqual([
      'ip -4 rule add not fwmark 0x756d table 30061',
      'ip -4 rule del not fwmark 0x756d table 30061',
      'ip -6 rule add table main suppress_prefixlength 0',
      'ip -6 rule del table main suppress_prefixlength 0',
      'ip -4 rule add priority 100 fwmark 0x1 table 7',
      'ip -4 rule del priority 100 fwmark 0x1 table 7',
    ]);
    expect(ruleArgs({ family: 4, table: 'main' })).toEqual(['table', 'main']);
  });

  it('a failed change returns no undo and the error names the command', async () => {
    const run = fake().failOn(/route add/, { stderr: 'RTNETLINK answers: File exists\n' });
    const err = await addRoute(run, { dest: parsePrefix('203.0.113.0/24'), dev: 'tun0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toBe('ip -4 route add 203.0.113.0/24 dev tun0: exited with 2: RTNETLINK answers: File exists');
    expect((err as CommandError).exitCode).toBe(2);
  });

  it('rejects bad arguments before running anything', async () => {
    const run = fake();
    await expect(addAddress(run, 'has space', addr('100.64.0.2/32'))).rejects.toThrow(/not a valid interface name/);
    await expect(addAddress(run, 'waytoolonginterface', addr('100.64.0.2/32'))).rejects.toThrow(/interface name/);
    await expect(setLinkUp(run, 'tun0', 100)).rejects.toThrow(/MTU/);
    await expect(addRoute(run, { dest: parsePrefix('::/0'), dev: 'tun0', table: 254 })).rejects.toThrow(/reserved/);
    await expect(addRule(run, { family: 4, table: 0 })).rejects.toThrow(/routing table/);
    await expect(addRule(run, { family: 4, table: 5, fwmark: 0 })).rejects.toThrow(/fwmark/);
    await expect(addRule(run, { family: 4, table: 5, suppressPrefixLength: 33 })).rejects.toThrow(/suppress_prefixlength/);
    await expect(applyTunnelRouting(run, new ChangeSet(), options({ fwmark: 1.5 }))).rejects.toThrow(/fwmark/);
    expect(run.calls).toEqual([]);
  });
});

describe('undos treat "already gone" as done', () => {
  it.each([
    ['address', /address del/, 'Error: ipv4: Address not found.'],
    ['address on an older kernel', /address del/, 'RTNETLINK answers: Cannot assign requested address'],
    ['address of a closed device', /address del/, 'Cannot find device "tun0"'],
    ['route', /route del/, 'RTNETLINK answers: No such process'],
    ['route of a closed device', /route del/, 'Cannot find device "tun0"'],
    ['rule', /rule del/, 'RTNETLINK answers: No such file or directory'],
    ['link of a closed device', /link set dev tun0 mtu 1500/, 'Cannot find device "tun0"'],
  ])('%s', async (_what, match, stderr) => {
    const run = fake().failOn(match, { stderr });
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, options({ addresses: [addr('100.64.0.2/32')], allowedIPs: cidrs('0.0.0.0/0') }));
    expect(await changes.undoAll()).toEqual([]);
  });

  it('but other failures are reported, and the remaining undos still run', async () => {
    const run = fake().failOn(/rule del not fwmark/, { stderr: 'RTNETLINK answers: Operation not permitted' });
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, options({ addresses: [addr('100.64.0.2/32')], allowedIPs: cidrs('0.0.0.0/0') }));
    run.clearCalls();
    const failures = await changes.undoAll();
    expect(failures.map((e) => e.message)).toEqual([
      'undo "IPv4 rule not fwmark 0x756d table 30061" failed: ip -4 rule del not fwmark 0x756d table 30061: exited with 2: RTNETLINK answers: Operation not permitted',
    ]);
    expect(run.lines).toHaveLength(5);
  });
});

describe('applyTunnelRouting', () => {
  it('follows the wg-quick scheme for a full tunnel, and undoes it in reverse', async () => {
    const run = fake();
    const changes = new ChangeSet();
    await applyTunnelRouting(run, changes, options());
    expect(run.lines).toEqual([
      'ip -4 address add 100.64.0.2/32 dev tun0',
      'ip -6 address add 2001:db8:ff::2/128 dev tun0',
      'ip -j link show dev tun0',
      'ip link set dev tun0 mtu 1420 up',
      'ip -4 route add 0.0.0.0/0 dev tun0 table 30061',
      'ip -4 rule add not fwmark 0x756d table 30061',
      'ip -4 rule add table main suppress_prefixlength 0',
      'ip -6 route add ::/0 dev tun0 table 30061',
      'ip -6 rule add not fwmark 0x756d table 30061',
      'ip -6 rule add table main suppress_prefixlength 0',
    ]);
    expect(changes.size).toBe(9);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual([
      'ip -6 rule del table main suppress_prefixlength 0',
      'ip -6 rule del not fwmark 0x756d table 30061',
      'ip -6 route del ::/0 dev tun0 table 30061',
      'ip -4 rule del table main suppress_prefixlength 0',
      'ip -4 rule del not fwmark 0x756d table 30061',
      'ip -4 route del 0.0.0.0/0 dev tun0 table 30061',
      'ip link set dev tun0 mtu 1500 down',
      'ip -6 address del 2001:db8:ff::2/128 dev tun0',
      'ip -4 address del 100.64.0.2/32 dev tun0',
    ]);
    expect(changes.size).toBe(0);
  });

  it('routes ::/0 into the tunnel even without an IPv6 address on it (so IPv6 is blocked, not leaked)', async () => {
    const run = fake();
    await applyTunnelRouting(run, new ChangeSet(), options({ addresses: [addr('100.64.0.2/32')] }));
    expect(run.lines).toContain('ip -6 route add ::/0 dev tun0 table 30061');
    expect(run.lines).toContain('ip -6 rule add not fwmark 0x756d table 30061');
    expect(run.lines.filter((l) => l.startsWith('ip -6 address'))).toEqual([]);
  });

  it('adds rules only for families with a /0; other AllowedIPs are main-table routes, most specific first', async () => {
    const run = fake();
    const changes = new ChangeSet();
    await applyTunnelRouting(
      run,
      changes,
      options({
        addresses: [addr('100.64.1.2/24'), addr('2001:db8:ff::2/64')],
        fwmark: 0x1234,
        table: 1000,
        // Duplicates and the tunnel's own subnets (the kernel routes those already) are skipped.
        allowedIPs: cidrs('203.0.113.0/24', '0.0.0.0/0', '198.51.100.7/32', '100.64.1.0/24', '2001:db8:ff::/64', '2001:db8:abcd::/48', '203.0.113.9/24'),
      }),
    );
    expect(run.lines.slice(4)).toEqual([
      'ip -4 route add 198.51.100.7/32 dev tun0',
      'ip -4 route add 203.0.113.0/24 dev tun0',
      'ip -6 route add 2001:db8:abcd::/48 dev tun0',
      'ip -4 route add 0.0.0.0/0 dev tun0 table 1000',
      'ip -4 rule add not fwmark 0x1234 table 1000',
      'ip -4 rule add table main suppress_prefixlength 0',
    ]);
    expect(run.lines.some((l) => l.includes('ip -6 rule'))).toBe(false);
  });

  it('a split tunnel adds no rules at all', async () => {
    const run = fake();
    await applyTunnelRouting(run, new ChangeSet(), options({ allowedIPs: cidrs('198.51.100.0/24', '2001:db8:1::/48') }));
    expect(run.lines.filter((l) => l.includes(' rule ') || l.includes(' table '))).toEqual([]);
  });

  it('a failure half-way leaves a ChangeSet that undoes just what was done', async () => {
    const run = fake().failOn('ip -6 route add ::/0 dev tun0 table 30061', { stderr: 'Error: IPv6 is disabled on nexthop device.\n' });
    const changes = new ChangeSet();
    const err = await applyTunnelRouting(run, changes, options()).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/IPv6 is disabled on nexthop device/);
    expect(changes.size).toBe(6);
    run.clearCalls();
    expect(await changes.undoAll()).toEqual([]);
    expect(run.lines).toEqual([
      'ip -4 rule del table main suppress_prefixlength 0',
      'ip -4 rule del not fwmark 0x756d table 30061',
      'ip -4 route del 0.0.0.0/0 dev tun0 table 30061',
      'ip link set dev tun0 mtu 1500 down',
      'ip -6 address del 2001:db8:ff::2/128 dev tun0',
      'ip -4 address del 100.64.0.2/32 dev tun0',
    ]);
  });

  it('a failure at the first step leaves nothing to undo', async () => {
    const run = fake().failOn(/address add/, { stderr: 'Cannot find device "tun0"' });
    const changes = new ChangeSet();
    await expect(applyTunnelRouting(run, changes, options())).rejects.toThrow(CommandError);
    expect(changes.size).toBe(0);
  });
});
