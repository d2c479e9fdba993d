// Run inside a fresh lab namespace by ip-library.lab.test.ts, once with `ip` processes and once
// through rtnetlink: the scenarios of routing.lab.test.ts, each reported as what the kernel then
// holds, the error a failure gave and whether the undo restored everything. The test compares the
// two reports; they must be the same. Prints one JSON line.
import { execFileSync } from 'node:child_process';
import { systemRunner, type CommandRunner } from '../../exec.js';
import { ChangeSet } from '../../undo.js';
import { EXCLUDED_FWMARK, UMBRA_FWMARK } from '../constants.js';
import { addonIpLibrary, withIpLibrary } from '../ip-library.js';
import { applyExcludedRouting, applyTunnelRouting } from '../routes.js';
import { address, cidr, labRouting } from './lab-options.js';

const backend = process.argv[2];
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const processes: string[][] = [];
const unavailable: string[] = [];
const counting: CommandRunner = { run: (argv, o) => (processes.push(argv), systemRunner.run(argv, o)) };
const run = backend === 'library' ? withIpLibrary(counting, addonIpLibrary(), (why) => unavailable.push(why)) : counting;

function snapshot(): string {
  const parts = [ip('-4', 'rule'), ip('-6', 'rule'), ip('-4', 'route', 'show', 'table', 'all'), ip('-6', 'route', 'show', 'table', 'all'), ip('address'), ip('-d', 'link', 'show', 'dev', 'tun0')];
  return parts.join('----\n').replace(/ qdisc \S+/g, '');
}

const options = labRouting;

ip('link', 'set', 'dev', 'lo', 'up');
execFileSync('sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');

interface Report {
  error: string | null;
  applied: string;
  undoFailures: number;
  restored: boolean;
}

async function scenario(apply: (changes: ChangeSet) => Promise<void>, o: { first?: () => void; between?: () => void } = {}): Promise<Report> {
  const before = snapshot();
  o.first?.();
  const changes = new ChangeSet();
  let error: string | null = null;
  try {
    await apply(changes);
  } catch (e) {
    error = (e as Error).message;
  }
  const applied = snapshot();
  o.between?.();
  const undoFailures = (await changes.undoAll()).length;
  // No link-local stays set (it has no undo: it goes with the TUN, which this test keeps).
  const unsettable = (t: string) => t.replace(/ addrgenmode \S+/, '');
  return { error, applied, undoFailures, restored: unsettable(snapshot()) === unsettable(before) };
}

const reports: Record<string, Report> = {};
reports.full = await scenario((c) => applyTunnelRouting(run, c, options({ excludedMark: EXCLUDED_FWMARK }), { mtu: 1500, up: false }));
reports.subnets = await scenario((c) =>
  applyTunnelRouting(run, c, options({
    addresses: [address('100.64.1.2/24'), address('2001:db8:ff::2/64')],
    allowedIPs: ['100.64.1.0/24', '2001:db8:ff::/64', '198.51.100.128/25', '0.0.0.0/0', '::/0'].map(cidr),
  })),
);
reports.loopbackSmallTable = await scenario((c) =>
  applyTunnelRouting(run, c, options({
    addresses: [address('127.0.0.2/8'), address('2001:db8:ff::2/64')],
    allowedIPs: ['2001:db8:ee::/48', '0.0.0.0/0', '::/0'].map(cidr),
    table: 200,
  })),
);
reports.ipv4Only = await scenario((c) => applyTunnelRouting(run, c, options({ allowedIPs: [cidr('0.0.0.0/0')], noLinkLocal: true }), { mtu: 1500, up: false }));
reports.excludedAlone = await scenario(async (c) => {
  await applyTunnelRouting(run, c, options());
  await applyExcludedRouting(run, c, { mark: EXCLUDED_FWMARK, fwmark: UMBRA_FWMARK, families: [4, 6] });
});
execFileSync('sysctl', ['-q', '-w', 'net.ipv6.conf.tun0.disable_ipv6=1']);
reports.ipv6Disabled = await scenario((c) => applyTunnelRouting(run, c, options()));
execFileSync('sysctl', ['-q', '-w', 'net.ipv6.conf.tun0.disable_ipv6=0']);
ip('link', 'set', 'dev', 'tun0', 'up');
ip('-4', 'address', 'add', '10.9.9.9/32', 'dev', 'tun0');
ip('-4', 'route', 'add', '198.51.100.128/25', 'dev', 'tun0');
reports.routeExists = await scenario((c) => applyTunnelRouting(run, c, options({ addresses: [address('100.64.0.2/24')], allowedIPs: ['198.51.100.128/25', '0.0.0.0/0'].map(cidr) })));
ip('-4', 'route', 'del', '198.51.100.128/25', 'dev', 'tun0');
ip('-4', 'address', 'del', '10.9.9.9/32', 'dev', 'tun0');
ip('link', 'set', 'dev', 'tun0', 'down');
reports.noDevice = await scenario((c) => applyTunnelRouting(run, c, options({ dev: 'tun9' }), { mtu: 1500, up: false }));
reports.deviceGone = await scenario(
  (c) => applyTunnelRouting(run, c, options({ dev: 'tun1', addresses: [address('100.64.0.3/32'), address('2001:db8:ff::3/128')] })),
  { first: () => ip('tuntap', 'add', 'dev', 'tun1', 'mode', 'tun'), between: () => ip('link', 'del', 'dev', 'tun1') },
);
// What the process runner was asked besides the scenarios' own reads of the link state.
console.log(JSON.stringify({ reports, unavailable, processes: processes.filter((p) => !p.includes('-j')).length }));
