// umbrad: the privileged helper's entry point. Thin: parses the command line, hands off.
import { EXIT_FAILURE, EXIT_USAGE, UsageError, up } from './commands/up.js';

const USAGE = `usage: umbrad <command>

commands:
  up FILE.conf    bring a WireGuard tunnel up from a wg-quick config, in the foreground,
                  until Ctrl-C (SIGINT) or SIGTERM; then remove everything it added
  help            this text`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      if (rest.length !== 1) throw new UsageError('usage: umbrad up FILE.conf');
      return up(rest[0]!, (l) => console.log(l), (l) => console.error(l));
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
