// umbrad: the privileged helper's entry point. Thin: parses the command line, hands off.
import { EXIT_FAILURE, EXIT_USAGE, UsageError, up } from './commands/up.js';
import { parseOptions, serve, SERVE_DEFAULTS } from './commands/serve.js';
import { earlyBoot } from './commands/early-boot.js';
import { systemRunner } from './platform/exec.js';

const USAGE = `usage: umbrad <command>

commands:
  serve [--socket PATH] [--state-dir DIR] [--resolv-conf PATH] [--dns auto|resolv-conf|resolved] [--group NAME]
                  the helper daemon (what systemd runs): owns the tunnel, kill switch, DNS and
                  settings; the app and \`umbra\` talk to it on the socket
                  (defaults: /run/umbra/umbrad.sock, /var/lib/umbra, /etc/resolv.conf, auto, umbra)
  early-boot [--state-dir DIR]
                  load the kill-switch-on-boot ruleset, if that setting is on (what the
                  umbra-early-boot unit does with nft directly)
  up FILE.conf    bring a WireGuard tunnel up from a wg-quick config, in the foreground,
                  until Ctrl-C (SIGINT) or SIGTERM; then remove everything it added
  help            this text`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      if (rest.length !== 1) throw new UsageError('usage: umbrad up FILE.conf');
      return up(rest[0]!, (l) => console.log(l), (l) => console.error(l));
    case 'serve':
      return serve(rest, (l) => console.error(`umbrad: ${l}`));
    case 'early-boot': {
      const { stateDir } = parseOptions(rest, { stateDir: SERVE_DEFAULTS.stateDir }, { '--state-dir': 'stateDir' });
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
