// A CommandRunner that runs every command inside a network namespace (`ip netns exec <ns> ...`),
// for lab tests: the code under test runs `ip` as usual and changes only the lab namespace.
import { systemRunner, type CommandRunner } from '../exec.js';

export function netnsRunner(ns: string, base: CommandRunner = systemRunner): CommandRunner {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(ns)) throw new TypeError(`"${ns}" is not a valid namespace name`);
  return { run: (argv, opts) => base.run(['ip', 'netns', 'exec', ns, ...argv], opts) };
}
