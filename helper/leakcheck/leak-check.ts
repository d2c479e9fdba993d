// The helper side of the leak checks (DESIGN.md, "Leak checks"): gathers what the kernel and the
// network show — the firewall's table (a block, or the guard while connected without the kill
// switch), routes, resolvers, IP-echo services, a DNS leak-test service — and turns it into
// verdicts (verdicts.ts). The WebRTC check runs in the renderer.
//
// One check runs at a time; a call while one is under way gets that one's report. A check never
// changes the system, with one exception that it reports: when the firewall's table is missing
// or different from what the helper applied, it says so (fail) and then asks the watchdog to put it
// back at once instead of at its next tick.
import type { DnsBackendName } from '../platform/dns/types.js';
import { randomBytes } from 'node:crypto';
import type { LeakCheckProgress, LeakCheckResult, LeakReport, Settings, TunnelStatus } from '../ipc/schema.js';
import { DEFAULT_ECHO_URL6, DEFAULT_ECHO_URLS } from '../ipc/schema.js';
import type { CommandRunner } from '../platform/exec.js';
import type { FirewallSpec, TableState } from '../platform/firewall/firewall.js';
import { specHash } from '../platform/firewall/ruleset.js';
import { throughLanForwarder, type JudgedSource } from './lan-resolvers.js';
import { ExitMeter } from './exit-meter.js';
import { PreVpnMemory } from './pre-vpn.js';
import { progressReporter } from './progress.js';
import {
  dnsQuery as realDnsQuery,
  echoAddress,
  fetchAskers,
  ownAddresses as realOwnAddresses,
  routeGet as realRouteGet,
  systemResolvers,
  type ResolverSource,
} from './probes.js';
import {
  canonicalIp, dnsCheck, ipv6Check, killSwitchCheck, killSwitchHolds, publicIpCheck,
  type ActiveQueryFact, type EchoOutcome, type ResolverFact, type RouteFact, type StateFacts, type TableFact,
} from './verdicts.js';

/** Looked up in the routing table only (nothing is sent to it) when no IPv6 echo address is known. */
export const PUBLIC_V6_PROBE = '2606:4700:4700::1111';

// Tuning.
const ECHO_TIMEOUT_MS = 3_000;
const DNS_TIMEOUT_MS = 2_000;
const API_TIMEOUT_MS = 3_000;

/** The I/O the checks use (real by default; tests replace them). */
export interface LeakProbes {
  echo(url: string, family: 4 | 6 | undefined, timeoutMs: number): Promise<string>;
  routeGet(address: string): Promise<RouteFact>;
  ownAddresses(): Promise<string[]>;
  resolvers(): Promise<ResolverSource[]>;
  dnsQuery(server: string, name: string, timeoutMs: number): Promise<string>;
  askers(apiUrl: string, name: string, timeoutMs: number): Promise<string[]>;
}

export interface LeakCheckDeps {
  run: CommandRunner;
  status(): TunnelStatus;
  settings(): Settings;
  /** The user wants to be connected. */
  wantsConnection(): boolean;
  firewall: { read(): Promise<TableState> };
  /** The firewall the helper applied and its watchdog enforces: a block, or the guard while
   *  connected without the kill switch (undefined: none). */
  expectedBlock(): FirewallSpec | undefined;
  /** Whether that block is the boot block. */
  expectedIsBoot(): boolean;
  /** Runs the watchdog now (puts the table back when it is missing or different). */
  restoreNow(): Promise<void>;
  dns: { backend: DnsBackendName; resolvConfPath: string };
  isTunnelDevice(dev: string): boolean;
  now(): number;
  log(line: string): void;
  /** The measured exit changed (push a status). */
  exitChanged?(): void;
  /** A check of the run under way finished (pushed to subscribers as it happens). */
  progress?(p: LeakCheckProgress): void;
  probes?: Partial<LeakProbes>;
}

/** The echo URLs for IPv4 and IPv6 from the settings: [url, family] (family only for host names). */
export function echoTargets(s: Pick<Settings, 'echoUrls' | 'echoUrl6'>): { v4: string[]; v6: string[] } {
  if (s.echoUrls === undefined && s.echoUrl6 === undefined) return { v4: DEFAULT_ECHO_URLS, v6: [DEFAULT_ECHO_URL6] };
  const v4 = s.echoUrls ?? DEFAULT_ECHO_URLS;
  if (s.echoUrl6 === null) return { v4, v6: [] };
  if (s.echoUrl6 !== undefined) return { v4, v6: [s.echoUrl6] };
  // Derived: the IPv4 services' host names, asked over IPv6 (literal IPv4 hosts cannot be).
  return { v4, v6: v4.filter((u) => !/^\d+\.\d+\.\d+\.\d+$/.test(hostOf(u))) };
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

/** The IPv6 address the IPv6 route check looks up: the IPv6 echo service's, when its host is one. */
export function ipv6RouteTarget(v6Urls: readonly string[]): string {
  for (const u of v6Urls) {
    const h = hostOf(u);
    if (h.includes(':') && canonicalIp(h)) return canonicalIp(h)!;
  }
  return PUBLIC_V6_PROBE;
}

/** A fresh name under `zone` that no cache can have seen. */
export function uniqueTestName(zone: string, random: () => string = () => randomBytes(8).toString('hex')): string {
  return `umbra-${random()}.${zone.toLowerCase().replace(/\.$/, '')}`;
}

const isV6 = (a: string) => a.includes(':');
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class LeakChecker {
  readonly preVpn: PreVpnMemory;
  /** The exit address measured through the tunnel, per connection. */
  readonly exit: ExitMeter;
  private readonly p: LeakProbes;
  private inflight: Promise<LeakReport> | undefined;
  private lastRestore: { at: number; why: string } | undefined;

  constructor(private readonly d: LeakCheckDeps) {
    this.p = {
      echo: (url, family, timeoutMs) => echoAddress(url, family === undefined ? { timeoutMs } : { timeoutMs, family }),
      routeGet: (a) => realRouteGet(d.run, a),
      ownAddresses: () => realOwnAddresses(d.run, d.isTunnelDevice),
      resolvers: () => systemResolvers(d.dns.backend, d.dns.resolvConfPath, d.run),
      dnsQuery: (server, name, timeoutMs) => realDnsQuery(server, name, { timeoutMs }),
      askers: (apiUrl, name, timeoutMs) => fetchAskers(apiUrl, name, timeoutMs),
      ...d.probes,
    };
    this.preVpn = new PreVpnMemory({
      probe4: async () => firstAnswer(await this.echoAll(echoTargets(d.settings()).v4, 4)),
      probe6: async () => firstAnswer(await this.echoAll(echoTargets(d.settings()).v6, 6)),
      allowed: () => this.mayLookWithoutVpn(),
      now: d.now,
      log: d.log,
    });
    this.exit = new ExitMeter({
      measure: () => this.echoEach(d.settings()),
      now: d.now,
      changed: () => d.exitChanged?.(),
      log: d.log,
      withoutVpn: () => [this.preVpn.v4?.address, this.preVpn.v6?.address].filter((a) => a !== undefined),
    });
  }

  /** Told every status the helper pushes (the pre-VPN address is looked up after a disconnect). */
  onStatus(status: TunnelStatus): void {
    this.preVpn.onStatus(status);
    this.exit.onStatus(status);
  }

  /** The watchdog put the table back. */
  noteRestore(why: string): void {
    this.lastRestore = { at: this.d.now(), why };
  }

  /** The echo settings changed: look again (when allowed). */
  settingsChanged(before: Settings, after: Settings): void {
    if (JSON.stringify([before.echoUrls, before.echoUrl6]) !== JSON.stringify([after.echoUrls, after.echoUrl6])) {
      this.preVpn.v4 = undefined;
      this.preVpn.v6 = undefined;
      this.preVpn.probeSoon();
    }
  }

  private mayLookWithoutVpn(): boolean {
    const s = this.d.status();
    return s.state === 'disconnected' && !s.blocked && !this.d.wantsConnection();
  }

  /** Runs the checks (or joins the run under way). */
  run(): Promise<LeakReport> {
    this.inflight ??= this.runOnce().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async echoAll(urls: readonly string[], family: 4 | 6): Promise<EchoOutcome[]> {
    return Promise.all(
      urls.map(async (url): Promise<EchoOutcome> => {
        try {
          const literal = canonicalIp(hostOf(url)) !== undefined;
          return { url, address: await this.p.echo(url, literal ? undefined : family, ECHO_TIMEOUT_MS) };
        } catch (e) {
          return { url, error: errText(e) };
        }
      }),
    );
  }

  /** The IPv4 echo services, and the first IPv6 one, each family on its own. */
  private echoEach(settings: Settings): { v4: Promise<EchoOutcome[]>; v6: Promise<EchoOutcome[]> } {
    const targets = echoTargets(settings);
    return { v4: this.echoAll(targets.v4, 4), v6: targets.v6.length > 0 ? this.echoAll(targets.v6.slice(0, 1), 6) : Promise.resolve([]) };
  }

  private async runOnce(): Promise<LeakReport> {
    const d = this.d;
    const checkedAt = d.now();
    const status = d.status();
    const settings = d.settings();
    const wantsConnection = d.wantsConnection();
    const tunnelInterface = status.state !== 'disconnected' ? status.interfaceName : undefined;

    // The kill switch first: the other checks count on its rules only when they hold. The read
    // waits for a change of the table under way; what the helper expects is taken after it, so the
    // two belong together.
    const table: TableFact = await d.firewall.read().then(
      (t): TableFact => ({
        present: t.present,
        ...(t.hash === undefined ? {} : { hash: t.hash }),
        ...(t.block === undefined ? {} : { block: t.block }),
        ...(t.listing === undefined ? {} : { listing: t.listing }),
      }),
      (e: unknown): TableFact => ({ error: errText(e) }),
    );
    const expected = d.expectedBlock();
    const expectedHash = expected ? specHash(expected) : undefined;
    const expectedGuard = expected !== undefined && !expected.block;
    const holds = killSwitchHolds({ table, expectedHash, expectedGuard });
    // The guard of an IPv4-only tunnel refuses IPv6 outside it, when its table is as applied.
    const ipv6Refused = expectedGuard && !expected.tunnelsIpv6 && !('error' in table) && table.present && table.hash === expectedHash;
    const facts: StateFacts = { state: status.state, wantsConnection, killSwitchHolds: holds, ...(tunnelInterface ? { tunnelInterface } : {}) };

    // Each check is told as soon as what it rests on is in (the kill switch's table came first).
    const finished = progressReporter(checkedAt, d.progress);
    const ks = killSwitchCheck({
      state: status.state,
      wantsConnection,
      setting: settings.killSwitch,
      onBoot: settings.killSwitchOnBoot,
      ...(expectedHash ? { expectedHash, expectedIsBoot: d.expectedIsBoot(), ...(expectedGuard ? { expectedGuard } : {}) } : {}),
      table,
      ...(this.lastRestore ? { lastRestore: this.lastRestore } : {}),
      now: d.now(),
    });
    // A table to put back is told once that is done (its evidence says how it went).
    const repair = ks.verdict === 'fail' && expected !== undefined;
    if (!repair) finished(ks);

    const targets = echoTargets(settings);
    const echo = this.echoEach(settings);
    const ownP = this.p.ownAddresses().catch(() => [] as string[]);
    const route6P = this.p.routeGet(ipv6RouteTarget(targets.v6));
    const resolversP = this.resolverFacts(settings, status);
    // The LAN servers the user named are not asked for the leak test's names: they are not for them.
    const activeP = settings.dnsLeakTest ? resolversP.then((r) => this.activeDns(settings.dnsLeakTest!, r.list.filter((x) => !x.expectedFor))) : Promise.resolve(undefined);
    // Seen through this connection: its measured exit, as of now.
    void Promise.all([echo.v4, echo.v6]).then(([v4, v6]) => this.exit.observe(status, checkedAt, v4, v6));

    const exitIp = wantsConnection ? status.server?.exitIp : undefined;
    const seenIn = (echoes: readonly EchoOutcome[]) => echoes.flatMap((e) => (e.address ? [e.address] : []));
    const preVpn4 = this.preVpn.v4;
    const preVpn6 = this.preVpn.v6;
    const ownAll = (own: string[]) => [...own, ...(preVpn4 ? [preVpn4.address] : []), ...(preVpn6 ? [preVpn6.address] : [])];

    const publicIp = Promise.all([echo.v4, ownP]).then(([echo4, own]) =>
      finished(
        publicIpCheck({
          ...facts,
          ...(status.server && wantsConnection ? { serverName: status.server.name } : {}),
          ...(exitIp ? { exitIp } : {}),
          ...(preVpn4 ? { preVpn: { address: preVpn4.address, at: preVpn4.at } } : {}),
          own: own.filter((a) => !isV6(a)),
          echo: echo4,
        }),
      ),
    );
    const dns = Promise.all([echo.v4, echo.v6, ownP, resolversP, activeP]).then(([echo4, echo6, own, resolvers, active]) => {
      // What is the tunnel's: the exit, and (connected) what the echo services see, unless that is yours.
      const seenViaTunnel = status.state === 'connected' ? [...seenIn(echo4), ...seenIn(echo6)].filter((a) => !ownAll(own).includes(a)) : [];
      const tunnelAddresses = [...(exitIp ? [exitIp] : []), ...seenViaTunnel, ...(wantsConnection ? status.dns : [])];
      return finished(
        dnsCheck({
          ...facts,
          backend: d.dns.backend,
          resolvers: resolvers.list,
          ...(resolvers.error ? { resolversError: resolvers.error } : {}),
          ...(active && settings.dnsLeakTest ? { active: { zone: settings.dnsLeakTest.zone, apiUrl: settings.dnsLeakTest.apiUrl, queries: active } } : {}),
          tunnelAddresses,
          ownAddresses: ownAll(own),
        }),
      );
    });
    const ipv6 = Promise.all([echo.v6, ownP, route6P]).then(([echo6, own, route6]) =>
      finished(
        ipv6Check({
          ...facts,
          route: route6,
          ...(echo6[0] ? { echo6: echo6[0] } : {}),
          own6: [...own.filter(isV6), ...(preVpn6 ? [preVpn6.address] : [])],
          ...(ipv6Refused ? { ipv6Refused } : {}),
        }),
      ),
    );
    const [echo4, echo6, own, ...results] = await Promise.all([echo.v4, echo.v6, ownP, publicIp, dns, ipv6]);
    const seen4 = seenIn(echo4);
    const seen6 = seenIn(echo6);
    const checks: LeakCheckResult[] = [...results, ks];
    if (repair) {
      // Reported as found; then the table goes back now rather than at the watchdog's next tick.
      try {
        await d.restoreNow();
        ks.evidence.push({ label: 'After this check', text: 'the helper put the kill switch’s table back' });
      } catch (e) {
        ks.evidence.push({ label: 'After this check', text: `putting the table back failed: ${errText(e)}` });
      }
      finished(ks);
    }

    // Seen while disconnected with nothing blocked: that is the address without the VPN.
    this.preVpn.remember(firstAnswer(echo4), firstAnswer(echo6));

    return {
      checkedAt,
      state: status.state,
      ...(status.server && wantsConnection ? { serverId: status.server.id } : {}),
      checks,
      addresses: {
        seen: [...new Set(seen4)],
        seen6: [...new Set(seen6)],
        ...(exitIp ? { exit: exitIp } : {}),
        ...(preVpn4 ? { preVpn: preVpn4.address } : {}),
        ...(preVpn6 ? { preVpn6: preVpn6.address } : {}),
        own,
        tunnel: wantsConnection ? status.addresses.map((a) => a.replace(/\/\d+$/, '')) : [],
      },
      stunServers: settings.stunServers ?? [],
    };
  }

  private async resolverFacts(settings: Settings, status: TunnelStatus): Promise<{ list: ResolverFact[]; error?: string }> {
    let sources: JudgedSource[];
    try {
      sources = throughLanForwarder(await this.p.resolvers(), settings.lanDns, status.dns);
    } catch (e) {
      return { list: [], error: errText(e) };
    }
    const list = await Promise.all(
      sources.map(async (r) => ({ address: r.address, source: r.source, route: await this.p.routeGet(r.address), ...(r.expectedFor ? { expectedFor: r.expectedFor } : {}) })),
    );
    return { list };
  }

  /** One fresh name per resolver, asked straight at it; then the service says who asked for each. */
  private async activeDns(t: { zone: string; apiUrl: string }, resolvers: ResolverFact[]): Promise<ActiveQueryFact[]> {
    const queries = await Promise.all(
      resolvers.map(async (r): Promise<ActiveQueryFact> => {
        const name = uniqueTestName(t.zone);
        try {
          return { resolver: r.address, name, answer: await this.p.dnsQuery(r.address, name, DNS_TIMEOUT_MS) };
        } catch (e) {
          return { resolver: r.address, name, error: errText(e) };
        }
      }),
    );
    return Promise.all(
      queries.map(async (q) => {
        try {
          return { ...q, askers: await this.p.askers(t.apiUrl, q.name, API_TIMEOUT_MS) };
        } catch (e) {
          return { ...q, askersError: errText(e) };
        }
      }),
    );
  }
}

function firstAnswer(outcomes: readonly EchoOutcome[]): { address: string; url: string } | undefined {
  const hit = outcomes.find((o) => o.address !== undefined);
  return hit ? { address: hit.address!, url: hit.url } : undefined;
}
