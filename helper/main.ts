// umbrad: the privileged helper's entry point. Thin: parses the command line, hands off.
// Each command is imported only when it runs: `up` must not pay for loading the daemon.
import { EXIT_FAILURE, EXIT_USAGE, UsageError, parseOptions } from './commands/common.js';

const USAGE = `usage: umbrad <command>

commands:
  serve [--socket PATH] [--state-dir DIR] [--resolv-conf PATH] [--dns auto|resolv-conf|resolved|networkmanager] [--group NAME]
                  the helper daemon (what systemd runs): owns the tunnel, kill switch, DNS and
                  settings; the app and \`umbra\` talk to it on the socket
                  (defaults: /run/umbra/umbrad.sock, /var/lib/umbra, /etc/resolv.conf, auto, umbra;
                  the socket's directory must be root's and writable by no one else)
  early-boot [--state-dir DIR]
                  load the kill-switch-on-boot ruleset, if that setting is on (what the
                  umbra-early-boot unit does with nft directly)
  dns-access [--resolv-conf PATH] [--dns MODE] [--unit-dir DIR]
                  let umbrad.service write what DNS needs on this machine (resolv.conf's
                  directory, or nothing when systemd-resolved or NetworkManager take it) in
                  DIR/umbrad.service.d/dns-access.conf (default DIR: /usr/lib/systemd/system);
                  the installer runs it; run it again when the machine's DNS setup changes,
                  then systemctl daemon-reload and restart umbrad
  dns-restore [--resolv-conf PATH] [--state-dir DIR]
                  put back the DNS a helper that died while connected left behind (what the
                  helper does when it starts); the uninstaller runs it
  up FILE.conf    bring a WireGuard tunnel up from a wg-quick config, in the foreground,
                  until Ctrl-C (SIGINT) or SIGTERM; then remove everything it added
  version [--json], --version
                  the version, the runtime and the AEAD backend the data path uses
  help            this text

serve and up refuse to start when the only AEAD left is the pure-JavaScript one (noble);
UMBRA_ALLOW_SLOW_AEAD=1 lets them.`;

/** serve and up: refuses (a message, exit 1) a runtime with no fast AEAD, unless told to accept it. */
async function fastAeadOrRefuse(): Promise<string | undefined> {
  const { systemAead, slowAeadRefusal, ALLOW_SLOW_AEAD } = await import('./tunnel/aead-choice.js');
  const { backend, detail } = systemAead();
  const refusal = slowAeadRefusal(backend);
  if (refusal === undefined && backend === 'noble') console.error(`umbrad: warning: running on ${detail} (${ALLOW_SLOW_AEAD}=1): expect a slow tunnel`);
  return refusal;
}

/** The commands that hold private keys: no core dump, no ptrace by the same uid, from the start. */
const HOLDS_KEYS = new Set(['serve', 'up']);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && HOLDS_KEYS.has(command)) (await import('./platform/process.js')).denyCoreDumps();
  switch (command) {
    case 'up': {
      if (rest.length !== 1) throw new UsageError('usage: umbrad up FILE.conf');
      const refusal = await fastAeadOrRefuse();
      if (refusal) throw new Error(refusal);
      return (await import('./commands/up.js')).up(rest[0]!, (l) => console.log(l), (l) => console.error(l));
    }
    case 'serve': {
      const refusal = await fastAeadOrRefuse();
      if (refusal) throw new Error(refusal);
      return (await import('./commands/serve.js')).serve(rest, (l) => console.error(`umbrad: ${l}`));
    }
    case 'version':
    case '--version':
    case '-V': {
      const json = rest.length === 1 && rest[0] === '--json';
      if (rest.length > (json ? 1 : 0)) throw new UsageError('usage: umbrad version [--json]');
      console.log((await import('./commands/version.js')).versionReport(json));
      return 0;
    }
    case 'dns-access':
      return (await import('./commands/dns-access.js')).dnsAccess(rest, (l) => console.log(`umbrad: ${l}`));
    case 'dns-restore':
      return (await import('./commands/dns-restore.js')).dnsRestore(rest, (l) => console.log(`umbrad: ${l}`));
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
