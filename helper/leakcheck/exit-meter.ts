// The exit address as the internet sees it, measured by the helper through the tunnel with the
// leak check's IP-echo services: once when a connection comes up, and again whenever a leak check
// runs on it — never on a timer (an idle helper must not wake up). A measurement belongs to the
// connection it was taken on (the server and when it connected): a status of any other
// connection, or of any state but connected, never carries it.
import type { MeasuredExit, TunnelStatus } from '../ipc/schema.js';
import { canonicalIp, type EchoOutcome } from './verdicts.js';

/** What the echo services said through one connection. */
export interface ExitSighting {
  ipv4?: string;
  ipv6?: string;
  /** Epoch ms of the answer. */
  at: number;
  /** When no service answered: why. */
  error?: string;
}

export interface ExitMeterDeps {
  /** Asks the echo services of each family (through the tunnel, since it runs while connected). */
  measure(): { v4: Promise<EchoOutcome[]>; v6: Promise<EchoOutcome[]> };
  now(): number;
  /** The measurement of the current connection changed: push a status. */
  changed(): void;
  /** The addresses the internet saw without the VPN (the pre-VPN look), to tell an exit from the machine itself. */
  withoutVpn?(): string[];
  log(line: string): void;
}

/** Which connection a status belongs to; undefined unless connected. */
export function connectionKey(s: Pick<TunnelStatus, 'state' | 'server' | 'connectedSince'>): string | undefined {
  if (s.state !== 'connected' || !s.server || s.connectedSince === undefined) return undefined;
  return `${s.server.id}@${s.connectedSince}`;
}

/** The first address the services saw for each family, or why none answered. */
export function sightingOf(v4: readonly EchoOutcome[], v6: readonly EchoOutcome[], at: number): ExitSighting {
  const first = (outcomes: readonly EchoOutcome[]) => outcomes.find((o) => o.address !== undefined)?.address;
  const ipv4 = first(v4);
  const ipv6 = first(v6);
  if (ipv4 === undefined && ipv6 === undefined) {
    const errors = [...v4, ...v6].map((o) => (o.error ? `${o.url}: ${o.error}` : undefined)).filter((x) => x !== undefined);
    return { at, error: errors.length > 0 ? errors.join('; ') : 'no IP-echo service is configured' };
  }
  return { ...(ipv4 !== undefined ? { ipv4 } : {}), ...(ipv6 !== undefined ? { ipv6 } : {}), at };
}

/** Whether the catalog's exit is what was seen over its family; null when there is nothing to compare. */
export function matchesCatalog(exitIp: string | undefined, seen: Pick<ExitSighting, 'ipv4' | 'ipv6'>): boolean | null {
  const exit = exitIp === undefined ? undefined : canonicalIp(exitIp);
  if (exit === undefined) return null;
  const same = exit.includes(':') ? seen.ipv6 : seen.ipv4;
  if (same === undefined) return null;
  return canonicalIp(same) === exit;
}

/** A sighting (or none yet) as the status field, compared with the server's catalog exit and with the address seen without the VPN. */
export function measuredExit(sighting: ExitSighting | undefined, exitIp: string | undefined, withoutVpn: readonly string[] = []): MeasuredExit {
  if (!sighting) return { state: 'measuring', matchesCatalog: null };
  const { ipv4, ipv6, at, error } = sighting;
  if (ipv4 === undefined && ipv6 === undefined) return { state: 'unmeasurable', at, matchesCatalog: null, ...(error ? { error: error.slice(0, 500) } : {}) };
  const own = new Set(withoutVpn.map((a) => canonicalIp(a) ?? a));
  const outside = [ipv4, ipv6].some((a) => a !== undefined && own.has(canonicalIp(a) ?? a));
  return {
    state: 'measured',
    ...(ipv4 !== undefined ? { ipv4 } : {}),
    ...(ipv6 !== undefined ? { ipv6 } : {}),
    at,
    matchesCatalog: matchesCatalog(exitIp, { ipv4, ipv6 }),
    ...(outside ? { outsideTunnel: true } : {}),
  };
}

export class ExitMeter {
  private key: string | undefined;
  private sighting: ExitSighting | undefined;
  /** When the kept sighting's asking began: an older question's late answer does not replace it. */
  private askedAt = -Infinity;

  constructor(private readonly deps: ExitMeterDeps) {}

  /** `s` with its connection's measurement ("measuring" until the first answer); other states unchanged. */
  decorate(s: TunnelStatus): TunnelStatus {
    const key = connectionKey(s);
    if (key === undefined) return s;
    return { ...s, measuredExit: measuredExit(key === this.key ? this.sighting : undefined, s.server?.exitIp, this.deps.withoutVpn?.() ?? []) };
  }

  /** Told every status: a new connection is measured once; leaving it forgets what was seen. */
  onStatus(s: TunnelStatus): void {
    const key = connectionKey(s);
    if (key === this.key) return;
    this.key = key;
    this.sighting = undefined;
    this.askedAt = -Infinity;
    if (key !== undefined) this.measure(key);
  }

  /** What a leak check asked at `askedAt` saw through the connection of `status` (taken when it began). */
  observe(status: TunnelStatus, askedAt: number, v4: readonly EchoOutcome[], v6: readonly EchoOutcome[]): void {
    const key = connectionKey(status);
    if (key !== undefined) this.keep(key, askedAt, sightingOf(v4, v6, this.deps.now()));
  }

  /** Each family's answer is shown as it comes: an IPv6 echo that times out does not hold IPv4 back. */
  private measure(key: string): void {
    const askedAt = this.deps.now();
    const got: { v4?: EchoOutcome[]; v6?: EchoOutcome[] } = {};
    const take = (family: 'v4' | 'v6') => (outcomes: EchoOutcome[]) => {
      got[family] = outcomes;
      const sighting = sightingOf(got.v4 ?? [], got.v6 ?? [], this.deps.now());
      // Nothing yet from this family: "could not measure" only once the other has answered too.
      if (sighting.error !== undefined && (got.v4 === undefined || got.v6 === undefined)) return;
      this.keep(key, askedAt, sighting);
    };
    const failed = (family: 'v4' | 'v6') => (e: Error) => {
      this.deps.log(`measuring the exit address failed: ${e.message}`);
      take(family)([{ url: '(the echo services)', error: e.message }]);
    };
    const { v4, v6 } = this.deps.measure();
    v4.then(take('v4'), failed('v4'));
    v6.then(take('v6'), failed('v6'));
  }

  private keep(key: string, askedAt: number, sighting: ExitSighting): void {
    if (key !== this.key || askedAt < this.askedAt) return;
    this.askedAt = askedAt;
    this.sighting = sighting;
    // Called from a settled promise: a throw here would be an unhandled rejection, so it is logged.
    try {
      this.deps.changed();
    } catch (e) {
      this.deps.log(`pushing the measured exit failed: ${(e as Error).message}`);
    }
  }
}
