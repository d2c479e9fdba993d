// What every umbrad command shares: exit codes, the usage error, option parsing. Kept apart from
// the commands so the entry point can load only the command it runs (Node's startup is most of
// the time to the first packet).

/** Exit codes: 0 clean stop, 1 could not run (environment), 2 bad usage or config. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

/** Parses `--name value` options against the defaults; anything else is a usage error. */
export function parseOptions<T extends Record<string, string>>(argv: string[], defaults: T, names: Record<string, keyof T>): T {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const key = names[argv[i]!];
    const value = argv[i + 1];
    if (!key) throw new UsageError(`unknown option "${argv[i]}" (options: ${Object.keys(names).join(', ')})`);
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${argv[i]} needs a value`);
    out[key] = value as T[keyof T];
    i++;
  }
  return out;
}
