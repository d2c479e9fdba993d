// Fuzzes the catalog parser with what a caller or a download can hand it: any text, any JSON,
// real catalogs mutated (testing/hostile-catalogs.ts), and response bodies of any bytes. Each must
// give servers or an RpcError(InvalidConfig) that is short and quotes nothing of the text; what
// it gives must be what the state store can keep (its servers.json schema) and send (ServerInfo).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ErrorCode, MAX_CATALOG_TEXT_BYTES, RpcError, ServerId, ServerInfo } from '../../ipc/schema.js';
import { fail, fuzz, fuzzAsync } from '../../testing/fuzz-run.js';
import { hostileString } from '../../testing/hostile-values.js';
import { parseCatalog, parseCatalogText, type CatalogEntry } from './catalog.js';
import { readCatalog } from './catalog-source.js';
import { DEFAULT_ALLOWED_IPS, ServerRecord } from './files.js';
import { hostileCatalogText } from './testing/hostile-catalogs.js';

const MAX_MESSAGE_CHARS = 2000;

function checkError(e: unknown, codes: readonly number[] = [ErrorCode.InvalidConfig]): void {
  if (!(e instanceof RpcError)) fail(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  if (!codes.includes(e.code)) fail(`code ${e.code}: ${e.message.slice(0, 300)}`);
  if (e.message.length > MAX_MESSAGE_CHARS) fail(`a message of ${e.message.length} characters`);
}

/** The record loadCatalog stores for an entry must pass the schema servers.json is read with. */
function checkEntries(entries: CatalogEntry[]): void {
  const ids = new Set<string>();
  for (const e of entries) {
    if (!ServerId.safeParse(e.id).success) fail(`id ${JSON.stringify(e.id)} is not a server id`);
    if (ids.has(e.id)) fail(`id ${e.id} twice`);
    ids.add(e.id);
    const record = Object.fromEntries(
      Object.entries({ ...e, source: 'catalog', profileId: 'p-00000000', allowedIPs: e.allowedIPs ?? DEFAULT_ALLOWED_IPS }).filter(([, v]) => v !== undefined),
    );
    const stored = ServerRecord.safeParse(record);
    if (!stored.success) fail(`entry ${JSON.stringify(e).slice(0, 300)} was accepted but fails the servers.json schema: ${stored.error.message.slice(0, 300)}`);
    const { profileId: _p, allowedIPs: _a, ...info } = stored.data;
    if (!ServerInfo.safeParse(info).success) fail(`entry ${e.id} was accepted but cannot be sent as ServerInfo`);
  }
}

function check(text: string): void {
  let json: unknown;
  try {
    json = parseCatalogText(text);
  } catch (e) {
    checkError(e);
    // A message says where the JSON broke, never what is there.
    if (text.length >= 20 && (e as Error).message.includes(text.slice(0, 20))) fail('the error quotes the text');
    return;
  }
  let entries: CatalogEntry[];
  try {
    entries = parseCatalog(json);
  } catch (e) {
    checkError(e);
    return;
  }
  checkEntries(entries);
}

const show = (t: string) => JSON.stringify(t.length > 600 ? `${t.slice(0, 600)}… (${t.length} characters)` : t);

describe('fuzz: catalogs', () => {
  it('mutated real catalogs and any JSON: servers the store can keep, or a short InvalidConfig', async () => {
    await fuzz(hostileCatalogText({ maxHuge: 4096 }), check, { runs: 12_000, show });
  }, 120_000);

  it('any text, up to the 192 KiB a request may carry', async () => {
    await fuzz(hostileString(MAX_CATALOG_TEXT_BYTES), check, { runs: 3_000, show });
  }, 120_000);

  it('any response body of a download: servers, or an InvalidConfig that quotes nothing of it', async () => {
    const body = fc.oneof(
      hostileCatalogText().map((t) => Buffer.from(t)),
      fc.tuple(fc.constantFrom(Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xff, 0xfe]), Buffer.alloc(0)), fc.uint8Array({ maxLength: 200 })).map(([a, b]) => Buffer.concat([a, b])),
      fc.tuple(hostileCatalogText(), fc.nat(), fc.integer({ min: 0x80, max: 0xff })).map(([t, at, b]) => {
        const bytes = Buffer.from(t);
        if (bytes.length > 0) bytes[at % bytes.length] = b;
        return bytes;
      }),
    );
    await fuzzAsync(body, async (bytes) => {
      const url = 'https://catalog.example/servers.json';
      let json: unknown;
      try {
        ({ json } = await readCatalog({ url, allowUnsigned: true }, async () => ({ body: bytes, url, contentType: 'application/json' })));
      } catch (e) {
        checkError(e);
        return;
      }
      try {
        checkEntries(parseCatalog(json));
      } catch (e) {
        if (e instanceof RpcError) checkError(e);
        else throw e;
      }
    }, { runs: 3_000, show: (b) => `${b.toString('hex').slice(0, 400)} (${b.length} bytes)` });
  }, 120_000);
});
