// Catalogs a hostile provider, a tampered download or a careless file would hold: real catalogs
// mutated (see testing/hostile-values.ts) and JSON of any shape, as text.
import fc from 'fast-check';
import { hostileTree, mutated, toJsonText, type Tree } from '../../../testing/hostile-values.js';
import { catalogEntry, key } from '../testdata/configs.js';

const entry = (over: Record<string, unknown>) => catalogEntry(over) as Record<string, Tree>;

/** Valid catalogs using every field, null for absent, extras, ids to slugify, IPv6 and hostname endpoints. */
export const VALID_CATALOGS: Tree[] = [
  { servers: [entry({})] },
  {
    provider: 'Example VPN',
    version: 3,
    servers: [
      entry({ id: 'se-got-001', allowedIPs: ['0.0.0.0/0', '::/0'] }),
      entry({ id: 'SE Göteborg #2', countryCode: 'se', city: null, exitIp: '2001:db8::11', endpoint: '[2001:db8::10]:51820', publicKey: key(0x78) }),
      entry({ id: 'de-fra-1', name: ' Frankfurt ', country: null, countryCode: null, latitude: null, longitude: null, endpoint: 'fra1.vpn.example:4500', exitIp: null, allowedIPs: null, owned: true }),
    ],
  },
];

/** Every field name a catalog uses: mutations add these as often as odd ones. */
const CATALOG_KEYS = ['servers', 'id', 'name', 'country', 'countryCode', 'city', 'latitude', 'longitude', 'endpoint', 'publicKey', 'exitIp', 'allowedIPs'];

/** A catalog's JSON text: mutated valid ones mostly, sometimes any JSON at all. */
export const hostileCatalogText = (opts: { maxHuge?: number } = {}): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 6, arbitrary: mutated(VALID_CATALOGS, CATALOG_KEYS, { maxHuge: opts.maxHuge }) },
      { weight: 2, arbitrary: hostileTree(CATALOG_KEYS, opts.maxHuge).map((servers) => ({ servers })) },
      { weight: 1, arbitrary: hostileTree(CATALOG_KEYS, opts.maxHuge) },
    )
    .map(toJsonText);
