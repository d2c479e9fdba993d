// Lab test of applyTunnelRoutingBatch, the `ip -batch` routing the tunnel uses: inside a network
// namespace of its own (urb-<pid>, never connected to the host) it must leave the kernel in the
// very state applyTunnelRouting leaves it in, and its undo (also after a failure half-way, also
// next to state that was there before) must restore exactly what was there. Needs root and
// iproute2; skipped otherwise. The namespace is deleted afterwards, also when a test fails.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrefix } from '../net/ip.js';
import { systemRunner } from '../platform/exec.js';
import { UMBRA_FWMARK, UMBRA_TABLE } from '../platform/routing/constants.js';
import { applyTunnelRouting, applyTunnelRoutingBatch, type TunnelRoutingOptions } from '../platform/routing/routes.js';
import { netnsRunner } from '../platform/testing/netns-runner.js';
import { ChangeSet } from '../platform/undo.js';

const ns = `urb-${process.pid}`;
const isRoot = process.getuid?.() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const run = netnsRunner(ns);

async function inNs(...argv: string[]): Promise<string> {
  return (await run.run(argv)).stdout;
}

async function snapshot(): Promise<string> {
  const parts = await Promise.all([
    inNs('ip', '-4', 'rule'),
    inNs('ip', '-6', 'rule'),
    inNs('ip', '-4', 'route', 'show', 'table', 'all'),
    inNs('ip', '-6', 'route', 'show', 'table', 'all'),
    inNs('ip', 'address'),
  ]);
  // The qdisc a link gets when first up is the kernel's doing, not a change of ours.
  return parts.join('----\n').replace(/ qdisc \S+/g, '');
}

const cidr = (t: string) => parsePrefix(t);
const address = (t: string) => parsePrefix(t, { keepHostBits: true });

function options(over: Partial<TunnelRoutingOptions> = {}): TunnelRoutingOptions {
  return {
    dev: 'tun0',
    addresses: [address('100.64.0.2/24'), address('2001:db8:ff::2/64')],
    mtu: 1420,
    allowedIPs: ['198.51.100.128/25', '0.0.0.0/0', '::/0'].map(cidr),
    fwmark: UMBRA_FWMARK,
    table: UMBRA_TABLE,
    ...over,
  };
}

describe.skipIf(!isRoot || !hasIp)(`batched routing in namespace ${ns}`, () => {
  beforeAll(async () => {
    await systemRunner.run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    await systemRunner.run(['ip', 'netns', 'add', ns]);
    await inNs('ip', 'link', 'set', 'dev', 'lo', 'up');
    await inNs('sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
    await inNs('ip', 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    await inNs('ip', 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink-peer');
    await inNs('ip', 'link', 'set', 'dev', 'uplink-peer', 'up');
    await inNs('ip', '-4', 'address', 'add', '198.51.100.2/24', 'dev', 'uplink');
    await inNs('ip', 'link', 'set', 'dev', 'uplink', 'up');
    await inNs('ip', '-4', 'route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'uplink', 'onlink');
  });

  afterAll(async () => {
    await systemRunner.run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  });

  it('leaves the state applyTunnelRouting leaves, and undoes it to what was there', async () => {
    const before = await snapshot();
    const reference = new ChangeSet();
    await applyTunnelRouting(run, reference, options());
    const expected = await snapshot();
    const referenceSize = reference.size;
    expect(await reference.undoAll()).toEqual([]);
    expect(await snapshot()).toBe(before);

    const changes = new ChangeSet();
    await applyTunnelRoutingBatch(run, changes, options(), { mtu: 1500, up: false });
    expect(await snapshot()).toBe(expected);
    expect(changes.size).toBe(referenceSize);
    expect(await changes.undoAll()).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it('a failure half-way (IPv6 disabled on the tunnel) is undone exactly', async () => {
    await inNs('sysctl', '-q', '-w', 'net.ipv6.conf.tun0.disable_ipv6=1');
    try {
      const before = await snapshot();
      const changes = new ChangeSet();
      await expect(applyTunnelRoutingBatch(run, changes, options({ addresses: [address('100.64.0.2/24')] }))).rejects.toThrow(/IPv6 is disabled|Command failed/);
      expect(changes.size).toBeGreaterThan(0);
      expect(await changes.undoAll()).toEqual([]);
      expect(await snapshot()).toBe(before);
    } finally {
      await inNs('sysctl', '-q', '-w', 'net.ipv6.conf.tun0.disable_ipv6=0');
    }
  });

  it('what was there before and made a line fail is left alone by the undo', async () => {
    // Someone else's route, the same as one the tunnel adds: the batch stops there. (With an
    // address of its own: the kernel drops a link's routes with its last IPv4 address.)
    await inNs('ip', 'link', 'set', 'dev', 'tun0', 'up');
    await inNs('ip', '-4', 'address', 'add', '10.9.9.9/32', 'dev', 'tun0');
    await inNs('ip', '-4', 'route', 'add', '198.51.100.128/25', 'dev', 'tun0');
    try {
      const before = await snapshot();
      const changes = new ChangeSet();
      // (IPv4 only: an IPv6 address on a link that stays up leaves the kernel's ff00::/8 route.)
      await expect(applyTunnelRoutingBatch(run, changes, options({ addresses: [address('100.64.0.2/24')] }))).rejects.toThrow(/File exists|Command failed/);
      expect(await changes.undoAll()).toEqual([]);
      const after = await snapshot();
      expect(after).toContain('198.51.100.128/25 dev tun0');
      // The link's state was read first and is restored as it was (up).
      expect(after).toBe(before);
    } finally {
      await inNs('ip', '-4', 'route', 'del', '198.51.100.128/25', 'dev', 'tun0').catch(() => undefined);
      await inNs('ip', '-4', 'address', 'del', '10.9.9.9/32', 'dev', 'tun0').catch(() => undefined);
      await inNs('ip', 'link', 'set', 'dev', 'tun0', 'down');
    }
  });
});
