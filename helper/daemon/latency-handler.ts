// measureLatency: the servers asked for (default: all), pinged once, now. Nothing here runs on a
// timer (issue 12 counts idle wakeups): a figure exists only because a client asked for it.
import { ErrorCode, MAX_LATENCY_SERVERS, RpcError, type Handlers, type LatencyReport, type ServerInfo, type TunnelStatus } from '../ipc/schema.js';
import { limiter } from '../latency/limiter.js';
import { MAX_PINGS_AT_ONCE, measureLatency, type MeasureDeps } from '../latency/measure.js';

export interface LatencyHandlerDeps extends Omit<MeasureDeps, 'limiter'> {
  servers(): ServerInfo[];
  status(): TunnelStatus;
}

export function latencyHandler(deps: LatencyHandlerDeps): Pick<Handlers, 'measureLatency'> {
  // One pool for every caller: two clients asking at once still run MAX_PINGS_AT_ONCE pings at most.
  const pool = limiter(MAX_PINGS_AT_ONCE);
  // One measurement at a time: a caller asking for the same servers shares it, another is told to
  // wait, so callers cannot pile up work (or queue entries) in the root helper.
  let running: { key: string; report: Promise<LatencyReport> } | undefined;
  return {
    measureLatency: async (p) => {
      const all = deps.servers();
      let chosen = all.slice(0, MAX_LATENCY_SERVERS);
      if (p.serverIds !== undefined) {
        const byId = new Map(all.map((s) => [s.id, s]));
        const unknown = p.serverIds.filter((id) => !byId.has(id));
        if (unknown.length > 0) throw new RpcError(ErrorCode.NotFound, `no server ${unknown.map((id) => `"${id}"`).join(', ')}: list them with \`umbra servers\``);
        chosen = [...new Set(p.serverIds)].map((id) => byId.get(id)!);
      }
      const key = chosen.map((s) => s.id).join('\n');
      if (running?.key === key) return running.report;
      if (running) throw new RpcError(ErrorCode.Busy, 'a latency measurement is under way: ask again in a few seconds');
      const report = measureLatency(chosen, deps.status(), { ...deps, limiter: pool }).then((r) => {
        // Past the first MAX_LATENCY_SERVERS of a bigger list: said, not silently left out.
        const rest = all.length > chosen.length && p.serverIds === undefined ? all.slice(chosen.length) : [];
        const reason = `not measured: only the first ${MAX_LATENCY_SERVERS} servers are pinged at a time`;
        return rest.length === 0 ? r : { ...r, results: [...r.results, ...rest.map((s) => ({ id: s.id, rttMs: null, reason }))] };
      });
      running = { key, report };
      try {
        return await report;
      } finally {
        running = undefined;
      }
    },
  };
}
