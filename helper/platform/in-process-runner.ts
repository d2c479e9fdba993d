// A CommandRunner that does some commands inside the helper instead of starting their program:
// nft through libnftables (firewall/nft-library.ts), ip's routing changes through rtnetlink
// (routing/ip-library.ts). Each was measured as milliseconds of a connect's critical path per
// process. What is not routed here, and everything once the in-process way has failed to work
// at all, runs as a process: slower, not wrong.

import { CommandError, type CommandRunner, type RunResult } from './exec.js';

/**
 * A command the process does itself. It resolves as the program would and rejects with a
 * CommandError where the program would fail (the same exit code and stderr, so callers that read
 * them are unchanged); any other rejection means the in-process way cannot be used at all.
 */
export type InProcessCommand = () => Promise<RunResult>;

/**
 * `fallback` with the commands `route` takes done in the process, one at a time and in the order
 * called (a library context or a netlink socket serves one caller at once). `onUnavailable`
 * hears once why the in-process way could not be used; from then on every command is a process.
 */
export function withInProcess(
  fallback: CommandRunner,
  route: (argv: readonly string[], input: string | undefined) => InProcessCommand | undefined,
  onUnavailable: (why: string) => void = () => {},
): CommandRunner {
  let unavailable = false;
  let queue: Promise<unknown> = Promise.resolve();
  let pending = 0;
  const inProcess = async (argv: string[], input: string | undefined, cmd: InProcessCommand): Promise<RunResult> => {
    if (!unavailable) {
      try {
        return await cmd();
      } catch (e) {
        if (e instanceof CommandError) throw e;
        unavailable = true;
        onUnavailable((e as Error).message);
      }
    }
    return fallback.run(argv, input === undefined ? {} : { input });
  };
  return {
    run(argv, opts = {}) {
      const cmd = route(argv, opts.input);
      if (!cmd) return fallback.run(argv, opts);
      // With nothing before it, the command starts now, not a tick later: a caller that goes on
      // to compute something (the tunnel's handshake) gets the kernel's work done meanwhile.
      // Once unavailable, the commands still wait their turn (those queued fall back too).
      const start = () => inProcess(argv, opts.input, cmd);
      const result = pending === 0 ? start() : queue.then(start);
      pending++;
      queue = result.catch(() => undefined).finally(() => pending--);
      return result;
    },
  };
}
