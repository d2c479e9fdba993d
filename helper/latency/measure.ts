// Server latency, measured only when asked: an ICMP echo to each server's endpoint with iputils
// ping, through the helper's command runner. The pings are ordinary, unmarked traffic, so the
// firewall and the routes decide where they go: while connected they go through the tunnel (the
// figure is from the exit), while a block holds outside a tunnel they would be dropped, so none is
// sent. No exception is added to the firewall and no SO_MARK is set for them.
import { CommandError, type CommandRunner } from '../platform/exec.js';
import type { LatencyReport, LatencyResult, ServerInfo, TunnelStatus } from '../ipc/schema.js';
import { parseEndpoint } from '../net/endpoint.js';
import type { Limiter } from './limiter.js';
import { parsePingSummary } from './ping-summary.js';

/** Pings at once across every call (each a short-lived process). */
export const MAX_PINGS_AT_ONCE = 8;
/** The whole measurement: a server without a figure by then is reported without one. */
const LATENCY_DEADLINE_MS = 3000;
/** Three echoes 0.2 s apart, each waited for at most 1 s: a ping run ends within about 1.4 s. */
const PING_ARGS = ['-n', '-q', '-c', '3', '-i', '0.2', '-W', '1'] as const;

export const BLOCKED_REASON = 'blocked by the kill switch';
export const IN_USE_REASON = 'not measured: the server in use (a ping through its own tunnel says nothing)';

export type LatencyPath =
  | { send: false; reason: string }
  /** via: the server whose tunnel ordinary traffic takes now; absent: straight out. */
  | { send: true; via?: ServerInfo };

/**
 * Where ordinary traffic goes in this state, and so whether pings may be sent (pure). A block
 * wanted or held outside a connected tunnel drops them: none is tried. In the middle of a change
 * the path is neither the old nor the new one: none is tried either.
 */
export function latencyPath(status: TunnelStatus): LatencyPath {
  if (status.state === 'connected') return status.server ? { send: true, via: status.server } : { send: true };
  if (status.blocked || status.firewall.wanted === 'block' || status.firewall.kernel === 'block') return { send: false, reason: BLOCKED_REASON };
  if (status.state === 'disconnected' || status.state === 'error') return { send: true };
  return { send: false, reason: `not measured while ${status.state}: ask again once connected or disconnected` };
}

export interface MeasureDeps {
  run: CommandRunner;
  /**
   * An endpoint's address: IP literals as they are, names with an ordinary lookup (unmarked, so
   * it goes where the system's DNS goes: through the tunnel while connected), never the helper's
   * own marked lookup or its endpoint cache, which are for connecting.
   */
  resolve(ep: { host: string; port: number }): Promise<{ host: string; family: 4 | 6 }>;
  /** Shared by every call (MAX_PINGS_AT_ONCE). */
  limiter: Limiter;
  now(): number;
  /** LATENCY_DEADLINE_MS by default. */
  deadlineMs?: number;
}

const firstLine = (text: string) => text.trim().split('\n')[0]?.replace(/^ping:\s*/, '').trim() ?? '';

/** A failed ping run in words. */
function pingFailure(e: unknown): string {
  if (e instanceof CommandError) {
    // iputils exits 1 when nothing came back, 2 on other errors (with a message on stderr).
    if (e.exitCode === 1) return 'no reply (the server may not answer pings)';
    if (e.exitCode === null && /could not be started/.test(e.message)) return 'ping is not installed (Debian: apt install iputils-ping)';
    const why = firstLine(e.stderr);
    return why ? `ping failed: ${why}` : `ping failed (${e.exitCode === null ? 'did not exit normally' : `exit ${e.exitCode}`})`;
  }
  return `ping failed: ${(e as Error).message}`;
}

/** The schema's longest reason. */
const MAX_REASON_CHARS = 300;

async function pingOne(server: ServerInfo, deps: MeasureDeps, expired: () => boolean): Promise<LatencyResult> {
  const none = (reason: string): LatencyResult => ({ id: server.id, rttMs: null, reason: reason.slice(0, MAX_REASON_CHARS) });
  // The lookup takes a slot too: a catalog of names must not start thousands of lookups at once.
  return deps.limiter.run(async () => {
    // Queued past the deadline: its answer would not be waited for, so nothing is sent.
    if (expired()) return none(timedOut(deps));
    let address: { host: string; family: 4 | 6 };
    try {
      address = await deps.resolve(parseEndpoint(server.endpoint));
    } catch (e) {
      return none(`could not look up the endpoint: ${(e as Error).message}`);
    }
    if (expired()) return none(timedOut(deps));
    try {
      const { stdout } = await deps.run.run(['ping', address.family === 6 ? '-6' : '-4', ...PING_ARGS, address.host]);
      const avg = parsePingSummary(stdout)?.avgMs;
      return avg === undefined ? none('no reply (the server may not answer pings)') : { id: server.id, rttMs: avg };
    } catch (e) {
      return none(pingFailure(e));
    }
  });
}

const timedOut = (deps: MeasureDeps) => `no answer within ${((deps.deadlineMs ?? LATENCY_DEADLINE_MS) / 1000).toFixed(0)} s`;

/** Measures the servers given, in their order; resolves within the deadline. */
export async function measureLatency(servers: readonly ServerInfo[], status: TunnelStatus, deps: MeasureDeps): Promise<LatencyReport> {
  const measuredAt = deps.now();
  const path = latencyPath(status);
  if (!path.send) return { results: servers.map((s) => ({ id: s.id, rttMs: null, reason: path.reason })), measuredAt };
  const deadlineMs = deps.deadlineMs ?? LATENCY_DEADLINE_MS;
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const deadline = new Promise<void>((done) => {
    timer = setTimeout(() => {
      expired = true;
      done();
    }, deadlineMs);
  });
  try {
    const results = await Promise.all(servers.map(async (s): Promise<LatencyResult> => {
      if (path.via?.id === s.id) return { id: s.id, rttMs: null, reason: IN_USE_REASON };
      const late: LatencyResult = { id: s.id, rttMs: null, reason: timedOut(deps) };
      return Promise.race([pingOne(s, deps, () => expired), deadline.then(() => late)]);
    }));
    return { results, measuredAt, ...(path.via ? { via: path.via.id } : {}) };
  } finally {
    clearTimeout(timer);
  }
}
