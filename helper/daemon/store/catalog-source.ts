// Where a catalog comes from, and whether to trust it: text the user's client sent (a file the user
// chose), or a URL the helper downloads through the safe fetch (https to public addresses, 4 MiB,
// 10 s). Both then pass the signature rules of catalog-signature.ts. Errors about a download name
// the URL (without credentials or query) and never quote what the server sent.
import { ErrorCode, RpcError, type CatalogTrust } from '../../ipc/schema.js';
import { helperFetch, SafeFetchError, type SafeGet } from '../../platform/net/safe-fetch.js';
import { CATALOG_TIMEOUT_MS, MAX_CATALOG_BYTES, parseCatalogText } from './catalog.js';
import { checkCatalogTrust } from './catalog-signature.js';
import { parseJson } from './files.js';

export type CatalogRequest =
  | { text: string; signingKey?: string }
  | { url: string; signingKey?: string; allowUnsigned?: boolean };

export interface CatalogDocument {
  /** The catalog's parsed JSON, for parseCatalog. */
  json: unknown;
  trust: CatalogTrust;
}

const invalid = (message: string) => new RpcError(ErrorCode.InvalidConfig, message);

function fromFetchError(e: SafeFetchError): RpcError {
  switch (e.code) {
    case 'bad-url':
    case 'refused':
      return new RpcError(ErrorCode.InvalidParams, `the catalog URL ${e.message}`);
    case 'status':
      return new RpcError(e.status === 404 ? ErrorCode.NotFound : ErrorCode.Unavailable, `could not download the catalog: ${e.message}`);
    case 'too-large':
      return invalid(`the catalog is larger than ${MAX_CATALOG_BYTES / 1024 / 1024} MiB; is it really a server catalog? (${e.message})`);
    case 'timeout':
      return new RpcError(ErrorCode.Unavailable, `the catalog did not arrive: ${e.message}; check the address and your connection`);
    default:
      return new RpcError(ErrorCode.Unavailable, `could not download the catalog: ${e.message}`);
  }
}

/** Downloads the document at `url`; returns its text. */
async function download(url: string, get: SafeGet, timeoutMs: number): Promise<string> {
  let body: Buffer;
  try {
    ({ body } = await get(url, { timeoutMs, maxBytes: MAX_CATALOG_BYTES, accept: 'application/json', maxRedirects: 3 }));
  } catch (e) {
    if (e instanceof SafeFetchError) throw fromFetchError(e);
    throw new RpcError(ErrorCode.Unavailable, 'could not download the catalog');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body).replace(/^\uFEFF/, '');
  } catch {
    throw invalid('the downloaded catalog is not UTF-8 text; a catalog is a JSON file');
  }
}

/** Reads a catalog request: downloads a URL, parses, checks the signature rules. */
export async function readCatalog(req: CatalogRequest, get: SafeGet = helperFetch(), timeoutMs = CATALOG_TIMEOUT_MS): Promise<CatalogDocument> {
  let text: string;
  let outer: unknown;
  if ('url' in req) {
    text = await download(req.url, get, timeoutMs);
    const parsed = parseJson(text);
    // No position: what a remote document holds is not the caller's to probe.
    if (!parsed.ok) throw invalid('the downloaded catalog is not valid JSON; a catalog is a JSON file');
    outer = parsed.value;
  } else {
    text = req.text.replace(/^\uFEFF/, '');
    outer = parseCatalogText(text);
  }
  const checked = checkCatalogTrust(text, outer, {
    origin: 'url' in req ? 'url' : 'text',
    ...(req.signingKey !== undefined ? { signingKey: req.signingKey } : {}),
    ...('allowUnsigned' in req && req.allowUnsigned !== undefined ? { allowUnsigned: req.allowUnsigned } : {}),
  });
  const json = checked.text === text ? outer : parseCatalogText(checked.text);
  return { json, trust: checked.trust };
}
