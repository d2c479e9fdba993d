// `umbra exclude` / `umbra include`: split tunnelling from the command line. The program runs as
// the user who typed the command, held until the helper has moved it out of the tunnel
// (ipc/launch-excluded.ts); the command then waits for it and ends with its exit status.
import type { IpcClient } from '../ipc/client.js';
import { launchExcluded, LaunchError } from '../ipc/launch-excluded.js';
import type { ExcludedProcess } from '../ipc/schema.js';
import type { Command } from './args.js';

type ExcludeCommand = Extract<Command, { name: 'exclude' | 'include' }>;

export interface ExcludeIo {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  json: boolean;
  /** Closes the helper connection (a program may run for hours; it needs none meanwhile). */
  release(): Promise<void>;
}

export class ExcludeFailure extends Error {}

function formatExcluded(list: ExcludedProcess[]): string[] {
  if (list.length === 0) return ['No process of yours is outside the tunnel.'];
  return ['Outside the tunnel (unprotected):', ...list.map((p) => `  ${String(p.pid).padStart(7)}  ${p.name}`), 'Move one back: umbra include PID'];
}

/** The exit code of the command (a program run: its own). */
export async function runExclude(client: IpcClient, command: ExcludeCommand, io: ExcludeIo): Promise<number> {
  const print = (value: unknown, lines: string[]) => {
    if (io.json) io.out(JSON.stringify(value, null, 2));
    else for (const line of lines) io.out(line);
  };
  if (command.name === 'include') {
    const r = await client.call('includeProcess', { pid: command.pid });
    print(r, [`Process ${command.pid} is back in the tunnel for the connections it opens from now on.`]);
    return 0;
  }
  if ('list' in command) {
    const r = await client.call('listExcluded');
    print(r, r.available ? formatExcluded(r.excluded) : [`Split tunnelling is not available here: ${r.reason ?? 'the helper did not say why'}`]);
    return 0;
  }
  if ('pid' in command) {
    const r = await client.call('excludeProcess', { pid: command.pid });
    const name = r.excluded.find((p) => p.pid === command.pid)?.name ?? 'it';
    print(r, [`Process ${command.pid} (${name}) and the children it starts now go outside the tunnel, unprotected.`, 'Connections it already has stay in the tunnel until it opens new ones.']);
    return 0;
  }
  let launched;
  try {
    launched = await launchExcluded(client, command.run.command, command.run.args, { env: io.env as NodeJS.ProcessEnv });
  } catch (e) {
    if (e instanceof LaunchError) throw new ExcludeFailure(e.message);
    throw e;
  }
  const child = launched.child;
  // Listened for at once: a short program may be over before the helper connection is closed.
  const ended = child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve<[number | null, NodeJS.Signals | null]>([child.exitCode, child.signalCode])
    : new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  await io.release();
  if (!io.json) io.err(`umbra: ${command.run.command} (pid ${launched.pid}) runs outside the tunnel, unprotected`);
  else io.out(JSON.stringify({ pid: launched.pid }));
  // Ctrl-C and the like reach the program (same process group); this command waits for its end.
  const ignore = () => undefined;
  process.on('SIGINT', ignore).on('SIGTERM', ignore);
  try {
    const [code, signal] = await ended;
    return code ?? 128 + (signal ? signalNumber(signal) : 0);
  } finally {
    process.off('SIGINT', ignore).off('SIGTERM', ignore);
  }
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
const signalNumber = (s: NodeJS.Signals): number => SIGNALS[s] ?? 0;
