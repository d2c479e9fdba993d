// `ip` without a process: a CommandRunner that makes the routing changes of routes.ts through
// rtnetlink in the helper (the addon's rtnlTransact, see helper/native/src/rtnl.cc) and hands every
// other command to the runner it wraps. A connect's first packet waits for its routes, and the
// `ip -batch -` process that made them took 8–20 ms of it; the requests take the kernel well
// under a millisecond.
//
// Taken here: `ip [-4|-6] -batch -` whose every line is one of rtnetlink.ts's forms, and the same
// forms as one command (the undos). Failures read as ip's would: the same words on stderr
// ("Cannot find device", "RTNETLINK answers: No such process", "Error: <the kernel's message>."),
// and in a batch "Command failed -:N" after the lines before N were applied, so routes.ts records
// exactly those and its "already gone" checks are unchanged.
import { CommandError, type CommandRunner } from '../exec.js';
import { withInProcess, type InProcessCommand } from '../in-process-runner.js';
import { loadNative } from '../native.js';
import { changeDev, encodeIpChange, noDeviceText, parseIpWords, refusalText, type Family, type IpChange } from './rtnetlink.js';

/** How far rtnlTransact got (see rtnl.cc). */
export interface RtnlResult {
  /** Requests acknowledged, from the first. */
  done: number;
  /** The errno of the refused request, 0 when all were done. */
  error: number;
  /** The failed request was sent but no answer read: the kernel may have applied it. */
  unknown: boolean;
  /** The errno's text. */
  reason: string;
  /** The kernel's own message about the refusal, or ''. */
  message: string;
}

/** The addon's part; transact rejects only when netlink cannot be used at all (nothing was sent). */
export interface IpLibrary {
  transact(requests: Uint8Array[]): Promise<RtnlResult>;
  /** An interface's index, 0 when there is no such interface. */
  interfaceIndex(name: string): number;
}

/** The changes of an `ip` command and whether it was a batch, or undefined: not for the library. */
export function ipCommand(argv: readonly string[], input: string | undefined): { changes: IpChange[]; batch: boolean } | undefined {
  if (argv[0] !== 'ip') return undefined;
  let args = argv.slice(1);
  let family: Family | undefined;
  if (args[0] === '-4' || args[0] === '-6') {
    family = args[0] === '-4' ? 4 : 6;
    args = args.slice(1);
  }
  if (args.length === 2 && args[0] === '-batch' && args[1] === '-') {
    // Line numbers must be ip's: no blank lines, comments or continuations to count differently.
    const lines = (input ?? '').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const changes = lines.map((l) => (/^[^#\\]+$/.test(l) ? parseIpWords(l.trim().split(/\s+/), family) : undefined));
    return changes.every((c) => c !== undefined) ? { changes, batch: true } : undefined;
  }
  const change = parseIpWords(args, family);
  return change ? { changes: [change], batch: false } : undefined;
}

/** A failure as ip reports it: exit 1 in a batch (after the line's number), 2 for a single refusal. */
function ipFailure(argv: readonly string[], batch: boolean, line: number, text: string, refused: boolean): CommandError {
  if (batch) return new CommandError([...argv], 1, `${text}\nCommand failed -:${line}\n`);
  return new CommandError([...argv], refused ? 2 : 1, `${text}\n`);
}

const ENODEV = 19;

/** The command done through `lib`: indexes looked up, requests sent in one go, the outcome as ip's. */
function viaLibrary(lib: IpLibrary, argv: readonly string[], cmd: { changes: IpChange[]; batch: boolean }): InProcessCommand {
  return async () => {
    const requests: Uint8Array[] = [];
    const indexes = new Map<string, number>();
    let missing: string | undefined;
    for (const c of cmd.changes) {
      const dev = changeDev(c);
      let index = 0;
      if (dev !== undefined) {
        try {
          index = indexes.get(dev) ?? lib.interfaceIndex(dev);
        } catch (e) {
          // A failed system call fails this command only (nothing was sent); the next one tries
          // again. Anything else (no addon) means the library cannot be used.
          if ((e as { errno?: unknown }).errno === undefined) throw e;
          throw ipFailure(argv, false, 0, `could not look up ${dev}: ${(e as Error).message}`, false);
        }
        indexes.set(dev, index);
      }
      // ip stops at the line whose device it cannot find, after the lines before it.
      if (dev !== undefined && index === 0) {
        missing = dev;
        break;
      }
      requests.push(encodeIpChange(c, index));
    }
    const r = requests.length > 0 ? await lib.transact(requests) : { done: 0, error: 0, unknown: false, reason: '', message: '' };
    if (r.error !== 0) {
      // A device gone between the lookup and the request reads as one never found ("already gone").
      const gone = r.error === ENODEV ? changeDev(cmd.changes[r.done]!) : undefined;
      const text = gone !== undefined ? noDeviceText(gone) : refusalText(r.reason, r.message);
      // No line number when the kernel may have applied the line: the caller keeps every undo.
      if (r.unknown) throw ipFailure(argv, false, 0, `${text} (the request was sent, its answer lost)`, false);
      throw ipFailure(argv, cmd.batch, r.done + 1, text, gone === undefined);
    }
    if (missing !== undefined) throw ipFailure(argv, cmd.batch, requests.length + 1, noDeviceText(missing), false);
    return { stdout: '', stderr: '' };
  };
}

/** `fallback` with the routing's `ip` commands done through `lib`; `onUnavailable` hears once why not. */
export function withIpLibrary(fallback: CommandRunner, lib: IpLibrary, onUnavailable: (why: string) => void = () => {}): CommandRunner {
  return withInProcess(
    fallback,
    (argv, input) => {
      const cmd = ipCommand(argv, input);
      return cmd && viaLibrary(lib, argv, cmd);
    },
    onUnavailable,
  );
}

/** The addon's rtnetlink; an addon without it (or none) rejects, so the runner falls back. */
export function addonIpLibrary(load: () => unknown = loadNative): IpLibrary {
  const addon = () => {
    const n = load() as Partial<IpLibrary & { rtnlTransact: IpLibrary['transact'] }>;
    if (typeof n.rtnlTransact !== 'function' || typeof n.interfaceIndex !== 'function') throw new Error('the native addon has no rtnlTransact: run npm run build:native');
    return n as { rtnlTransact: IpLibrary['transact']; interfaceIndex: IpLibrary['interfaceIndex'] };
  };
  return {
    transact: async (requests) => addon().rtnlTransact(requests),
    interfaceIndex: (name) => addon().interfaceIndex(name),
  };
}
