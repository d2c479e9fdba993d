// umbrad: the privileged helper's entry point. Thin: parses the command line, hands off.
// Each command is imported only when it runs: `up` must not pay for loading the daemon.
import { EXIT_FAILURE, EXIT_USAGE, UsageError, parseOptions } from './commands/common.js';

const USAGE = `usage: umbrad <command>

commands:
  serve [--socket PATH] [--state-dir DIR] [--resolv-conf PATH] [--dns auto|resolv-conf|resolved] [--group NAME]
                  the helper daemon (what systemd runs): owns the tunnel, kill switch, DNS and
                  settings; the app and \`umbra\` talk to it on the socket
                  (defaults: /run/umbra/umbrad.sock, /var/lib/umbra, /etc/resolv.conf, auto, umbra;
                  the socket's directory must be root's and writable by no one else)
  early-boot [--state-dir DIR]
                  load the kill-switch-on-boot ruleset, if that setting is on (what the
                  umbra-early-boot unit does with nft directly)
  up FILE.conf    bring a WireGuard tunnel up from a wg-quick config, in the foreground,
                  until Ctrl-C (SIGINT) or SIGTERM; then remove everything it added
  help            this text`;

/** The commands that hold private keys: no core dump, no ptrace by the same uid, from the start. */
const HOLDS_KEYS = new Set(['serve', 'up']);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && HOLDS_KEYS.has(command)) (await import('./platform/process.js')).denyCoreDumps();
  switch (command) {
    case 'up':
      if (rest.length !== 1) throw new UsageError('usage: umbrad up FILE.conf');
      return (await import('./commands/up.js')).up(rest[0]!, (l) => console.log(l), (l) => console.error(l));
    case 'serve':
      return (await import('./commands/serve.js')).serve(rest, (l) => console.error(`umbrad: ${l}`));
    case 'early-boot': {
      const { stateDir } = parseOptions(rest, { stateDir: '/var/lib/umbra' }, { '--state-dir': 'stateDir' });
      const [{ earlyBoot }, { systemRunner }] = await Promise.all([import('./commands/early-boot.js'), import('./platform/exec.js')]);
      return earlyBoot(stateDir, systemRunner);
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(command ? `unknown command "${command}"\n\n${USAGE}` : USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`umbrad: ${e.message}`);
      process.exit(EXIT_USAGE);
    }
    console.error(`umbrad: ${(e as Error).message}`);
    process.exit(EXIT_FAILURE);
  },
);
