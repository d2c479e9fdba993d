// The last good address of each endpoint host, kept in <stateDir>/endpoint-cache.json (0600,
// replaced atomically), for when a later lookup fails: a server reached yesterday stays reachable
// when today's network has broken DNS. An unreadable file counts as empty (and is replaced on the
// next success): losing the cache costs a lookup, never a connect that would otherwise work.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/fs/atomic-file.js';
import { cacheEntries } from './endpoint-cache-file.js';

export const ENDPOINT_CACHE_FILE = 'endpoint-cache.json';
/** Hosts remembered at most; the least recently resolved go first. */
export const ENDPOINT_CACHE_MAX = 64;

export interface CachedAddress {
  address: string;
  family: 4 | 6;
  /** ISO time of the lookup that gave it. */
  resolvedAt: string;
}

export interface EndpointCache {
  get(host: string): Promise<CachedAddress | undefined>;
  put(host: string, entry: Omit<CachedAddress, 'resolvedAt'>, now?: Date): Promise<void>;
}

export function endpointCache(stateDir: string): EndpointCache {
  const path = join(stateDir, ENDPOINT_CACHE_FILE);
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(op: () => Promise<T>): Promise<T> => {
    const result = queue.then(op, op);
    queue = result.catch(() => undefined);
    return result;
  };

  /** The entries as a Map (host names are keys a file chose: no object lookups by them). */
  async function load(): Promise<Map<string, CachedAddress>> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      return new Map();
    }
    return cacheEntries(parsed);
  }

  return {
    get: (host) => serialize(async () => (await load()).get(host)),
    put: (host, entry, now = new Date()) =>
      serialize(async () => {
        const hosts = await load();
        hosts.set(host, { address: entry.address, family: entry.family, resolvedAt: now.toISOString() });
        const kept = [...hosts.entries()]
          .sort(([, x], [, y]) => y.resolvedAt.localeCompare(x.resolvedAt))
          .slice(0, ENDPOINT_CACHE_MAX);
        await mkdir(stateDir, { recursive: true, mode: 0o700 });
        await writeFileAtomic(path, `${JSON.stringify({ schemaVersion: 1, hosts: Object.fromEntries(kept) }, null, 2)}\n`, { mode: 0o600 });
      }),
  };
}
