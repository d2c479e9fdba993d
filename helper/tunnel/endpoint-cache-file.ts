// The format of the endpoint cache file. zod, a few MB of heap, is loaded only when there is a
// cache file to check, not by every `umbrad up` that connects to an address.
import { canonicalIp } from '../platform/dns/system-resolvers.js';
import type { CachedAddress } from './endpoint-cache.js';

async function schemas() {
  const { z } = await import('zod');
  return {
    entry: z.object({
      address: z.string().refine((a) => canonicalIp(a) === a, 'a canonical IP address'),
      family: z.union([z.literal(4), z.literal(6)]),
      resolvedAt: z.string(),
    }),
    // Entries are checked one by one (an object schema of the hosts would assign the keys, and a
    // host could be named "__proto__"); a bad entry is dropped, the others kept.
    file: z.object({ schemaVersion: z.literal(1), hosts: z.record(z.string(), z.unknown()) }),
  };
}
let built: ReturnType<typeof schemas> | undefined;

/** The good entries of `parsed` (JSON.parse of the file) by host; empty if it is no cache file. */
export async function cacheEntries(parsed: unknown): Promise<Map<string, CachedAddress>> {
  const { entry, file } = await (built ??= schemas());
  const hosts = new Map<string, CachedAddress>();
  if (!file.safeParse(parsed).success) return hosts;
  // The parsed JSON itself, not zod's copy: JSON.parse keeps "__proto__" as an own key.
  for (const [host, value] of Object.entries((parsed as { hosts: Record<string, unknown> }).hosts)) {
    const e = entry.safeParse(value);
    if (e.success) hosts.set(host, e.data satisfies CachedAddress);
  }
  return hosts;
}
