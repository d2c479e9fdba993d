// The `umbra` command line, parsed into a value (pure). Options may come before or after the
// command; `--` ends them.
import { DEFAULT_SOCKET_PATH } from '../ipc/schema.js';
import type { BooleanSetting } from './format.js';

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
  | { name: 'servers' }
  | { name: 'settings' }
  | { name: 'import'; file: string; serverName?: string }
  | { name: 'connect'; server?: string }
  | { name: 'disconnect' }
  | { name: 'set'; key: BooleanSetting; value: boolean };

export interface Invocation {
  /** --socket, else undefined (then $UMBRA_SOCKET, else the default). */
  socket?: string;
  json: boolean;
  command: Command;
}

export const USAGE = `usage: umbra [--socket PATH] [--json] <command>

commands:
  status                          the tunnel's state, traffic and kill switch
  servers                         the servers you can connect to
  connect [SERVER]                connect (SERVER: an id or name from umbra servers; default: the
                                  last one) and wait until connected or failed
  disconnect                      disconnect (with the kill switch on, this lifts the block)
  import FILE [--name NAME]       add a server from a WireGuard config (a wg-quick .conf file)
  settings                        show the settings
  set kill-switch on|off          block all traffic outside the tunnel while you want to be connected
  set kill-switch-on-boot on|off  block traffic from boot until you connect
  set allow-lan on|off            let local-network traffic pass the kill switch
  set auto-connect on|off         connect when the helper starts
  version                         this client's and the helper's versions
  help                            this text

options:
  --socket PATH   the helper's socket (default ${DEFAULT_SOCKET_PATH}; env UMBRA_SOCKET)
  --json          print results (and errors) as JSON

exit codes: 0 done, 1 the helper refused or the operation failed, 2 usage error,
            3 the helper is not reachable (not running, or no permission)`;

export const SETTING_KEYS: Record<string, BooleanSetting> = {
  'kill-switch': 'killSwitch',
  'kill-switch-on-boot': 'killSwitchOnBoot',
  'allow-lan': 'allowLan',
  'auto-connect': 'autoConnect',
};

const ON = new Set(['on', 'true', 'yes', '1']);
const OFF = new Set(['off', 'false', 'no', '0']);

export function parseArgs(argv: readonly string[]): Invocation {
  let socket: string | undefined;
  let json = false;
  let help = false;
  let serverName: string | undefined;
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
      case '--json':
        if (inline !== undefined) throw new UsageError('--json takes no value');
        json = true;
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
  const base = { ...(socket === undefined ? {} : { socket }), json };
  if (help) return { ...base, command: { name: 'help' } };
  const [name, ...rest] = words;
  if (serverName !== undefined && name !== 'import') throw new UsageError('--name goes with import: umbra import FILE --name NAME');
  const none = (command: Command): Invocation => {
    if (rest.length > 0) throw new UsageError(`${name} takes no arguments (got ${rest.join(' ')})`);
    return { ...base, command };
  };
  switch (name) {
    case undefined:
      throw new UsageError('no command given');
    case 'help':
      return { ...base, command: { name: 'help' } };
    case 'version':
    case 'status':
    case 'servers':
    case 'settings':
    case 'disconnect':
      return none({ name });
    case 'import': {
      if (rest.length !== 1) throw new UsageError('usage: umbra import FILE [--name NAME]');
      return { ...base, command: { name: 'import', file: rest[0]!, ...(serverName === undefined ? {} : { serverName }) } };
    }
    case 'connect':
      if (rest.length > 1) throw new UsageError('usage: umbra connect [SERVER]  (one server: an id or name from umbra servers)');
      return { ...base, command: rest[0] === undefined ? { name: 'connect' } : { name: 'connect', server: rest[0] } };
    case 'set': {
      const [key, raw, ...extra] = rest;
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
