// Running system commands (ip, nft, resolvectl ...) behind a small interface, so that platform code
// can be tested with a fake (testing/fake-runner.ts) and run inside a lab namespace
// (testing/netns-runner.ts). Commands are run without a shell: argv goes to the program as is.
import { spawn } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs argv[0] with the other elements as arguments; throws CommandError unless it exits 0. */
  run(argv: string[], opts?: { input?: string }): Promise<RunResult>;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    /** The exit code, or null when the program could not be started or was killed by a signal. */
    readonly exitCode: number | null,
    readonly stderr: string,
    detail?: string,
  ) {
    const why = detail ?? (exitCode === null ? 'did not exit normally' : `exited with ${exitCode}`);
    const err = stderr.trim();
    super(`${argv.join(' ')}: ${why}${err ? `: ${err}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Runs commands on this machine with node:child_process (no shell). Output is read as UTF-8. */
export const systemRunner: CommandRunner = {
  run(argv, opts = {}) {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new TypeError('CommandRunner.run needs a program name'));
    return new Promise<RunResult>((resolve, reject) => {
      // LC_ALL=C keeps error messages stable (code matches some of them, e.g. "already gone").
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new CommandError(argv, null, '', `could not be started (${e.message})`)));
      child.on('close', (code, signal) => {
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0) resolve({ stdout, stderr });
        else reject(new CommandError(argv, code, stderr, signal ? `was killed by ${signal}` : undefined));
      });
      // A program that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input ?? '');
    });
  },
};
