// `nft` without a process: a CommandRunner that hands the firewall's nft commands to libnftables
// in the helper (the addon's nftRun, see helper/native/src/nft.cc) and every other command to the
// runner it wraps. A connect's firewall waited 18–28 ms for each `nft -f -` process, most of it
// the kernel holding the exiting process until the transaction's clean-up; in the process it
// takes 2–4 ms, and the watchdog's readings under 1 ms instead of 4–13.
//
// Only the forms the firewall uses go to the library: `nft -f -` and `nft -c -f -` with their
// input, and `nft list …` of plain words. Anything else (a file, flags) runs as a process. When
// the library cannot be loaded, every command runs as a process from then on: slower, not wrong.
import { CommandError, type CommandRunner } from '../exec.js';
import { withInProcess } from '../in-process-runner.js';
import { loadNative } from '../native.js';

/** What the addon's nftRun resolves to: nft's exit status, its output and its error messages. */
export interface NftRunResult {
  ok: boolean;
  output: string;
  error: string;
}

/** The addon's part (helper/native/src/nft.cc); rejects when libnftables cannot be used. */
export interface NftLibrary {
  nftRun(text: string, dryRun: boolean): Promise<NftRunResult>;
}

/** The commands for libnftables and whether they are a dry run, or undefined: not for the library. */
export function libraryCommand(argv: readonly string[], input: string | undefined): { text: string; dryRun: boolean } | undefined {
  if (argv[0] !== 'nft') return undefined;
  const args = argv.slice(1);
  const dryRun = args[0] === '-c';
  const rest = dryRun ? args.slice(1) : args;
  if (rest.length === 2 && rest[0] === '-f' && rest[1] === '-') return { text: input ?? '', dryRun };
  // Words only: the CLI would see them as separate arguments, the library as one line.
  if (!dryRun && rest[0] === 'list' && rest.every((w) => /^[A-Za-z0-9_.-]+$/.test(w))) return { text: rest.join(' '), dryRun: false };
  return undefined;
}

/**
 * `fallback` with nft's commands run by `lib`, one at a time (a libnftables context serves one
 * caller at once). `onUnavailable` hears once why the library could not be used.
 */
export function withNftLibrary(fallback: CommandRunner, lib: NftLibrary, onUnavailable: (why: string) => void = () => {}): CommandRunner {
  return withInProcess(
    fallback,
    (argv, input) => {
      const cmd = libraryCommand(argv, input);
      if (!cmd) return undefined;
      return async () => {
        const r = await lib.nftRun(cmd.text, cmd.dryRun);
        if (!r.ok) throw new CommandError([...argv], 1, r.error);
        return { stdout: r.output, stderr: r.error };
      };
    },
    onUnavailable,
  );
}

/** The addon's libnftables; an addon without it (or none) rejects, so the runner falls back. */
export function addonNftLibrary(load: () => unknown = loadNative): NftLibrary {
  return {
    nftRun(text, dryRun) {
      const run = (load() as Partial<NftLibrary>).nftRun;
      if (typeof run !== 'function') return Promise.reject(new Error('the native addon has no nftRun: run npm run build:native'));
      return run(text, dryRun);
    },
  };
}
