// The files of the state dir: their zod schemas, and reading one with the "set aside when
// corrupt" rule. Every file is JSON with "schemaVersion": 1 and is written 0600 (atomic-file.ts).
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../config/wg-quick.js';
import { formatPrefix, parseIp, parsePrefix } from '../../net/ip.js';
import { parseKey } from '../../net/keys.js';
import { ServerId, ServerInfo } from '../../ipc/schema.js';
import { parseEndpoint } from '../../net/endpoint.js';

const SCHEMA_VERSION = 1;
export const SETTINGS_FILE = 'settings.json';
export const PROFILES_FILE = 'profiles.json';
export const SERVERS_FILE = 'servers.json';
export const STATE_FILE = 'state.json';

export const DEFAULT_ALLOWED_IPS = ['0.0.0.0/0', '::/0'];

// ------------------------------------------------------------------ checked text fields

const ok = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof Error) return false;
    throw e;
  }
};

/** A WireGuard key in base64. Messages never repeat the value. */
export const KeyText = z.string().refine((t) => ok(() => parseKey(t)), 'not a valid WireGuard key (44 characters of base64)');
export const IpText = z.string().refine((t) => parseIp(t) !== undefined, 'not an IP address');
/** An interface address, host bits kept (100.64.0.2/32). */
export const AddressText = z.string().refine((t) => ok(() => parsePrefix(t, { keepHostBits: true })), 'not an address with a prefix, e.g. 100.64.0.2/32');
/** A route prefix (0.0.0.0/0). */
export const CidrText = z.string().refine((t) => ok(() => parsePrefix(t)), 'not an IP prefix, e.g. 0.0.0.0/0');
export const EndpointText = z.string().refine((t) => ok(() => parseEndpoint(t)), 'not host:port or [IPv6]:port');

export const canonicalCidr = (t: string): string => formatPrefix(parsePrefix(t));

// ------------------------------------------------------------------ records

/** One imported wg-quick [Interface]: the device's key pair as the provider knows it. */
export const ProfileRecord = z.strictObject({
  id: z.string().regex(/^p-[0-9a-f]{8,32}$/),
  /** The name given at import, if any (for people reading the file). */
  name: z.string().max(100).optional(),
  /** SECRET: the interface private key, base64. */
  privateKey: KeyText,
  addresses: z.array(AddressText).min(1),
  dns: z.array(IpText),
  dnsSearch: z.array(z.string().max(253)),
  mtu: z.number().int().min(576).max(65535).optional(),
  /** Epoch ms of the last import; the newest profile is the one catalogs use. */
  importedAt: z.number().int().nonnegative(),
});
export type ProfileRecord = z.infer<typeof ProfileRecord>;

/** A server as stored: what the UI sees (ServerInfo) plus what only the tunnel needs. */
export const ServerRecord = ServerInfo.extend({
  endpoint: ServerInfo.shape.endpoint.pipe(EndpointText),
  publicKey: KeyText,
  profileId: z.string(),
  allowedIPs: z.array(CidrText).min(1),
  /** SECRET: the peer's preshared key, base64. */
  presharedKey: KeyText.optional(),
  persistentKeepalive: z.number().int().min(1).max(65535).optional(),
});
export type ServerRecord = z.infer<typeof ServerRecord>;

export const Desired = z.strictObject({ wantConnected: z.boolean(), serverId: ServerId.optional() });
export type Desired = z.infer<typeof Desired>;

// ------------------------------------------------------------------ files

const version = { schemaVersion: z.literal(SCHEMA_VERSION) };

/** Any object with our schemaVersion: settings-salvage.ts reads its keys one by one. */
export const SettingsFile = z.looseObject({ ...version });
export const ProfilesFile = z.strictObject({ ...version, profiles: z.array(ProfileRecord) }).superRefine((f, ctx) => {
  const seen = new Set<string>();
  f.profiles.forEach((p, i) => {
    if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['profiles', i, 'id'], message: 'used twice' });
    seen.add(p.id);
  });
});
export const ServersFile = z.strictObject({ ...version, servers: z.array(ServerRecord) }).superRefine((f, ctx) => {
  const seen = new Set<string>();
  f.servers.forEach((s, i) => {
    if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['servers', i, 'id'], message: 'used twice' });
    seen.add(s.id);
  });
});
export const StateFile = z.strictObject({ ...version, ...Desired.shape });

// ------------------------------------------------------------------ reading

/** "a.b[2].c: message" for the first few issues; zod's messages do not repeat input values. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => {
    const path = i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n === 0 ? '' : '.'}${String(p)}`)).join('');
    return path ? `${path}: ${i.message}` : i.message;
  });
  const more = error.issues.length - max;
  return parts.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** JSON.parse with an error that does not quote the text (V8's message does, and a file may hold keys). */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const message = (e as Error).message;
    const pos = /position (\d+)/.exec(message)?.[1];
    if (pos !== undefined) return { ok: false, reason: `not valid JSON at position ${pos}` };
    return { ok: false, reason: /end of JSON input/.test(message) ? 'not valid JSON: it ends too early' : 'not valid JSON' };
  }
}

export interface LoadContext {
  dir: string;
  log: (line: string) => void;
  now: () => number;
  /** The names of the files found unreadable (and set aside) so far. */
  setAside: string[];
}

/**
 * Reads `name` from the state dir. Missing: `fallback`. Unreadable (bad JSON, another
 * schemaVersion, fails the schema): moved aside to `<name>.corrupt-<time>`, one log line saying so
 * and `consequence`, then `fallback`.
 */
export async function loadFile<T, F = T>(ctx: LoadContext, name: string, schema: z.ZodType<T>, fallback: F, consequence: string): Promise<T | F> {
  const path = join(ctx.dir, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw e;
  }
  let reason: string;
  const json = parseJson(text);
  if (!json.ok) reason = json.reason;
  else {
    const v: unknown = (json.value as { schemaVersion?: unknown } | null)?.schemaVersion;
    if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) reason = 'not a JSON object';
    else if (v !== SCHEMA_VERSION) {
      reason = typeof v === 'number' ? `schemaVersion ${v} is not one this version of Umbra reads (${SCHEMA_VERSION})` : 'no schemaVersion';
    } else {
      const parsed = schema.safeParse(json.value);
      if (parsed.success) return parsed.data;
      reason = describeIssues(parsed.error);
    }
  }
  const stamp = new Date(ctx.now()).toISOString().replace(/[:.]/g, '-');
  const aside = `${path}.corrupt-${stamp}`;
  await rename(path, aside);
  ctx.setAside.push(name);
  ctx.log(`${name} was unreadable (${reason}); moved to ${aside}; ${consequence}`);
  return fallback;
}

export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function toJson(value: object): string {
  return `${JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...value }, null, 2)}\n`;
}
