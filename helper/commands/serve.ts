// `umbrad serve`: the daemon in the foreground (systemd runs it), until SIGINT/SIGTERM.
import { DNS_MODES, isDnsMode, type DnsMode } from '../platform/dns/types.js';
import { startDaemon } from '../daemon/daemon.js';
import { releaseStartupMemorySoon } from '../platform/startup-memory.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, parseOptions } from './common.js';
import { environmentProblem } from './up.js';

export interface ServeArgs {
  socketPath: string;
  stateDir: string;
  resolvConfPath: string;
  dnsMode: DnsMode;
  group: string;
}

export const SERVE_DEFAULTS: ServeArgs = {
  socketPath: '/run/umbra/umbrad.sock',
  stateDir: '/var/lib/umbra',
  resolvConfPath: '/etc/resolv.conf',
  dnsMode: 'auto',
  group: 'umbra',
};

export async function serve(argv: string[], log: (line: string) => void): Promise<number> {
  const args = parseOptions(argv, SERVE_DEFAULTS as unknown as Record<string, string>, {
    '--socket': 'socketPath',
    '--state-dir': 'stateDir',
    '--resolv-conf': 'resolvConfPath',
    '--dns': 'dnsMode',
    '--group': 'group',
  }) as unknown as ServeArgs;
  if (!isDnsMode(args.dnsMode)) throw new UsageError(`--dns takes ${DNS_MODES.join(', ')}`);
  const problem = environmentProblem();
  if (problem) {
    log(problem.replace('bringing a tunnel up', 'the helper'));
    return EXIT_FAILURE;
  }
  const daemon = await startDaemon({ ...args, log });
  // Start-up is over: hand back what loading and compiling it grew.
  releaseStartupMemorySoon();
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log(`${signal}: stopping (a kill-switch block stays in place)`);
  await daemon.stop();
  return EXIT_OK;
}
