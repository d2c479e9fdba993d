// Starts a program outside the tunnel (split tunnelling), for the CLI and the app alike. The
// program must be in the helper's cgroup before it opens its first socket, and a socket keeps the
// cgroup it was made in, so it is started held: a shell that waits on a pipe, is moved by the
// helper (which checks that the caller owns it), and only then execs the program. If the helper
// refuses, the pipe closes unwritten, the shell exits without exec, and the error is thrown:
// nothing ever runs inside the tunnel by mistake of a refused exclusion.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** What the launcher needs of a helper client. */
export interface ExcludeCaller {
  call(method: 'excludeProcess', params: { pid: number }): Promise<unknown>;
}

export interface LaunchOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The app's launches: its own session, no stdio, not waited for. Default false (the CLI's: the terminal's stdio). */
  detached?: boolean;
}

/** Exit status of the held shell when its pipe closed unwritten (the helper refused): it never exec'd. */
const NOT_RELEASED = 125;
// fd 3 is the pipe; `read` fails on EOF, so a closed-unwritten pipe ends the shell before exec.
const HOLD = `read -r _ <&3 || exit ${NOT_RELEASED}; exec 3<&-; exec "$@"`;

export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

/** The program's path: as given when it has a slash, else the first executable file of that name on PATH. */
export function findProgram(command: string, path: string | undefined): string {
  const runnable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    if (runnable(command)) return command;
    throw new LaunchError(`cannot run ${command}: no such executable file`);
  }
  for (const dir of (path ?? '').split(delimiter).filter((d) => isAbsolute(d))) {
    const file = join(dir, command);
    if (runnable(file)) return file;
  }
  throw new LaunchError(`cannot run ${command}: not found on PATH`);
}

/**
 * Starts `command args` outside the tunnel; resolves once it runs there, with its child process.
 * Rejects (and the program never starts) when the program is not found or the helper refuses.
 */
export async function launchExcluded(client: ExcludeCaller, command: string, args: readonly string[], opts: LaunchOptions = {}): Promise<{ pid: number; child: ChildProcess }> {
  const env = opts.env ?? process.env;
  const program = findProgram(command, env.PATH);
  const stdio: StdioOptions = opts.detached ? ['ignore', 'ignore', 'ignore', 'pipe'] : ['inherit', 'inherit', 'inherit', 'pipe'];
  const child = spawn('/bin/sh', ['-c', HOLD, 'umbra-exclude', program, ...args], { stdio, env, ...(opts.cwd ? { cwd: opts.cwd } : {}), detached: opts.detached ?? false });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new LaunchError(`cannot start ${command}: ${e.message}`)));
  });
  await spawned;
  const hold = child.stdio[3] as NodeJS.WritableStream;
  try {
    await client.call('excludeProcess', { pid: child.pid! });
  } catch (e) {
    hold.end();
    throw e;
  }
  hold.end('go\n');
  if (opts.detached) child.unref();
  return { pid: child.pid!, child };
}
