// Servers grouped the two ways the picker shows them: one map location per city, and a list by
// country then city. Pure.
import type { ServerInfo } from '../../api.js';
import { fold, placeLabel } from '../../lib/format.js';

/** Servers in the same city (same country) share this key, and one map marker. */
export function locationKey(s: Pick<ServerInfo, 'id' | 'city' | 'country' | 'countryCode'>): string {
  const country = s.countryCode ?? (s.country ? fold(s.country) : '');
  return s.city ? `${country}|${fold(s.city)}` : `${country}|#${s.id}`;
}

export interface MapLocation {
  key: string;
  /** "City, Country": the marker's accessible name. */
  label: string;
  latitude: number;
  longitude: number;
  /** Its servers, in list order. */
  serverIds: string[];
}

/** One location per city among the servers that have coordinates (the first server's coordinates). */
export function mapLocations(servers: readonly ServerInfo[]): MapLocation[] {
  const byKey = new Map<string, MapLocation>();
  for (const s of servers) {
    if (s.latitude === undefined || s.longitude === undefined) continue;
    const key = locationKey(s);
    const loc = byKey.get(key);
    if (loc) loc.serverIds.push(s.id);
    else byKey.set(key, { key, label: placeLabel(s), latitude: s.latitude, longitude: s.longitude, serverIds: [s.id] });
  }
  return [...byKey.values()];
}

interface CityGroup {
  key: string;
  city: string;
  servers: ServerInfo[];
}
export interface CountryGroup {
  key: string;
  country: string;
  cities: CityGroup[];
  count: number;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
const OTHER = 'Other servers';

/** Whether every word of the query is found in the server's name, city, country, code or id. */
export function matches(s: ServerInfo, query: string): boolean {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = fold([s.name, s.city, s.country, s.countryCode, s.id].filter(Boolean).join(' '));
  return words.every((w) => hay.includes(w));
}

/** The servers the search shows (all of them for an empty query), in their order. */
export function filterServers(servers: readonly ServerInfo[], query: string): readonly ServerInfo[] {
  return query.trim() === '' ? servers : servers.filter((s) => matches(s, query));
}

/** The list: countries A–Z, their cities A–Z, their servers by name; "Other servers" last. */
export function groupByCountry(servers: readonly ServerInfo[]): CountryGroup[] {
  const countries = new Map<string, CountryGroup>();
  for (const s of servers) {
    const country = s.country ?? OTHER;
    const ckey = s.country ? locationKey({ id: '', country: s.country, countryCode: s.countryCode }) : '~other';
    let c = countries.get(ckey);
    if (!c) countries.set(ckey, (c = { key: ckey, country, cities: [], count: 0 }));
    const lkey = locationKey(s);
    let city = c.cities.find((x) => x.key === lkey);
    if (!city) c.cities.push((city = { key: lkey, city: s.city ?? s.name, servers: [] }));
    city.servers.push(s);
    c.count++;
  }
  const out = [...countries.values()];
  for (const c of out) {
    c.cities.sort((a, b) => byName(a.city, b.city));
    for (const city of c.cities) city.servers.sort((a, b) => byName(a.name, b.name));
  }
  return out.sort((a, b) => (a.key === '~other' ? 1 : b.key === '~other' ? -1 : byName(a.country, b.country)));
}
