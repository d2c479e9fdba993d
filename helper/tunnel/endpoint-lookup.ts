// The helper's own lookups of a hostname endpoint (issue 10, item 8). While a block is up, port 53
// is closed for everyone; the ruleset lets out only UDP/TCP port 53 that carries the helper's
// fwmark, to the system's own resolvers (`resolvers()` says which, for the firewall spec). So the
// lookup does not go through getaddrinfo (unmarked, and through the old tunnel when switching
// servers while connected) but through a small DNS client of its own: A and AAAA over a UDP
// socket with SO_MARK, to those resolvers in order, each try short and the whole bounded.
// A success is remembered in <stateDir>/endpoint-cache.json; a failure falls back to that last
// good address (`fromCache: true`), or throws EndpointUnresolvable, saying who was asked and what
// each said.
import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { canonicalIp, systemResolvers } from '../platform/dns/system-resolvers.js';
import { DnsWireError, normalizeName } from '../platform/dns/wire.js';
import { openUdpSocket } from '../platform/udp/marked-socket.js';
import { describeOutcome, exchange, type ExchangeOutcome } from './dns-exchange.js';
import { endpointCache } from './endpoint-cache.js';
import type { ResolvedEndpoint } from './endpoints.js';

const DNS_PORT = 53;
/** One try (one resolver, A and AAAA together): long enough for a slow resolver on a bad link. */
const DEFAULT_TRY_TIMEOUT_MS = 1500;
/** The whole lookup: a connect waits at most this long for a name. */
const DEFAULT_TOTAL_TIMEOUT_MS = 5000;
/** A try with less time than this left is not started. */
const MIN_TRY_MS = 100;

export interface EndpointLookup {
  /** The system resolvers lookups go to (canonical IP literals, deduplicated): what the firewall
   *  must let the helper's marked socket reach. Never the tunnel's DNS, never resolved's stub. */
  resolvers(): Promise<string[]>;
  /** host:port to one address: IP literals at once (no I/O); a hostname through the resolvers,
   *  else the remembered address (`fromCache`), else EndpointUnresolvable. */
  resolve(ep: { host: string; port: number }): Promise<ResolvedEndpoint & { fromCache?: boolean }>;
}

export interface EndpointLookupOptions {
  stateDir: string;
  /** SO_MARK of the lookup sockets: the helper's fwmark, which the block lets reach the resolvers. */
  fwmark: number;
  /** /etc/resolv.conf in production. */
  resolvConfPath: string;
  /** For `resolvectl dns` when the system uses systemd-resolved; systemRunner by default. */
  run?: CommandRunner;
  /** The tunnel's links (their DNS is never used); names starting with "umbra" by default. */
  isTunnelLink?: (name: string) => boolean;
  /** The tunnel's DNS servers right now, never asked. */
  excludeServers?: () => readonly string[];
  /** For tests: these resolvers instead of the system's. */
  resolversOverride?: string[];
  /** For tests: the port queries go to; 53 by default. */
  port?: number;
  /** One try's time; DEFAULT_TRY_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /** The whole lookup's time; DEFAULT_TOTAL_TIMEOUT_MS by default. */
  totalTimeoutMs?: number;
  /** For tests: opens the query socket; by default a marked UDP socket (openUdpSocket). */
  openSocket?: (family: 4 | 6) => Promise<dgram.Socket>;
  log?: (line: string) => void;
}

export interface ResolverAnswer {
  server: string;
  /** What it said, in words ("answered NXDOMAIN (no such name)", "did not answer within 1500 ms"). */
  said: string;
}

/** A hostname endpoint that could not be resolved and was never resolved before. */
export class EndpointUnresolvable extends Error {
  readonly code = 'ENDPOINT_UNRESOLVABLE';
  constructor(
    readonly host: string,
    /** The resolvers that were to be asked. */
    readonly resolvers: readonly string[],
    /** What each one asked said, in the order asked (a resolver asked twice appears twice). */
    readonly answers: readonly ResolverAnswer[],
    why: string,
  ) {
    super(`cannot resolve the endpoint host "${host}": ${why}. Check the name in the config's Endpoint and that this network's DNS works, or put the server's IP address in Endpoint.`);
    this.name = 'EndpointUnresolvable';
  }
}

export function createEndpointLookup(opts: EndpointLookupOptions): EndpointLookup {
  const port = opts.port ?? DNS_PORT;
  const tryMs = opts.timeoutMs ?? DEFAULT_TRY_TIMEOUT_MS;
  const totalMs = opts.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  const log = opts.log ?? (() => {});
  const cache = endpointCache(opts.stateDir);
  const openSocket = opts.openSocket ?? ((family: 4 | 6) => openUdpSocket({ family, mark: opts.fwmark, bufferBytes: 0 }));

  async function resolversWithSource(): Promise<{ servers: string[]; source: string }> {
    const exclude = opts.excludeServers?.() ?? [];
    if (opts.resolversOverride) {
      const servers = opts.resolversOverride.map((s) => {
        const ip = canonicalIp(s);
        if (!ip) throw new TypeError(`resolversOverride: ${JSON.stringify(s)} is not an IP address without a zone id`);
        return ip;
      });
      const skip = new Set(exclude.map((s) => canonicalIp(s) ?? s));
      return { servers: [...new Set(servers)].filter((s) => !skip.has(s)), source: 'the resolvers given' };
    }
    return systemResolvers({
      resolvConfPath: opts.resolvConfPath,
      stateDir: opts.stateDir,
      run: opts.run ?? systemRunner,
      exclude,
      ...(opts.isTunnelLink ? { isTunnelLink: opts.isTunnelLink } : {}),
    });
  }

  /** Asks the resolvers in order; a second round for those that only timed out, while time is left. */
  async function lookUp(name: string, servers: string[]): Promise<{ found?: Extract<ExchangeOutcome, { kind: 'address' }>; answers: ResolverAnswer[]; unasked: string[] }> {
    const deadline = Date.now() + totalMs;
    const answers: ResolverAnswer[] = [];
    let pending = servers;
    for (let round = 0; round < 2 && pending.length > 0; round++) {
      const timedOut: string[] = [];
      for (let i = 0; i < pending.length; i++) {
        const server = pending[i]!;
        const left = deadline - Date.now();
        if (left < MIN_TRY_MS) return { answers, unasked: round === 0 ? pending.slice(i) : [] };
        const outcome = await exchange({ server, port, name, timeoutMs: Math.min(tryMs, left), openSocket });
        if (outcome.kind === 'address') return { found: outcome, answers, unasked: [] };
        answers.push({ server, said: describeOutcome(outcome) });
        if (outcome.kind === 'timeout') timedOut.push(server);
      }
      pending = timedOut;
    }
    return { answers, unasked: [] };
  }

  return {
    async resolvers() {
      return (await resolversWithSource()).servers;
    },

    async resolve(ep) {
      const literal = isIP(ep.host);
      if (literal === 4 || literal === 6) return { host: ep.host, port: ep.port, family: literal };
      let name: string;
      try {
        name = normalizeName(ep.host);
      } catch (e) {
        if (!(e instanceof DnsWireError)) throw e;
        throw new EndpointUnresolvable(ep.host, [], [], 'it is not a valid host name');
      }

      let servers: string[] = [];
      let why: string;
      let answers: ResolverAnswer[] = [];
      try {
        const found = await resolversWithSource();
        servers = found.servers;
        if (servers.length === 0) {
          why = `no DNS resolver of this system is known outside the tunnel (none in ${found.source})`;
        } else {
          const r = await lookUp(name, servers);
          if (r.found) {
            await cache.put(name, { address: r.found.address, family: r.found.family }).catch((e: unknown) => {
              log(`could not remember the address of ${name}: ${(e as Error).message}`);
            });
            return { host: r.found.address, port: ep.port, family: r.found.family };
          }
          answers = r.answers;
          const parts = answers.map((a) => `${a.server} ${a.said}`);
          if (r.unasked.length > 0) parts.push(`${r.unasked.join(', ')} not asked (the ${totalMs} ms for the lookup were used up)`);
          why = `asked the system's resolvers (from ${found.source}): ${parts.join('; ')}`;
        }
      } catch (e) {
        why = `the system's resolvers could not be read (${(e as Error).message})`;
      }

      const cached = await cache.get(name).catch(() => undefined);
      if (cached) {
        log(`endpoint ${name}: lookup failed (${why}); using its last good address ${cached.address}, from ${cached.resolvedAt}`);
        return { host: cached.address, port: ep.port, family: cached.family, fromCache: true };
      }
      throw new EndpointUnresolvable(ep.host, servers, answers, why);
    },
  };
}
