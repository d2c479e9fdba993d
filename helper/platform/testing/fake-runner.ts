// An in-memory CommandRunner for unit tests: records every argv, answers with canned output, and
// fails the commands it is told to fail (with a CommandError, like the real runner).
import { CommandError, type CommandRunner, type RunResult } from '../exec.js';

/** A whole command line (argv joined by single spaces), a pattern tested on it, or a predicate. */
export type CommandMatcher = string | RegExp | ((argv: readonly string[]) => boolean);

interface Reaction {
  match: CommandMatcher;
  /** How many more times it applies; Infinity for always. */
  remaining: number;
  result: { ok: true; stdout: string } | { ok: false; exitCode: number; stderr: string };
}

function matches(m: CommandMatcher, argv: readonly string[]): boolean {
  const line = argv.join(' ');
  if (typeof m === 'string') return m === line;
  if (m instanceof RegExp) return m.test(line);
  return m(argv);
}

export class FakeRunner implements CommandRunner {
  /** Every command run, in order, failed ones included. */
  readonly calls: { argv: string[]; input?: string }[] = [];
  private readonly reactions: Reaction[] = [];

  /** The commands run so far, each as one line (argv joined by spaces). */
  get lines(): string[] {
    return this.calls.map((c) => c.argv.join(' '));
  }

  /** Makes matching commands exit non-zero (by default every time; `times` limits it). */
  failOn(match: CommandMatcher, opts: { exitCode?: number; stderr?: string; times?: number } = {}): this {
    this.reactions.push({
      match,
      remaining: opts.times ?? Infinity,
      result: { ok: false, exitCode: opts.exitCode ?? 2, stderr: opts.stderr ?? 'RTNETLINK answers: Operation not permitted\n' },
    });
    return this;
  }

  /** Makes matching commands succeed with this stdout (commands that match nothing print nothing). */
  respond(match: CommandMatcher, stdout: string, opts: { times?: number } = {}): this {
    this.reactions.push({ match, remaining: opts.times ?? Infinity, result: { ok: true, stdout } });
    return this;
  }

  /** Forgets the recorded calls (the reactions stay). */
  clearCalls(): void {
    this.calls.length = 0;
  }

  async run(argv: string[], opts: { input?: string } = {}): Promise<RunResult> {
    this.calls.push(opts.input === undefined ? { argv: [...argv] } : { argv: [...argv], input: opts.input });
    // The reaction added last wins, so a test can override a general one with a specific one.
    for (let i = this.reactions.length - 1; i >= 0; i--) {
      const r = this.reactions[i]!;
      if (r.remaining <= 0 || !matches(r.match, argv)) continue;
      r.remaining--;
      if (r.result.ok) return { stdout: r.result.stdout, stderr: '' };
      throw new CommandError(argv, r.result.exitCode, r.result.stderr);
    }
    return { stdout: '', stderr: '' };
  }
}
