// Lab test of the routing scheme: runs applyTunnelRouting (`ip -batch`) for real, inside a network
// namespace of its own (urt-<pid>) that is never connected to the host, and checks what the kernel
// then does with packets, and that every undo (also after a failure half-way, also next to state
// that was there before) restores exactly what was there. Needs root and iproute2; skipped otherwise. The namespace is deleted afterwards,
// also when a test fails.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRunner } from '../exec.js';
import { netnsRunner } from '../testing/netns-runner.js';
import { ChangeSet } from '../undo.js';
import { applyTunnelRouting } from './routes.js';
import { address, cidr, labRouting } from './testdata/lab-options.js';

const ns = `urt-${process.pid}`;
const isRoot = process.getuid?.() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const run = netnsRunner(ns);

/** Runs a command inside the lab namespace and returns its stdout. */
async function inNs(...argv: string[]): Promise<string> {
  return (await run.run(argv)).stdout;
}

/** Adds a stand-in link: a dummy where the kernel has the module, else a TUN (unattached) or veth. */
async function addStandIn(name: string, fallback: 'tun' | 'veth'): Promise<void> {
  try {
    await inNs('ip', 'link', 'add', name, 'type', 'dummy');
  } catch {
    if (fallback === 'tun') await inNs('ip', 'tuntap', 'add', 'dev', name, 'mode', 'tun');
    else {
      // The peer end stays inside the namespace and only gives the link a carrier.
      await inNs('ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}-peer`);
      await inNs('ip', 'link', 'set', 'dev', `${name}-peer`, 'up');
    }
  }
}

async function snapshot(): Promise<string> {
  const parts = await Promise.all([
    inNs('ip', '-4', 'rule'),
    inNs('ip', '-6', 'rule'),
    inNs('ip', '-4', 'route', 'show', 'table', 'all'),
    inNs('ip', '-6', 'route', 'show', 'table', 'all'),
    inNs('ip', 'address'),
  ]);
  // A link gets its default qdisc the first time it goes up and keeps it: the kernel's doing, not
  // a change of ours, and not an address, route or rule.
  return parts.join('----\n').replace(/ qdisc \S+/g, '');
}

async function routeDev(...args: string[]): Promise<string> {
  const out = await inNs('ip', ...args);
  return /\bdev (\S+)/.exec(out)?.[1] ?? `(no dev in: ${out.trim()})`;
}

/** The priority of the first rule whose text contains `text`. */
async function rulePref(family: '-4' | '-6', text: string): Promise<number> {
  const line = (await inNs('ip', family, 'rule')).split('\n').find((l) => l.includes(text));
  return line ? Number(line.split(':')[0]) : NaN;
}

async function deleteNamespace(): Promise<void> {
  await systemRunner.run(['ip', 'netns', 'del', ns]).catch(() => undefined);
}

const options = labRouting;

describe.skipIf(!isRoot || !hasIp)('routing in a lab namespace', () => {
  beforeAll(async () => {
    try {
      await deleteNamespace(); // a stale one from an earlier run with the same pid
      await systemRunner.run(['ip', 'netns', 'add', ns]);
      await inNs('ip', 'link', 'set', 'dev', 'lo', 'up');
      // No duplicate address detection: addresses would change from "tentative" under the snapshots.
      await inNs('sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
      await addStandIn('tun0', 'tun');
      await addStandIn('uplink', 'veth');
      await inNs('ip', '-4', 'address', 'add', '198.51.100.2/24', 'dev', 'uplink');
      await inNs('ip', '-6', 'address', 'add', '2001:db8:1::2/64', 'dev', 'uplink', 'nodad');
      await inNs('ip', 'link', 'set', 'dev', 'uplink', 'up');
      await inNs('ip', '-4', 'route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'uplink', 'onlink');
      await inNs('ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1', 'dev', 'uplink', 'onlink');
    } catch (e) {
      await deleteNamespace();
      throw e;
    }
  });

  afterAll(async () => {
    await deleteNamespace();
    const left = await systemRunner.run(['ip', 'netns', 'list']);
    expect(left.stdout.split('\n').some((l) => l.split(' ')[0] === ns)).toBe(false);
  });

  it('full tunnel: all traffic into tun0, marked traffic and the LAN out of the uplink; undo restores everything', async () => {
    const before = await snapshot();
    const changes = new ChangeSet();
    try {
      await applyTunnelRouting(run, changes, options());

      expect(await routeDev('route', 'get', '203.0.113.9')).toBe('tun0');
      expect(await routeDev('route', 'get', '203.0.113.9', 'mark', '0x756d')).toBe('uplink');
      expect(await routeDev('route', 'get', '198.51.100.77')).toBe('uplink'); // LAN: suppress_prefixlength 0
      // No IPv6 address on the tunnel, but ::/0 still goes into it (blocked there, not leaked).
      expect(await routeDev('-6', 'route', 'get', '2001:db8::9')).toBe('tun0');
      expect(await routeDev('-6', 'route', 'get', '2001:db8::9', 'mark', '0x756d')).toBe('uplink');

      for (const family of ['-4', '-6'] as const) {
        const suppress = await rulePref(family, 'lookup main suppress_prefixlength 0');
        const notMark = await rulePref(family, 'not from all fwmark 0x756d lookup 30061');
        expect(suppress).toBeLessThan(notMark); // looked up first
      }
      expect(await inNs('ip', 'link', 'show', 'dev', 'tun0')).toMatch(/mtu 1420\b/);
    } finally {
      expect(await changes.undoAll()).toEqual([]);
    }
    expect(await snapshot()).toBe(before);
  });

  it('with IPv6 and subnet addresses, and specific AllowedIPs beside the defaults', async () => {
    const before = await snapshot();
    const changes = new ChangeSet();
    try {
      await applyTunnelRouting(
        run,
        changes,
        options({
          addresses: [address('100.64.1.2/24'), address('2001:db8:ff::2/64')],
          allowedIPs: ['100.64.1.0/24', '2001:db8:ff::/64', '198.51.100.128/25', '0.0.0.0/0', '::/0'].map(cidr),
        }),
      );
      expect(await routeDev('route', 'get', '203.0.113.9')).toBe('tun0');
      expect(await routeDev('route', 'get', '198.51.100.200')).toBe('tun0'); // AllowedIP beats the LAN route
      expect(await routeDev('route', 'get', '198.51.100.77')).toBe('uplink');
      expect(await routeDev('-6', 'route', 'get', '2001:db8::9')).toBe('tun0');
      expect(await inNs('ip', '-6', 'address', 'show', 'dev', 'tun0')).toMatch(/inet6 2001:db8:ff::2\/64 /);
    } finally {
      expect(await changes.undoAll()).toEqual([]);
    }
    expect(await snapshot()).toBe(before);
  });

  it('split tunnel: only the AllowedIPs go into tun0 and no rule is added', async () => {
    const rulesBefore = await inNs('ip', 'rule');
    const before = await snapshot();
    const changes = new ChangeSet();
    try {
      await applyTunnelRouting(run, changes, options({ allowedIPs: [cidr('203.0.113.0/25')] }));
      expect(await inNs('ip', 'rule')).toBe(rulesBefore);
      expect(await routeDev('route', 'get', '203.0.113.9')).toBe('tun0');
      expect(await routeDev('route', 'get', '203.0.113.200')).toBe('uplink');
    } finally {
      expect(await changes.undoAll()).toEqual([]);
    }
    expect(await snapshot()).toBe(before);
  });

  it('a failure half-way (IPv6 disabled on the tunnel) is undone exactly', async () => {
    await inNs('sysctl', '-q', '-w', 'net.ipv6.conf.tun0.disable_ipv6=1');
    try {
      const before = await snapshot();
      const changes = new ChangeSet();
      await expect(applyTunnelRouting(run, changes, options())).rejects.toThrow(/^ip route add ::\/0 dev tun0 table 30061: .*IPv6 is disabled/);
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
      const opts = options({ addresses: [address('100.64.0.2/24')], allowedIPs: ['198.51.100.128/25', '0.0.0.0/0'].map(cidr) });
      await expect(applyTunnelRouting(run, changes, opts)).rejects.toThrow(/^ip route add 198.51.100.128\/25 dev tun0: .*File exists/);
      expect(changes.size).toBeGreaterThan(0);
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

  it('undo after the tunnel device is gone still removes the rules and reports no failure', async () => {
    const before = await snapshot();
    await addStandIn('tun1', 'tun');
    const changes = new ChangeSet();
    try {
      await applyTunnelRouting(run, changes, options({ dev: 'tun1', addresses: [address('100.64.0.3/32'), address('2001:db8:ff::3/128')] }));
      await inNs('ip', 'link', 'del', 'dev', 'tun1');
    } finally {
      expect(await changes.undoAll()).toEqual([]);
    }
    expect(await snapshot()).toBe(before);
  });
});
