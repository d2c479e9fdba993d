// Request lines a hostile member of the umbra group would send: every method's valid params,
// mutated (see testing/hostile-values.ts), in envelopes that are themselves mutated, and
// params that are any JSON at all.
import fc from 'fast-check';
import { PROVIDER_CONF } from '../../daemon/store/testdata/configs.js';
import { hostileTree, mutated, RawJson, toJsonText, type Tree } from '../../testing/hostile-values.js';
import { METHOD_NAMES, type MethodName } from '../schema.js';

const CATALOG_TEXT = JSON.stringify({
  servers: [{ id: 'se-got-001', name: 'Gothenburg 1', countryCode: 'se', endpoint: '203.0.113.10:51820', publicKey: `${'A'.repeat(42)}E=` }],
});

/** Params each method accepts, with every optional field used somewhere. */
const VALID_PARAMS: Record<MethodName, Tree[]> = {
  version: [{}],
  status: [{}],
  connect: [{}, { serverId: 'se-sto' }],
  disconnect: [{}],
  listServers: [{}],
  importConfig: [{ text: PROVIDER_CONF }, { text: PROVIDER_CONF, name: 'Home' }],
  removeServer: [{ id: 'de-fra' }],
  loadCatalog: [{ text: CATALOG_TEXT }, { url: 'https://catalog.example/servers.json' }],
  getSettings: [{}],
  setSettings: [
    { killSwitch: true },
    {
      killSwitch: true,
      killSwitchOnBoot: false,
      lockdown: false,
      allowLan: true,
      autoConnect: false,
      lastServerId: 'se-sto',
      echoUrls: ['https://echo.example/', 'http://198.51.100.80/ip'],
      echoUrl6: null,
      dnsLeakTest: { zone: 'leaktest.example', apiUrl: 'https://leaktest.example/api' },
      dnsServers: ['198.51.100.53', '2001:db8::53'],
      stunServers: ['stun:stun.example:3478'],
      networks: { unseen: 'untrusted', known: [{ key: '0123456789abcdef', name: 'Home', kind: 'wifi', rule: 'trusted' }] },
    },
  ],
  setNetwork: [{ key: 'current', rule: 'trusted' }, { key: '0123456789abcdef', rule: 'ask', name: 'Café' }],
  leakCheck: [{}],
  excludeProcess: [{ pid: 4242 }],
  includeProcess: [{ pid: 4242 }],
  listExcluded: [{}],
  measureLatency: [{}, { serverIds: ['se-sto', 'de-fra'] }],
  subscribe: [{}],
};

function fieldNames(tree: Tree, out: Set<string>): Set<string> {
  if (Array.isArray(tree)) tree.forEach((t) => fieldNames(t, out));
  else if (tree !== null && typeof tree === 'object' && !(tree instanceof RawJson)) {
    for (const [k, v] of Object.entries(tree)) fieldNames(v, out.add(k));
  }
  return out;
}

/** Every field name the schema's requests use, envelope included: mutations add these as often as odd ones. */
const REQUEST_KEYS = [...fieldNames(Object.values(VALID_PARAMS).flat(), new Set(['jsonrpc', 'id', 'method', 'params']))];

const envelope = (method: string, params: Tree, id: Tree = 1): Tree => ({ jsonrpc: '2.0', id, method, params });

/** Valid requests of every method. */
export const VALID_REQUESTS: Tree[] = METHOD_NAMES.flatMap((m) => VALID_PARAMS[m].map((p, i) => envelope(m, p, i % 2 === 0 ? i + 1 : `r-${m}`)));

export interface RequestOptions {
  /** Longest string a mutation puts in. */
  maxHuge?: number;
}

/** One request line's JSON text (no newline): near-valid mostly, sometimes params of any shape. */
export const hostileRequestText = (opts: RequestOptions = {}): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 6, arbitrary: mutated(VALID_REQUESTS, REQUEST_KEYS, { maxHuge: opts.maxHuge }) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...METHOD_NAMES), hostileTree(REQUEST_KEYS, opts.maxHuge)).map(([m, p]) => envelope(m, p)) },
      { weight: 1, arbitrary: fc.constantFrom(...VALID_REQUESTS) },
    )
    .map(toJsonText);
