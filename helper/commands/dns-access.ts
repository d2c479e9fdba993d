// `umbrad dns-access [--resolv-conf PATH] [--dns MODE] [--unit-dir DIR] [--state-dir DIR]`: grants umbrad.service
// write access to what its DNS backend writes on this machine, and nothing more.
//
// The unit runs the helper under ProtectSystem=strict with no ReadWritePaths= of its own: with
// systemd-resolved or NetworkManager the helper sets DNS over D-Bus and writes only its state and
// runtime directories. Only the resolv-conf backend writes a file outside them, and the directory
// that holds it is what this command grants, in the drop-in
// <unit-dir>/umbrad.service.d/dns-access.conf (removed again when nothing is needed). The choice
// is choose.ts's, the same the helper makes when it starts. setup-helper.sh runs this at install
// and upgrade; an admin runs it when the machine's DNS setup changed (the helper's error says so).
// It does not reload systemd: the caller does (setup-helper.sh, or the command the error gives).
import { mkdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { writeFileAtomic } from '../platform/fs/atomic-file.js';
import { dnsWritePaths } from '../platform/dns/choose.js';
import { DNS_MODES, isDnsMode } from '../platform/dns/types.js';
import { UsageError, parseOptions } from './common.js';

export const DROP_IN = 'dns-access.conf';
/** Where packages put their units (setup-helper.sh's UNIT_DIR). */
const DEFAULT_UNIT_DIR = '/usr/lib/systemd/system';

/**
 * Why `dir` is not granted, or undefined when it may be. /etc and a directory of /run (resolvconf's)
 * are where resolv.conf lives. Never the root or the system's trees (a link to /resolv.conf would
 * open the whole file system), /run itself, nor the run directories of the managers whose
 * backends write over D-Bus (a dangling link into them means that manager is down, not that the
 * helper should write its files). Anywhere else (a test's temporary directory) is the caller's.
 */
export function refusal(dir: string): string | undefined {
  // Written into a unit file, where spaces separate and quotes and % mean something.
  if (!/^\/[A-Za-z0-9._/-]*$/.test(dir)) return `cannot grant ${JSON.stringify(dir)} in a unit file: only absolute paths of letters, digits and . _ - / are written`;
  const refused = `will not let the helper write ${dir}: resolv.conf should be in /etc or in a directory of /run (resolvconf's); see where /etc/resolv.conf points`;
  if (/^\/run\/(NetworkManager|systemd)(\/|$)/.test(dir)) return refused;
  if (dir === '/etc' || /^\/run\/[^/]+/.test(dir)) return undefined;
  if (/^\/((usr|boot|proc|sys|dev|var|home|root|opt|srv|run|etc)(\/.*)?)?$/.test(dir)) return refused;
  return undefined;
}

/**
 * The drop-in's text for `paths` ('-': a directory missing at start does not stop the helper).
 * A directory in /run is a manager's (resolvconf's), made at boot: the helper starts after it.
 */
export function dropIn(paths: readonly string[]): string {
  for (const p of paths) {
    const why = refusal(p);
    if (why) throw new Error(why);
  }
  const unit = paths.some((p) => p.startsWith('/run/')) ? '[Unit]\nAfter=resolvconf.service\n\n' : '';
  return `# Written by \`umbrad dns-access\`: the directory the helper's DNS backend writes on this
# machine (resolv.conf's), the only one outside its state and runtime directories. Run it again
# if the machine's DNS setup changes.
${unit}[Service]
ReadWritePaths=${paths.map((p) => `-${p}`).join(' ')}
`;
}

export async function dnsAccess(argv: string[], out: (line: string) => void, run: CommandRunner = systemRunner, inInitNetns?: () => Promise<boolean>): Promise<number> {
  const o = parseOptions(
    argv,
    { resolvConf: '/etc/resolv.conf', dns: 'auto', unitDir: DEFAULT_UNIT_DIR, stateDir: '/var/lib/umbra' },
    { '--resolv-conf': 'resolvConf', '--dns': 'dns', '--unit-dir': 'unitDir', '--state-dir': 'stateDir' },
  );
  if (!isDnsMode(o.dns)) throw new UsageError(`--dns takes ${DNS_MODES.join(', ')} (got "${o.dns}")`);
  // The state dir: while a running helper has written resolv.conf, its backup holds the original.
  const paths = await dnsWritePaths({ mode: o.dns, resolvConfPath: o.resolvConf, run, stateDir: o.stateDir, ...(inInitNetns ? { inInitNetns } : {}) });
  const dir = join(o.unitDir, 'umbrad.service.d');
  const file = join(dir, DROP_IN);
  if (paths.length === 0) {
    const removed = await unlink(file).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        throw e;
      },
    );
    await rmdir(dir).catch(() => undefined); // only if empty: an admin's own drop-ins stay
    out(`DNS is set over D-Bus here: the helper writes nothing outside its own directories${removed ? ` (removed ${file})` : ''}`);
    return 0;
  }
  const text = dropIn(paths);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(file, text, { mode: 0o644 });
  out(`DNS is set by writing ${o.resolvConf} here: the helper may write ${paths.join(', ')} (${file})`);
  return 0;
}
