// The leak checks' verdicts (DESIGN.md, "Leak checks"), as pure functions of what was observed:
// addresses echo services saw, routes the kernel would use, the resolvers in use and who asked the
// leak-test DNS, and the kill-switch table as the kernel holds it. Each returns pass | warn | fail,
// one line a person understands, and the evidence it rests on.
//
// The rule of thumb for the verdicts:
//   pass  the check shows that nothing escapes (it goes through the tunnel, or it is blocked);
//   fail  something leaves outside the tunnel while you want to be connected, or the kill switch
//         is not what the helper put in the kernel;
//   warn  the check cannot show either way (a service did not answer, nothing to compare with),
//         or you are not connected: then your own address is exposed by your choice, not by a
//         leak (the finding says so plainly).
import { formatIp, parseIp } from '../net/ip.js';
import type { LeakCheckResult, LeakEvidence, LeakVerdict, TunnelState } from '../ipc/schema.js';

// ------------------------------------------------------------------ shared facts

/** What `ip route get <target>` said. */
export type RouteFact =
  | { target: string; ok: true; dev?: string; gateway?: string; src?: string; type?: string }
  | { target: string; ok: false; error: string };

/** How traffic to an address would leave. */
export type PathKind = 'tunnel' | 'blocked' | 'unreachable' | 'local' | 'outside';

/** One request to an IP-echo service: the address it saw, or why there is none. */
export interface EchoOutcome {
  url: string;
  address?: string;
  error?: string;
}

export interface StateFacts {
  state: TunnelState;
  /** The user wants to be connected (connecting, connected, reconnecting, error). */
  wantsConnection: boolean;
  /** The tunnel's interface, when it exists. */
  tunnelInterface?: string;
  /** The kill switch's table is in the kernel as the helper applied it (so it rejects what leaves outside the tunnel). */
  killSwitchHolds: boolean;
}

/** The canonical text of an IP address (RFC 5952 for IPv6), or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const t = text.trim().replace(/^\[|\]$/g, '');
  if (t.includes('%')) return undefined;
  const ip = parseIp(t);
  if (!ip) return undefined;
  const b = ip.bytes;
  // ::ffff:a.b.c.d is the IPv4 address it carries.
  if (ip.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return formatIp(b.subarray(12));
  return formatIp(b);
}

const sameIp = (a: string, b: string): boolean => (canonicalIp(a) ?? a) === (canonicalIp(b) ?? b);
const inList = (a: string, list: readonly (string | undefined)[]): boolean => list.some((b) => b !== undefined && sameIp(a, b));
const unique = (xs: string[]): string[] => [...new Set(xs.map((x) => canonicalIp(x) ?? x))];

/** The worst of the verdicts (fail > warn > pass); pass for none. */
export function worst(verdicts: readonly LeakVerdict[]): LeakVerdict {
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.includes('warn')) return 'warn';
  return 'pass';
}

export function classifyRoute(route: RouteFact, f: Pick<StateFacts, 'tunnelInterface' | 'killSwitchHolds'>): PathKind {
  if (!route.ok) return 'unreachable';
  if (route.type && ['unreachable', 'prohibit', 'blackhole', 'throw'].includes(route.type)) return 'unreachable';
  if (route.dev === 'lo') return 'local';
  if (f.tunnelInterface !== undefined && route.dev === f.tunnelInterface) return 'tunnel';
  return f.killSwitchHolds ? 'blocked' : 'outside';
}

/** "203.0.113.251 via 198.51.100.1 dev eth0 src 198.51.100.2", like `ip route get` prints it. */
export function formatRoute(r: RouteFact): string {
  if (!r.ok) return `${r.target}: no route (${r.error})`;
  const parts = [r.type && r.type !== 'unicast' ? `${r.type} ${r.target}` : r.target];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  if (r.src) parts.push(`src ${r.src}`);
  return parts.join(' ');
}

const PATH_WORDS: Record<PathKind, string> = {
  tunnel: 'through the tunnel',
  blocked: 'outside the tunnel, but blocked by the kill switch',
  unreachable: 'nowhere: no route',
  local: 'on this machine (a local resolver)',
  outside: 'OUTSIDE the tunnel',
};

const describePath = (kind: PathKind): string => PATH_WORDS[kind];

/** At most `maxLines` lines of an nft listing, saying how many were left out. */
export function trimListing(listing: string, maxLines = 60): string {
  const lines = listing.replace(/\s+$/, '').split('\n');
  if (lines.length <= maxLines) return lines.join('\n');
  const more = lines.length - maxLines;
  return [...lines.slice(0, maxLines), `… (${more} more line${more === 1 ? '' : 's'}: nft list table inet umbra)`].join('\n');
}

const ev = (label: string, text: string): LeakEvidence => ({ label, text });
const result = (id: LeakCheckResult['id'], title: string, verdict: LeakVerdict, finding: string, evidence: LeakEvidence[]): LeakCheckResult => ({
  id,
  title,
  verdict,
  finding,
  evidence,
});

function echoEvidence(echo: readonly EchoOutcome[]): LeakEvidence[] {
  return echo.map((e) => ev(`Seen by ${e.url}`, e.address ?? `no answer (${e.error ?? 'unknown error'})`));
}

const when = (at: number): string => new Date(at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

// ------------------------------------------------------------------ public IP

export interface PublicIpFacts extends StateFacts {
  serverName?: string;
  /** The server's exit address from the catalog, when known. */
  exitIp?: string;
  /** The address the echo service saw while disconnected, with when. */
  preVpn?: { address: string; at: number };
  /** This machine's own addresses outside the tunnel. */
  own: string[];
  echo: EchoOutcome[];
}

export function publicIpCheck(f: PublicIpFacts): LeakCheckResult {
  const title = 'Public IP address';
  const seen = unique(f.echo.flatMap((e) => (e.address ? [e.address] : [])));
  const evidence = [
    ...echoEvidence(f.echo),
    ev('Server exit address', f.exitIp ?? (f.wantsConnection ? 'not listed for this server' : 'not connected')),
    ev('Seen without the VPN', f.preVpn ? `${f.preVpn.address} (${when(f.preVpn.at)})` : 'not known yet (the helper looks while you are disconnected)'),
  ];
  if (f.own.length > 0) evidence.push(ev('This machine’s addresses outside the tunnel', unique(f.own).join(', ')));
  const yours = seen.filter((a) => inList(a, [f.preVpn?.address, ...f.own]));
  const list = (xs: string[]) => xs.join(', ');

  if (seen.length === 0) {
    const errors = f.echo.map((e) => e.error).filter(Boolean).join('; ') || 'no echo service configured';
    if (f.state === 'connected') return result('public-ip', title, 'warn', `No IP-echo service answered through the tunnel, so the address the internet sees is unknown (${errors})`, evidence);
    if (f.killSwitchHolds) return result('public-ip', title, 'pass', 'Nothing reached the IP-echo service: the kill switch blocks traffic outside the tunnel', evidence);
    return result('public-ip', title, 'warn', `No IP-echo service answered, so the address the internet sees is unknown (${errors})`, evidence);
  }

  if (!f.wantsConnection) {
    if (f.killSwitchHolds) return result('public-ip', title, 'fail', `Traffic reaches the internet as ${list(seen)} although the kill switch should block it`, evidence);
    return result('public-ip', title, 'warn', `Not connected: the internet sees your own address ${list(seen)} (exposed by choice while the VPN is off, not a leak)`, evidence);
  }

  if (yours.length > 0) {
    const why = f.state === 'connected' ? 'traffic leaves outside the tunnel' : `the tunnel is ${f.state === 'error' ? 'down' : 'not up yet'} and the kill switch does not block it`;
    return result('public-ip', title, 'fail', `The internet sees your own address ${list(yours)}: ${why}`, evidence);
  }
  const server = f.serverName ? ` of ${f.serverName}` : '';
  if (f.exitIp !== undefined) {
    if (seen.every((a) => inList(a, [f.exitIp]))) return result('public-ip', title, 'pass', `The internet sees ${list(seen)}, the exit address${server}`, evidence);
    return result('public-ip', title, 'warn', `The internet sees ${list(seen)}, not the exit address${server} (${f.exitIp}); it is not your own address either`, evidence);
  }
  if (f.preVpn) return result('public-ip', title, 'pass', `The internet sees ${list(seen)} (the VPN${f.serverName ? `, ${f.serverName}` : ''}), not your own address ${f.preVpn.address}`, evidence);
  return result('public-ip', title, 'warn', `The internet sees ${list(seen)}; your address without the VPN is not known yet, so it cannot be compared`, evidence);
}

// ------------------------------------------------------------------ DNS

export interface ResolverFact {
  address: string;
  /** Where it was found: "nameserver in /etc/resolv.conf", "systemd-resolved, link umbra0". */
  source: string;
  route: RouteFact;
  /** LAN DNS: a local network resolver the user named for these domains; outside the tunnel by choice. */
  expectedFor?: string[];
}

export interface ActiveQueryFact {
  resolver: string;
  name: string;
  /** The answer's rcode name (NOERROR, NXDOMAIN …), or undefined when none came. */
  answer?: string;
  error?: string;
  /** What the leak-test service says: the addresses that asked for `name`. */
  askers?: string[];
  askersError?: string;
}

export interface DnsFacts extends StateFacts {
  backend: string;
  resolvers: ResolverFact[];
  resolversError?: string;
  /** The active test, when a leak-test service is configured. */
  active?: { zone: string; apiUrl: string; queries: ActiveQueryFact[] };
  /** Addresses that are the tunnel's: the exit, what the echo services see through the tunnel, the tunnel's DNS servers. */
  tunnelAddresses: string[];
  /** Addresses that are yours: seen without the VPN, this machine's own. */
  ownAddresses: string[];
}

export function dnsCheck(f: DnsFacts): LeakCheckResult {
  const title = 'DNS';
  const evidence: LeakEvidence[] = [];
  const lan = f.resolvers.filter((r) => r.expectedFor);
  const kinds = f.resolvers.filter((r) => !r.expectedFor).map((r) => ({ r, kind: classifyRoute(r.route, f) }));
  for (const { r, kind } of kinds) evidence.push(ev(`Resolver ${r.address} (${r.source})`, `${describePath(kind)}: ${formatRoute(r.route)}`));
  for (const r of lan) evidence.push(ev(`Resolver ${r.address} (${r.source})`, `on the local network, as you set for ${r.expectedFor!.join(', ')} (Local network domains): ${formatRoute(r.route)}`));
  if (f.resolversError) evidence.push(ev('Resolvers', `could not be read: ${f.resolversError}`));

  const verdicts: { v: LeakVerdict; line: string }[] = [];
  const outside = kinds.filter((k) => k.kind === 'outside').map((k) => k.r.address);
  if (kinds.length === 0) {
    verdicts.push({ v: 'warn', line: `No DNS resolvers found (${f.backend})${f.resolversError ? `: ${f.resolversError}` : ''}` });
  } else if (outside.length > 0) {
    verdicts.push(
      f.wantsConnection
        ? { v: 'fail', line: `DNS leaks: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} reached outside the tunnel` }
        : { v: 'warn', line: `Not connected: DNS goes straight to ${outside.join(', ')} (not a leak while the VPN is off)` },
    );
  } else if (kinds.every((k) => k.kind === 'local')) {
    verdicts.push({ v: 'warn', line: `Only a local resolver (${kinds.map((k) => k.r.address).join(', ')}) is named; where it forwards cannot be seen from here` });
  }

  if (f.active) {
    const a = f.active;
    const lines: string[] = [];
    for (const q of a.queries) {
      const sent = q.answer ? `answered ${q.answer}` : `no answer (${q.error ?? 'timeout'})`;
      const asked = q.askers ? (q.askers.length > 0 ? `asked by ${q.askers.join(', ')}` : 'the service saw no query') : `the service could not be asked (${q.askersError ?? 'unknown error'})`;
      lines.push(`${q.name} via ${q.resolver}: ${sent}; ${asked}`);
    }
    evidence.push(ev(`Leak test (${a.zone}, ${a.apiUrl})`, lines.join('\n') || 'no resolver to test'));
    const askers = unique(a.queries.flatMap((q) => q.askers ?? []));
    const yours = askers.filter((x) => inList(x, f.ownAddresses));
    const knowsTunnel = f.tunnelAddresses.length > 0;
    const foreign = askers.filter((x) => !inList(x, f.ownAddresses) && !inList(x, f.tunnelAddresses));
    if (!f.wantsConnection) {
      if (askers.length > 0) verdicts.push({ v: 'warn', line: `Not connected: the leak-test DNS was asked by ${askers.join(', ')}` });
    } else if (yours.length > 0) {
      verdicts.push({ v: 'fail', line: `DNS leaks: the leak-test DNS was asked by your own address ${yours.join(', ')}` });
    } else if (foreign.length > 0) {
      verdicts.push(
        knowsTunnel
          ? { v: 'fail', line: `DNS leaks: the leak-test DNS was asked by ${foreign.join(', ')}, which is not the VPN's (${unique(f.tunnelAddresses).join(', ')})` }
          : { v: 'warn', line: `The leak-test DNS was asked by ${foreign.join(', ')}; the VPN's exit address is unknown, so it cannot be compared` },
      );
    } else if (a.queries.some((q) => q.askersError !== undefined)) {
      verdicts.push({ v: 'warn', line: 'The leak-test service could not be asked who resolved the test names' });
    } else if (a.queries.some((q) => q.answer !== undefined) && askers.length === 0) {
      verdicts.push({ v: 'warn', line: 'The leak-test service saw none of the test queries, so it proves nothing' });
    }
  }

  const v = worst(verdicts.map((x) => x.v));
  if (v !== 'pass') return result('dns', title, v, verdicts.find((x) => x.v === v)!.line, evidence);
  const n = kinds.length;
  const lanLine = lan.length > 0 ? `; names under ${unique(lan.flatMap((r) => r.expectedFor!)).join(', ')} go to ${lan.map((r) => r.address).join(', ')} on the local network, as you set` : '';
  const blocked = kinds.some((k) => k.kind === 'blocked' || k.kind === 'unreachable');
  const tested = f.active ? '; the leak-test DNS was asked only by the VPN' : '';
  if (!f.wantsConnection) return result('dns', title, 'pass', `No resolver can be reached outside the tunnel${tested}`, evidence);
  return result(
    'dns',
    title,
    'pass',
    `${n === 1 ? 'The resolver is' : `All ${n} resolvers are`} reached through the tunnel${blocked ? ' or blocked by the kill switch' : ''}${lanLine}${tested}`,
    evidence,
  );
}

// ------------------------------------------------------------------ IPv6

export interface Ipv6Facts extends StateFacts {
  route: RouteFact;
  /** The IPv6 echo request; undefined when none is configured. */
  echo6?: EchoOutcome;
  /** Addresses that are yours over IPv6: seen without the VPN, this machine's own. */
  own6: string[];
  /** The connection's guard (kill switch off, IPv4-only tunnel) is in the kernel as applied: it refuses IPv6 outside the tunnel. */
  ipv6Refused?: boolean;
}

export function ipv6Check(f: Ipv6Facts): LeakCheckResult {
  const title = 'IPv6';
  const kind = classifyRoute(f.route, { ...f, killSwitchHolds: f.killSwitchHolds || f.ipv6Refused === true });
  const byGuard = kind === 'blocked' && !f.killSwitchHolds;
  const path = byGuard ? 'outside the tunnel, but refused by the connection’s firewall (IPv4-only tunnel)' : describePath(kind);
  const evidence = [ev(`Route to ${f.route.target}`, `${path}: ${formatRoute(f.route)}`)];
  if (f.echo6) evidence.push(...echoEvidence([f.echo6]));
  else evidence.push(ev('IPv6 echo', 'no IPv6 echo service configured'));
  if (f.own6.length > 0) evidence.push(ev('Your IPv6 addresses outside the tunnel', unique(f.own6).join(', ')));
  const seen = f.echo6?.address;

  if (seen !== undefined) {
    if (kind === 'tunnel' && !inList(seen, f.own6)) return result('ipv6', title, 'pass', `IPv6 goes through the tunnel: the internet sees ${seen}`, evidence);
    if (!f.wantsConnection) return result('ipv6', title, 'warn', `Not connected: IPv6 goes out directly as ${seen}`, evidence);
    return result('ipv6', title, 'fail', `IPv6 leaks: the echo service was reached outside the tunnel and saw ${seen}`, evidence);
  }
  switch (kind) {
    case 'outside':
      if (!f.wantsConnection) return result('ipv6', title, 'warn', `Not connected: IPv6 goes out directly (dev ${f.route.ok ? (f.route.dev ?? '?') : '?'})`, evidence);
      return result('ipv6', title, 'fail', `IPv6 can leave outside the tunnel (dev ${f.route.ok ? (f.route.dev ?? '?') : '?'}) and the kill switch does not block it`, evidence);
    case 'tunnel':
      // Routed in, yet nothing answered: what the internet sees over IPv6 is unknown (a probe that
      // timed out proves nothing). Only with no IPv6 echo to ask does the route stand alone.
      if (f.echo6) return result('ipv6', title, 'warn', `Could not test: IPv6 is routed into the tunnel, but the IPv6 echo service did not answer through it (${f.echo6.error ?? 'no address in its answer'})`, evidence);
      return result('ipv6', title, 'pass', 'IPv6 is routed into the tunnel', evidence);
    case 'blocked':
      if (byGuard) return result('ipv6', title, 'pass', 'IPv6 outside the tunnel is refused: this connection tunnels IPv4 only', evidence);
      return result('ipv6', title, 'pass', 'IPv6 outside the tunnel is blocked by the kill switch', evidence);
    default:
      return result('ipv6', title, 'pass', 'IPv6 has no route out: nothing can leave over IPv6', evidence);
  }
}

// ------------------------------------------------------------------ kill switch

export type TableFact = { present: boolean; hash?: string; block?: boolean; listing?: string } | { error: string };

export interface KillSwitchFacts {
  state: TunnelState;
  wantsConnection: boolean;
  setting: boolean;
  onBoot: boolean;
  /** The spec hash of the table the helper applied and enforces; undefined when it enforces none. */
  expectedHash?: string;
  /** That table is the guard, not a block: connected with the kill switch off. */
  expectedGuard?: boolean;
  /** Whether that block is the boot block (blocked from boot until you connect). */
  expectedIsBoot?: boolean;
  table: TableFact;
  /** The watchdog's last repair, if any. */
  lastRestore?: { at: number; why: string };
  now: number;
}

/** A repair longer ago than this is history, not news. */
const RECENT_RESTORE_MS = 10 * 60_000;

/** Whether the kernel holds what the helper applied (the other checks count on its rules only then). */
export function killSwitchHolds(f: Pick<KillSwitchFacts, 'table' | 'expectedHash' | 'expectedGuard'>): boolean {
  if ('error' in f.table || !f.table.present) return false;
  // The guard blocks nothing but the probes of the tunnel's address (and IPv6 beside an IPv4-only tunnel).
  if (f.expectedGuard || f.table.block === false) return false;
  return f.expectedHash === undefined || f.table.hash === f.expectedHash;
}

export function killSwitchCheck(f: KillSwitchFacts): LeakCheckResult {
  const title = 'Kill switch';
  const guard = f.expectedGuard === true && f.expectedHash !== undefined;
  const wanted = (f.expectedHash !== undefined && !guard) || (f.setting && f.wantsConnection);
  const evidence = [
    ev('Setting', `kill switch ${f.setting ? 'on' : 'off'}, on boot ${f.onBoot ? 'on' : 'off'}`),
    ev(
      'Expected in the kernel',
      guard
        ? `table inet umbra with spec ${f.expectedHash} (the connection’s guards only: nothing blocked but probes of the tunnel’s address, and IPv6 beside an IPv4-only tunnel)`
        : wanted
          ? `table inet umbra${f.expectedHash ? ` with spec ${f.expectedHash}` : ''}${f.expectedIsBoot ? ' (the boot block)' : ''}`
          : 'no table inet umbra',
    ),
  ];
  if ('error' in f.table) {
    evidence.push(ev('In the kernel', `could not be read: ${f.table.error}`));
    return result('kill-switch', title, 'warn', `The firewall could not be read, so the kill switch cannot be confirmed (${f.table.error})`, evidence);
  }
  const t = f.table;
  const policy = t.block === undefined ? '' : t.block ? ' (a block)' : ' (guards only)';
  evidence.push(ev('In the kernel', t.present ? `table inet umbra${t.hash ? ` with spec ${t.hash}${policy}` : ' without Umbra’s marker'}` : 'no table inet umbra'));
  if (t.listing !== undefined) evidence.push(ev('nft list table inet umbra', trimListing(t.listing)));
  const recent = f.lastRestore && f.now - f.lastRestore.at < RECENT_RESTORE_MS ? f.lastRestore : undefined;
  if (recent) evidence.push(ev('Last repair', `${when(recent.at)}: ${recent.why}; the helper restored it`));

  if (guard) {
    if (!t.present || t.hash !== f.expectedHash) {
      return result('kill-switch', title, 'fail', `The kill switch is off, and the connection’s guards are ${t.present ? 'not the ones the helper applied' : 'missing from the kernel'}: hosts on your network may probe the tunnel’s address`, evidence);
    }
    return result('kill-switch', title, 'warn', 'The kill switch is off: if the tunnel drops, traffic goes out unprotected (the connection’s guards are in place)', evidence);
  }
  if (wanted) {
    if (!t.present) return result('kill-switch', title, 'fail', 'The kill switch’s rules are missing from the kernel: traffic outside the tunnel is not blocked', evidence);
    if (f.expectedHash !== undefined && t.hash === undefined) {
      return result('kill-switch', title, 'warn', 'A table inet umbra is in the kernel, but without Umbra’s marker, so it cannot be matched to what the helper applied', evidence);
    }
    if (f.expectedHash !== undefined && t.hash !== f.expectedHash) {
      return result('kill-switch', title, 'fail', 'The kernel holds a different kill-switch ruleset from the one the helper applied', evidence);
    }
    if (recent) return result('kill-switch', title, 'warn', `The rules are in place now, but ${recent.why.replace(/^the /, 'the kill-switch ')} at ${when(recent.at)} and the helper had to restore it`, evidence);
    if (f.expectedIsBoot) return result('kill-switch', title, 'pass', 'Kill switch on boot blocks all traffic until you connect; its rules are in the kernel as applied', evidence);
    return result('kill-switch', title, 'pass', 'The kill switch’s rules are in the kernel exactly as the helper applied them', evidence);
  }
  if (t.present) return result('kill-switch', title, 'warn', 'A kill-switch table is in the kernel although no setting asks for one: traffic may be blocked', evidence);
  if (f.wantsConnection) return result('kill-switch', title, 'warn', 'The kill switch is off: if the tunnel drops, traffic goes out unprotected', evidence);
  return result('kill-switch', title, 'pass', f.setting ? 'On: it blocks traffic outside the tunnel whenever you want to be connected (nothing to block now)' : 'Off, and nothing is blocked, as set', evidence);
}
