// Endpoints as the config gives them (IP or hostname) turned into addresses, once, at start.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Endpoint } from '../wireguard/device.js';

export interface ResolvedEndpoint extends Endpoint {
  family: 4 | 6;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }>;

export const systemResolver: Resolver = (host) => lookup(host, { verbatim: true });

export async function resolveEndpoint(ep: Endpoint, resolve: Resolver = systemResolver): Promise<ResolvedEndpoint> {
  const ip = isIP(ep.host);
  if (ip === 4 || ip === 6) return { host: ep.host, port: ep.port, family: ip };
  try {
    const r = await resolve(ep.host);
    return { host: r.address, port: ep.port, family: r.family === 6 ? 6 : 4 };
  } catch (e) {
    throw new Error(`cannot resolve the endpoint host "${ep.host}": ${(e as Error).message}. Check the name, or use the server's IP address in Endpoint.`);
  }
}

// The helper's own lookups (marked socket, system resolvers, cache): for connects under a block.
export { createEndpointLookup } from './endpoint-lookup.js';
