// `umbrad dns-restore [--resolv-conf PATH] [--state-dir DIR]`: puts back the DNS a helper that
// died while connected left behind (resolv.conf's backup, NetworkManager's global DNS), as the
// helper itself does when it starts. For uninstalling: setup-helper.sh runs it after stopping the
// helper, while the app is still there, so a purge that deletes the state dir (and the backups
// in it) never leaves the machine's DNS pointing at a tunnel that is gone. Exit 0 also when
// there was nothing to put back; 1 when something could not be.
import { recoverDnsBackups } from '../platform/dns/choose.js';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { parseOptions } from './common.js';

export async function dnsRestore(argv: string[], out: (line: string) => void, run: CommandRunner = systemRunner): Promise<number> {
  const o = parseOptions(argv, { resolvConf: '/etc/resolv.conf', stateDir: '/var/lib/umbra' }, { '--resolv-conf': 'resolvConf', '--state-dir': 'stateDir' });
  const { restored, failures } = await recoverDnsBackups({ resolvConfPath: o.resolvConf, stateDir: o.stateDir, run, log: out });
  for (const f of failures) out(f);
  if (restored) out(`put back the DNS an earlier run of the helper left behind`);
  return failures.length > 0 ? 1 : 0;
}
