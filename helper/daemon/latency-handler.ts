// measureLatency: the servers asked for (default: all), pinged once, now. Nothing here runs on a
// timer (issue 12 counts idle wakeups): a figure exists only because a client asked for it.
import { ErrorCode, RpcError, type Handlers, type ServerInfo, type TunnelStatus } from '../ipc/schema.js';
import { limiter } from '../latency/limiter.js';
import { MAX_PINGS_AT_ONCE, measureLatency, type MeasureDeps } from '../latency/measure.js';

export interface LatencyHandlerDeps extends Omit<MeasureDeps, 'limiter'> {
  servers(): ServerInfo[];
  status(): TunnelStatus;
}

export function latencyHandler(deps: LatencyHandlerDeps): Pick<Handlers, 'measureLatency'> {
  // One pool for every caller: two clients asking at once still run MAX_PINGS_AT_ONCE pings at most.
  const pool = limiter(MAX_PINGS_AT_ONCE);
  return {
    measureLatency: async (p) => {
      const all = deps.servers();
      let chosen = all;
      if (p.serverIds !== undefined) {
        const byId = new Map(all.map((s) => [s.id, s]));
        const unknown = p.serverIds.filter((id) => !byId.has(id));
        if (unknown.length > 0) throw new RpcError(ErrorCode.NotFound, `no server ${unknown.map((id) => `"${id}"`).join(', ')}: list them with \`umbra servers\``);
        chosen = [...new Set(p.serverIds)].map((id) => byId.get(id)!);
      }
      return measureLatency(chosen, deps.status(), { ...deps, limiter: pool });
    },
  };
}
