// The `umbra` command line, parsed into a value (pure). Options may come before or after the
// command; `--` ends them.
import { DEFAULT_ECHO_URL6, DEFAULT_ECHO_URLS, DEFAULT_SOCKET_PATH, DEFAULT_STUN_SERVERS, type Settings } from '../ipc/schema.js';
import type { BooleanSetting, LeakSetting } from './format.js';
import { NETWORKS_USAGE, parseNetworks, type NetworksCommand } from './networks.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Command =
  | { name: 'help' }
  | { name: 'version' }
  | { name: 'status' }
  /** noLatency: --no-latency, the table without pinging the servers. */
  | { name: 'servers'; noLatency?: true }
  | { name: 'settings' }
  | NetworksCommand
  | { name: 'import'; file: string; serverName?: string }
  | { name: 'load-catalog'; source: { file: string } | { url: string }; signingKey?: string; allowUnsigned?: boolean }
  | { name: 'connect'; server?: string }
  | { name: 'disconnect' }
  | { name: 'set'; key: BooleanSetting; value: boolean }
  | { name: 'configure'; key: LeakSetting; patch: Partial<Settings> }
  | { name: 'leak-check' }
  /** Split tunnelling: run a program outside the tunnel, move a running one, list, or move one back. */
  | { name: 'exclude'; run: { command: string; args: string[] } }
  | { name: 'exclude'; pid: number }
  | { name: 'exclude'; list: true }
  | { name: 'include'; pid: number };

export interface Invocation {
  /** --socket, else undefined (then $UMBRA_SOCKET, else the default). */
  socket?: string;
  json: boolean;
  /** --verbose: the evidence behind each verdict too (raw rules, routes). */
  verbose: boolean;
  command: Command;
}

export const USAGE = `usage: umbra [--socket PATH] [--json] [--verbose] <command>

commands:
  status                          the tunnel's state, traffic and kill switch
  servers [--no-latency]          the servers you can connect to, with each one's latency (a ping
                                  to its endpoint, now; through the tunnel while connected, none
                                  while the kill switch blocks); --no-latency: without pinging
  connect [SERVER]                connect (SERVER: an id or name from umbra servers; default: the
                                  last one) and wait until connected or failed
  disconnect                      disconnect (with the kill switch on, this lifts the block)
${NETWORKS_USAGE}
  import FILE [--name NAME]       add a server from a WireGuard config (a wg-quick .conf file)
  load-catalog FILE|URL [--key KEY] [--unsigned]
                                  load your provider's server list (JSON); a FILE is read by this
                                  command, as you, and sent to the helper; an https URL the helper
                                  fetches. --key: the provider's Ed25519 signing key (base64) you
                                  pin: the catalog must be signed by it. --unsigned: accept an
                                  unsigned catalog from a URL (anyone on the way could change it)
  settings                        show the settings
  set kill-switch on|off          block all traffic outside the tunnel while you want to be connected
  set kill-switch-on-boot on|off  block traffic from boot until you connect
  set allow-lan on|off            let local-network traffic pass the kill switch
  set auto-connect on|off         connect when the helper starts
  set lockdown on|off             always require the VPN: block outside the tunnel in every state
  set dns ADDRESS... | config     your own DNS servers, through the tunnel, for every server
                                  (config: each config's DNS)
  set lan-dns DOMAIN[,DOMAIN...] via SERVER[,SERVER] | off
                                  names under DOMAIN to SERVER on the local network, outside
                                  the tunnel (e.g. corp.example via 198.51.100.53); off by default
  leak-check [--verbose]          check that nothing escapes the tunnel: the public IP, DNS, IPv6
                                  and the kill switch's rules (exit code 1 when a check fails);
                                  --verbose: the evidence too (addresses, routes, the rules)
  set echo-urls URL... | default  the IP-echo services the leak check asks (plain text or JSON IP)
  set echo-url6 URL|off|default   the IP-echo service over IPv6
  set dns-leak-test ZONE API-URL | off
                                  an active DNS leak test: names under ZONE, API-URL?name=… says
                                  which addresses asked
  set stun-servers URL... | none | default
                                  STUN servers for the app's WebRTC check (stun:host:port)
  exclude -- COMMAND [ARG...]     run a program outside the tunnel (split tunnelling): its traffic,
                                  and its children's, leaves directly, unprotected, in every
                                  state, kill switch included; DNS goes to the system's resolvers
  exclude --pid PID               move a running process of yours (and its future children) out of
                                  the tunnel; connections it already has stay where they are
  exclude --list                  the processes of yours outside the tunnel
  include PID                     move an excluded process back into the tunnel
  version                         this client's and the helper's versions
  help                            this text

options:
  --socket PATH   the helper's socket (default ${DEFAULT_SOCKET_PATH}; env UMBRA_SOCKET)
  --json          print results, and errors, as one JSON object on stdout
  --verbose, -v   print the evidence behind a result (leak-check)

exit codes: 0 done, 1 the helper refused or the operation failed, 2 usage error,
            3 the helper is not reachable (not running, or no permission)`;

const SETTING_KEYS: Record<string, BooleanSetting> = {
  'kill-switch': 'killSwitch',
  'kill-switch-on-boot': 'killSwitchOnBoot',
  lockdown: 'lockdown',
  'allow-lan': 'allowLan',
  'auto-connect': 'autoConnect',
};

const LEAK_SETTING_KEYS: Record<string, LeakSetting> = {
  'echo-urls': 'echoUrls',
  'echo-url6': 'echoUrl6',
  'dns-leak-test': 'dnsLeakTest',
  'stun-servers': 'stunServers',
  dns: 'dnsServers',
  'lan-dns': 'lanDns',
};

/** Values given one per argument, or comma-separated. */
const listOf = (words: string[]): string[] => words.flatMap((w) => w.split(',')).map((w) => w.trim()).filter(Boolean);

/** `umbra set <leak setting> …` as a settings patch (the helper checks the values). */
function parseLeakSetting(key: string, words: string[]): { key: LeakSetting; patch: Partial<Settings> } {
  const setting = LEAK_SETTING_KEYS[key]!;
  const one = words.length === 1 ? words[0]!.toLowerCase() : undefined;
  switch (setting) {
    case 'echoUrls': {
      if (one === 'default') return { key: setting, patch: { echoUrls: DEFAULT_ECHO_URLS } };
      const urls = listOf(words);
      if (urls.length === 0) throw new UsageError('usage: umbra set echo-urls URL... | default');
      return { key: setting, patch: { echoUrls: urls } };
    }
    case 'echoUrl6':
      if (words.length !== 1) throw new UsageError('usage: umbra set echo-url6 URL|off|default');
      return { key: setting, patch: { echoUrl6: one === 'off' ? null : one === 'default' ? DEFAULT_ECHO_URL6 : words[0]! } };
    case 'dnsLeakTest':
      if (one === 'off') return { key: setting, patch: { dnsLeakTest: null } };
      if (words.length !== 2) throw new UsageError('usage: umbra set dns-leak-test ZONE API-URL | off');
      return { key: setting, patch: { dnsLeakTest: { zone: words[0]!, apiUrl: words[1]! } } };
    case 'dnsServers': {
      if (one === 'config') return { key: setting, patch: { dnsServers: null } };
      const servers = listOf(words);
      if (servers.length === 0) throw new UsageError('usage: umbra set dns ADDRESS... | config');
      return { key: setting, patch: { dnsServers: servers } };
    }
    case 'lanDns': {
      if (one === 'off') return { key: setting, patch: { lanDns: null } };
      const via = words.findIndex((w) => w.toLowerCase() === 'via');
      const domains = listOf(words.slice(0, Math.max(via, 0))).map((d) => d.toLowerCase().replace(/\.$/, ''));
      const servers = listOf(words.slice(via + 1));
      if (via < 0 || domains.length === 0 || servers.length === 0) throw new UsageError('usage: umbra set lan-dns DOMAIN[,DOMAIN...] via SERVER[,SERVER] | off');
      return { key: setting, patch: { lanDns: { domains, servers } } };
    }
    case 'stunServers':
      if (one === 'default') return { key: setting, patch: { stunServers: DEFAULT_STUN_SERVERS } };
      if (one === 'none') return { key: setting, patch: { stunServers: [] } };
      if (words.length === 0) throw new UsageError('usage: umbra set stun-servers URL... | none | default');
      return { key: setting, patch: { stunServers: listOf(words) } };
  }
}

const MAX_PID = 2 ** 22;

function parsePid(text: string): number {
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PID) throw new UsageError(`"${text}" is not a process id (a number from 1 to ${MAX_PID})`);
  return Number(text);
}

/** `umbra exclude`: exactly one of -- COMMAND…, --pid PID, --list. */
function parseExclude(rest: string[], pid: string | undefined, list: boolean): Command {
  const usage = 'usage: umbra exclude -- COMMAND [ARG...] | --pid PID | --list';
  if ([pid !== undefined, list, rest.length > 0].filter(Boolean).length !== 1) throw new UsageError(usage);
  if (pid !== undefined) return { name: 'exclude', pid: parsePid(pid) };
  if (list) return { name: 'exclude', list: true };
  return { name: 'exclude', run: { command: rest[0]!, args: rest.slice(1) } };
}

const ON = new Set(['on', 'true', 'yes', '1']);
const OFF = new Set(['off', 'false', 'no', '0']);

export function parseArgs(argv: readonly string[]): Invocation {
  let socket: string | undefined;
  let json = false;
  let verbose = false;
  let help = false;
  let serverName: string | undefined;
  let signingKey: string | undefined;
  let unsigned = false;
  let noLatency = false;
  let pid: string | undefined;
  let list = false;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next === '') throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--socket':
        socket = value();
        break;
      case '--name':
        serverName = value();
        break;
      case '--key':
        signingKey = value();
        break;
      case '--unsigned':
        if (inline !== undefined) throw new UsageError('--unsigned takes no value');
        unsigned = true;
        break;
      case '--pid':
        pid = value();
        break;
      case '--list':
        if (inline !== undefined) throw new UsageError('--list takes no value');
        list = true;
        break;
      case '--no-latency':
        if (inline !== undefined) throw new UsageError('--no-latency takes no value');
        noLatency = true;
        break;
      case '--json':
        if (inline !== undefined) throw new UsageError('--json takes no value');
        json = true;
        break;
      case '-v':
      case '--verbose':
        if (inline !== undefined) throw new UsageError('--verbose takes no value');
        verbose = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      case '--version':
        words.unshift('version');
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${flag}`);
        words.push(arg);
    }
  }
  const base = { ...(socket === undefined ? {} : { socket }), json, verbose };
  if (help) return { ...base, command: { name: 'help' } };
  const [name, ...rest] = words;
  if (serverName !== undefined && name !== 'import' && name !== 'networks') throw new UsageError('--name goes with import: umbra import FILE --name NAME');
  if ((signingKey !== undefined || unsigned) && name !== 'load-catalog') throw new UsageError('--key and --unsigned go with load-catalog: umbra load-catalog URL --key KEY');
  if ((pid !== undefined || list) && name !== 'exclude') throw new UsageError('--pid and --list go with exclude: umbra exclude --pid PID');
  if (noLatency && name !== 'servers') throw new UsageError('--no-latency goes with servers: umbra servers --no-latency');
  const none = (command: Command): Invocation => {
    if (rest.length > 0) throw new UsageError(`${name} takes no arguments (got ${rest.join(' ')})`);
    return { ...base, command };
  };
  switch (name) {
    case undefined:
      throw new UsageError('no command given');
    case 'help':
      return { ...base, command: { name: 'help' } };
    case 'servers':
      return none(noLatency ? { name, noLatency: true } : { name });
    case 'version':
    case 'status':
    case 'settings':
    case 'disconnect':
      return none({ name });
    case 'leak-check':
      return none({ name: 'leak-check' });
    case 'networks':
      return { ...base, command: parseNetworks(rest, serverName) };
    case 'import': {
      if (rest.length !== 1) throw new UsageError('usage: umbra import FILE [--name NAME]');
      return { ...base, command: { name: 'import', file: rest[0]!, ...(serverName === undefined ? {} : { serverName }) } };
    }
    case 'load-catalog': {
      if (rest.length !== 1) throw new UsageError('usage: umbra load-catalog FILE|URL [--key KEY] [--unsigned]');
      const source = rest[0]!;
      const isUrl = /^https?:\/\//i.test(source);
      if (unsigned && !isUrl) throw new UsageError('--unsigned goes with a URL: a catalog file you chose may be unsigned without it');
      if (unsigned && signingKey !== undefined) throw new UsageError('--key and --unsigned contradict each other: a pinned key needs a catalog signed by it');
      return {
        ...base,
        command: {
          name: 'load-catalog',
          source: isUrl ? { url: source } : { file: source },
          ...(signingKey !== undefined ? { signingKey } : {}),
          ...(unsigned ? { allowUnsigned: true } : {}),
        },
      };
    }
    case 'connect':
      if (rest.length > 1) throw new UsageError('usage: umbra connect [SERVER]  (one server: an id or name from umbra servers)');
      return { ...base, command: rest[0] === undefined ? { name: 'connect' } : { name: 'connect', server: rest[0] } };
    case 'exclude':
      return { ...base, command: parseExclude(rest, pid, list) };
    case 'include':
      if (rest.length !== 1) throw new UsageError('usage: umbra include PID  (umbra exclude --list shows them)');
      return { ...base, command: { name: 'include', pid: parsePid(rest[0]!) } };
    case 'set': {
      const [key, raw, ...extra] = rest;
      if (key !== undefined && Object.hasOwn(LEAK_SETTING_KEYS, key)) return { ...base, command: { name: 'configure', ...parseLeakSetting(key, rest.slice(1)) } };
      const choices = Object.keys(SETTING_KEYS).join(', ');
      if (key === undefined || raw === undefined || extra.length > 0) throw new UsageError(`usage: umbra set SETTING on|off  (SETTING: ${choices})`);
      const setting = Object.hasOwn(SETTING_KEYS, key) ? SETTING_KEYS[key] : undefined;
      if (!setting) throw new UsageError(`unknown setting "${key}": one of ${choices}`);
      const v = raw.toLowerCase();
      if (!ON.has(v) && !OFF.has(v)) throw new UsageError(`set ${key} takes on or off, not "${raw}"`);
      return { ...base, command: { name: 'set', key: setting, value: ON.has(v) } };
    }
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

/** --socket, else $UMBRA_SOCKET, else the default. */
export function socketPath(inv: Invocation, env: Record<string, string | undefined>): string {
  return inv.socket ?? (env.UMBRA_SOCKET || DEFAULT_SOCKET_PATH);
}
