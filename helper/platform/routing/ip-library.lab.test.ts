// The routing through rtnetlink against the routing through `ip`, in two fresh namespaces of their
// own (never linked to the host): a child process in each runs the same scenarios
// (testdata/ip-library-child.ts), one with `ip` processes, one through the addon. The kernel must
// then hold the same addresses, routes, rules and link settings, failures must read the same, and
// every undo must restore what was there; the library's run must start no `ip` process.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { labSkipReason } from '../tun/testdata/lab-child.js';

const child = fileURLToPath(new URL('./testdata/ip-library-child.ts', import.meta.url));
const register = fileURLToPath(new URL('../tun/testdata/ts-register.mjs', import.meta.url));
const reason = labSkipReason();
const made: string[] = [];

interface Report {
  error: string | null;
  applied: string;
  undoFailures: number;
  restored: boolean;
}

/** The child's report from a namespace of its own. */
function runIn(backend: 'process' | 'library'): { reports: Record<string, Report>; unavailable: string[]; processes: number } {
  const ns = `uil-${backend[0]}-${process.pid}`;
  spawnSync('ip', ['netns', 'del', ns]);
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 198.51.100.53\n');
  execFileSync('ip', ['netns', 'add', ns]);
  made.push(ns);
  const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', register, child, backend], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as ReturnType<typeof runIn>;
}

describe.skipIf(reason !== undefined)('the routing through rtnetlink (lab)', () => {
  afterAll(() => {
    for (const ns of made) {
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
  });

  it('leaves the kernel as `ip` does, fails in its words and undoes exactly, with no ip process', () => {
    const viaIp = runIn('process');
    const viaLibrary = runIn('library');
    expect(viaLibrary.unavailable).toEqual([]);
    expect(viaLibrary.processes).toBe(0);
    expect(viaIp.processes).toBeGreaterThan(0);
    for (const [name, report] of Object.entries(viaIp.reports)) {
      expect({ name, ...viaLibrary.reports[name] }).toEqual({ name, ...report });
    }
    const r = viaLibrary.reports;
    // The scenarios did what they are named after (the same in both, as just checked).
    expect(r.full!.applied).toMatch(/not from all fwmark 0x756d lookup 30061/);
    expect(r.full!.applied).toMatch(/from all fwmark 0x7578 lookup main/);
    expect(r.ipv4Only!.applied).toMatch(/addrgenmode none/);
    expect(r.ipv4Only!.applied).not.toMatch(/inet6 fe80/);
    expect(r.ipv6Disabled!.error).toMatch(/^ip route add ::\/0 dev tun0 table 30061: .*IPv6 is disabled/);
    expect(r.routeExists!.error).toMatch(/^ip route add 198.51.100.128\/25 dev tun0: .*File exists/);
    expect(r.noDevice!.error).toMatch(/Cannot find device "tun9"/);
    for (const [name, report] of Object.entries(r)) {
      expect({ name, undoFailures: report.undoFailures, restored: report.restored }).toEqual({ name, undoFailures: 0, restored: true });
      if (!['ipv6Disabled', 'routeExists', 'noDevice'].includes(name)) expect({ name, error: report.error }).toEqual({ name, error: null });
    }
  });
});
