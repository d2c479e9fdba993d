// Server catalogs (DESIGN.md, "Servers and accounts"): a JSON file or URL listing servers with
// their locations, endpoints and public keys. The key to use with them comes from a profile.
//
//   { "servers": [ { "id": "se-got-001", "name": "Gothenburg 1", "country": "Sweden",
//       "countryCode": "se", "city": "Gothenburg", "latitude": 57.7, "longitude": 11.97,
//       "endpoint": "198.51.100.10:51820", "publicKey": "<44 chars>", "exitIp": "198.51.100.11",
//       "allowedIPs": ["0.0.0.0/0", "::/0"] } ] }
//
// Decisions: unknown fields are ignored (provider lists carry extras); null counts as absent;
// ids that are not already lowercase [a-z0-9._-] are slugified, and two entries with the same id
// are an error; countryCode is lowercased. Errors name the entry (index and id) and the field.
// The helper never opens a path a caller names: a catalog file is read by the client, as the
// user, and arrives as text (parseCatalogText); downloads and signatures are catalog-source.ts's.
import { z } from 'zod';
import { formatIp, parseIp } from '../../net/ip.js';
import { ErrorCode, RpcError, ServerId } from '../../ipc/schema.js';
import { canonicalCidr, CidrText, describeIssues, IpText, KeyText, parseJson } from './files.js';
import { slugify } from './ids.js';
import { formatEndpoint, parseEndpoint } from '../../net/endpoint.js';

export const MAX_CATALOG_BYTES = 4 * 1024 * 1024;
export const CATALOG_TIMEOUT_MS = 10_000;
const MAX_CATALOG_SERVERS = 10_000;

const absent = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

const CatalogEntry = z.object({
  id: z.string().min(1, 'is empty').max(64, 'is longer than 64 characters'),
  name: z.string().trim().min(1, 'is empty').max(100, 'is longer than 100 characters'),
  country: absent(z.string().max(60, 'is longer than 60 characters')),
  countryCode: absent(
    z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166 code, e.g. "se"')
      .transform((c) => c.toLowerCase()),
  ),
  city: absent(z.string().max(60, 'is longer than 60 characters')),
  latitude: absent(z.number().min(-90, 'must be from -90 to 90').max(90, 'must be from -90 to 90')),
  longitude: absent(z.number().min(-180, 'must be from -180 to 180').max(180, 'must be from -180 to 180')),
  endpoint: z
    .string()
    .max(300, 'is longer than 300 characters')
    .transform((t, ctx) => {
      try {
        return formatEndpoint(parseEndpoint(t.trim()));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    }),
  publicKey: KeyText,
  exitIp: absent(IpText.transform((t) => formatIp(parseIp(t)!.bytes))),
  allowedIPs: absent(z.array(CidrText.transform(canonicalCidr)).min(1, 'is empty; leave it out for all traffic')),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

const Catalog = z.object({
  servers: z
    .array(z.unknown())
    .min(1, 'the catalog lists no servers')
    .max(MAX_CATALOG_SERVERS, `a catalog lists at most ${MAX_CATALOG_SERVERS} servers`),
});

const invalid = (message: string) => new RpcError(ErrorCode.InvalidConfig, message);

/** Validates catalog JSON; throws RpcError(InvalidConfig) naming the entry and field at fault. */
export function parseCatalog(json: unknown): CatalogEntry[] {
  const top = Catalog.safeParse(json);
  if (!top.success) {
    const shape = typeof json === 'object' && json !== null && !Array.isArray(json) && 'servers' in json;
    throw invalid(`the catalog is not valid: ${shape ? describeIssues(top.error) : 'expected an object with a "servers" list'}`);
  }
  const out: CatalogEntry[] = [];
  const firstIndex = new Map<string, number>();
  const problems: string[] = [];
  top.data.servers.forEach((raw, i) => {
    const rawId = (raw as { id?: unknown } | null)?.id;
    const label = `servers[${i}]${typeof rawId === 'string' && rawId.length <= 64 ? ` (id ${JSON.stringify(rawId)})` : ''}`;
    const entry = CatalogEntry.safeParse(raw);
    if (!entry.success) {
      problems.push(`${label}: ${describeIssues(entry.error, 2)}`);
      return;
    }
    const id = ServerId.safeParse(entry.data.id).success ? entry.data.id : slugify(entry.data.id, 64);
    const dup = firstIndex.get(id);
    if (dup !== undefined) {
      problems.push(`${label}: id: the same id as servers[${dup}]; every server needs its own id`);
      return;
    }
    firstIndex.set(id, i);
    out.push({ ...entry.data, id });
  });
  if (problems.length > 0) {
    const more = problems.length > 3 ? `; and ${problems.length - 3} more entries` : '';
    throw invalid(`the catalog is not valid: ${problems.slice(0, 3).join('; ')}${more}`);
  }
  return out;
}

/** Parses a catalog's JSON text as a client sent it (a file the client read as the user). */
export function parseCatalogText(text: string): unknown {
  const json = parseJson(text.replace(/^\uFEFF/, ''));
  if (!json.ok) throw invalid(`the catalog is ${json.reason}; a catalog is a JSON file`);
  return json.value;
}
