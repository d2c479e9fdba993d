// The systemd units: `systemd-analyze verify` accepts both without a single warning (it works
// without systemd as PID 1), and the boot ordering directives are what README.md explains.
// verify insists that ExecStart= binaries exist, so it checks copies in a temporary directory
// in which /usr/lib/umbra/umbrad (not installed here) is replaced by /bin/true; nft's path is
// kept when /usr/sbin/nft exists. Skipped where systemd-analyze is missing. The hardening of
// umbrad.service is checked line by line, and scored with `systemd-analyze security --offline`
// (systemd >= 252) against the band README.md states.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dropIn } from '../commands/dns-access.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const UNITS = ['umbrad.service', 'umbra-early-boot.service'] as const;
const text = (unit: string) => readFileSync(join(here, unit), 'utf8');

/** key -> values (in order) of one section; repeated keys add up, as systemd reads them. */
function section(unitText: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of unitText.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      current = head[1]!;
      continue;
    }
    if (current !== name) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}
const words = (s: Map<string, string[]>, key: string) => (s.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'umbra-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!analyze)('systemd-analyze verify', () => {
  it('accepts both units without warnings', () => {
    const paths = UNITS.map((u) => {
      let t = text(u).replaceAll('/usr/lib/umbra/umbrad', '/bin/true');
      if (!existsSync('/usr/sbin/nft')) t = t.replaceAll('/usr/sbin/nft', '/bin/true');
      const p = join(tmp, u);
      writeFileSync(p, t);
      return p;
    });
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('accepts umbrad.service with the dns-access drop-in', () => {
    const p = join(tmp, 'umbrad.service');
    writeFileSync(p, text('umbrad.service').replaceAll('/usr/lib/umbra/umbrad', '/bin/true') + dropIn(['/etc', '/run/resolvconf']));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', p], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails on a broken copy (so the check above means something)', () => {
    const p = join(tmp, 'umbra-early-boot.service');
    writeFileSync(p, text('umbra-early-boot.service').replace('Type=oneshot', 'Type=oneshot\nRemainAfterExitt=yes').replace('/usr/sbin/nft', '/nonexistent/nft'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', p], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/Unknown key 'RemainAfterExitt'/);
    expect(r.status).not.toBe(0);
  });
});

describe('ordering', () => {
  it('umbra-early-boot loads the ruleset before any network and before the helper', () => {
    const unit = section(text('umbra-early-boot.service'), 'Unit');
    const service = section(text('umbra-early-boot.service'), 'Service');
    const install = section(text('umbra-early-boot.service'), 'Install');
    expect(unit.get('DefaultDependencies')).toEqual(['no']);
    expect(words(unit, 'Before')).toEqual(expect.arrayContaining(['network-pre.target', 'umbrad.service', 'shutdown.target']));
    expect(words(unit, 'Wants')).toContain('network-pre.target');
    expect(unit.get('RequiresMountsFor')).toEqual(['/var/lib/umbra']);
    expect(unit.get('ConditionPathExists')).toEqual(['/var/lib/umbra/boot-killswitch.nft']);
    expect(words(unit, 'After')).not.toContain('network.target');
    expect(service.get('Type')).toEqual(['oneshot']);
    expect(service.get('RemainAfterExit')).toEqual(['yes']);
    expect(service.get('ExecStart')).toEqual(['/usr/sbin/nft -f /var/lib/umbra/boot-killswitch.nft']);
    expect(install.get('WantedBy')).toEqual(['sysinit.target']);
  });

  it('umbrad starts after the boot block, restarts always, and keeps its capabilities', () => {
    const unit = section(text('umbrad.service'), 'Unit');
    const service = section(text('umbrad.service'), 'Service');
    expect(words(unit, 'After')).toEqual(expect.arrayContaining(['network-pre.target', 'umbra-early-boot.service']));
    // After the DNS managers it talks to: up before it looks at boot, still up when it undoes at shutdown.
    expect(words(unit, 'After')).toEqual(expect.arrayContaining(['dbus.service', 'NetworkManager.service', 'systemd-resolved.service']));
    expect(words(unit, 'Requires').concat(words(unit, 'Wants'))).not.toContain('NetworkManager.service');
    expect(words(unit, 'After')).not.toContain('network-online.target');
    expect(service.get('ExecStart')).toEqual(['/usr/lib/umbra/umbrad serve']);
    expect(service.get('Restart')).toEqual(['always']);
    expect(service.get('RestartSec')).toEqual(['1']);
    expect(service.get('RuntimeDirectory')).toEqual(['umbra']);
    expect(service.get('StateDirectory')).toEqual(['umbra']);
    expect(words(service, 'CapabilityBoundingSet')).toEqual(expect.arrayContaining(['CAP_NET_ADMIN', 'CAP_NET_RAW']));
    expect(service.get('DeviceAllow')).toEqual(['/dev/net/tun rw']);
    expect(words(service, 'RestrictAddressFamilies')).toEqual(expect.arrayContaining(['AF_NETLINK', 'AF_UNIX', 'AF_INET', 'AF_INET6']));
    expect(section(text('umbrad.service'), 'Install').get('WantedBy')).toEqual(['multi-user.target']);
    // The socket's directory: root's, reachable by the group only (the helper gives it group
    // umbra), so the path cannot be swapped and non-members do not even see the socket.
    expect(service.get('RuntimeDirectoryMode')).toEqual(['0750']);
    expect(service.get('User')).toEqual(['root']);
    expect(service.get('RuntimeDirectoryPreserve') ?? ['no']).toEqual(['no']);
    expect(words(service, 'CapabilityBoundingSet')).toContain('CAP_CHOWN');
    // Nothing lifts the kill switch when the helper stops (fail closed).
    expect(service.has('ExecStop')).toBe(false);
    expect(service.has('ExecStopPost')).toBe(false);
  });
});

describe('umbrad.service hardening', () => {
  const service = section(text('umbrad.service'), 'Service');

  it('writes only its state and its run directory; DNS adds at most resolv.conf\'s directory, in a drop-in', () => {
    expect(service.get('ProtectSystem')).toEqual(['strict']);
    // Not /etc, not /run: `umbrad dns-access` grants resolv.conf's directory where it is needed.
    expect(service.has('ReadWritePaths')).toBe(false);
    expect(service.get('StateDirectoryMode')).toEqual(['0700']);
    expect(service.get('ProtectHome')).toEqual(['yes']);
    expect(service.get('PrivateTmp')).toEqual(['yes']);
    const drop = section(dropIn(['/etc']), 'Service');
    expect([...drop.keys()]).toEqual(['ReadWritePaths']);
    expect(words(drop, 'ReadWritePaths')).toEqual(['-/etc']);
  });

  it('holds only the capabilities it needs, no new privileges, no core dumps', () => {
    expect(words(service, 'CapabilityBoundingSet').sort()).toEqual(['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_NET_RAW']);
    expect(service.has('AmbientCapabilities')).toBe(false);
    expect(service.get('NoNewPrivileges')).toEqual(['yes']);
    expect(service.get('LimitCORE')).toEqual(['0']);
  });

  it('filters system calls and address families, and protects the kernel', () => {
    expect(service.get('SystemCallFilter')).toEqual(['@system-service']);
    expect(service.get('SystemCallArchitectures')).toEqual(['native']);
    expect(words(service, 'RestrictAddressFamilies').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    for (const key of ['ProtectKernelModules', 'ProtectKernelTunables', 'ProtectKernelLogs', 'ProtectClock', 'ProtectHostname', 'PrivateMounts', 'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID', 'LockPersonality']) {
      expect(service.get(key), key).toEqual(['yes']);
    }
    expect(service.get('DevicePolicy')).toEqual(['closed']);
    // Split tunnelling writes the cgroup tree (the unit's comment says why).
    expect(service.get('ProtectControlGroups')).toEqual(['no']);
  });

  it('does not set what would break it (see the unit\'s comment)', () => {
    // ProtectProc=invisible would hide callers' /proc/<pid>/status from the permission check;
    // ProcSubset=pid hides boot_id; ~@resources holds setrlimit (core dumps off at start).
    for (const key of ['ProtectProc', 'ProcSubset', 'PrivateDevices', 'PrivateNetwork', 'PrivateUsers', 'MemoryDenyWriteExecute']) {
      expect(service.has(key), key).toBe(false);
    }
  });
});

// systemd-analyze's bands (src/analyze/analyze-security.c): 0 PERFECT, < 1.0 SAFE, < 5.0 OK (the
// one we claim), < 7.5 MEDIUM, < 9.0 EXPOSED, then UNSAFE, DANGEROUS. --offline exists from 252.
const systemdVersion = analyze ? Number(/systemd (\d+)/.exec(spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 0) : 0;

describe.skipIf(systemdVersion < 252)('systemd-analyze security --offline', () => {
  const score = (unitText: string): { value: number; band: string; out: string } => {
    const p = join(tmp, 'umbrad.service');
    writeFileSync(p, unitText.replaceAll('/usr/lib/umbra/umbrad', '/bin/true'));
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', p], { encoding: 'utf8' });
    const m = /Overall exposure level for umbrad\.service: (\d+\.\d) (\w+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    return { value: Number(m![1]), band: m![2]!, out: r.stdout };
  };

  it('scores umbrad.service in the OK band or better, as packaging/README.md says', () => {
    const { value, band } = score(text('umbrad.service'));
    expect(['PERFECT', 'SAFE', 'OK']).toContain(band);
    expect(value).toBeLessThan(5);
    // The number written in packaging/README.md is the one systemd-analyze gives today.
    const readme = readFileSync(join(here, '../../packaging/README.md'), 'utf8');
    expect(readme).toContain(`exposure level ${value.toFixed(1)} ${band}`);
  });

  it('scores worse without the hardening (so the check above measures the unit)', () => {
    const bare = text('umbrad.service')
      .split('\n')
      .filter((l) => !/^(Protect|Private|Restrict|SystemCall|CapabilityBoundingSet|NoNewPrivileges|LockPersonality|DevicePolicy|DeviceAllow)/.test(l))
      .join('\n');
    const { value } = score(bare);
    expect(value).toBeGreaterThan(score(text('umbrad.service')).value + 2);
  });
});
