// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, busiest first.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  /** Share of the non-idle time. */
  percent: number;
}

export function newestProfile(dir: string, since: number): string | undefined {
  let best: { file: string; t: number } | undefined;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const n of names) {
    if (!n.endsWith('.cpuprofile')) continue;
    const f = join(dir, n);
    const t = statSync(f).mtimeMs;
    if (t >= since && (!best || t > best.t)) best = { file: f, t };
  }
  return best?.file;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const fn = functionName || '(anonymous)';
  if (!url) return fn;
  const short = url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${fn} ${short}:${lineNumber + 1}`;
}

export function summariseProfile(file: string, top = 15): { totalMs: number; idleMs: number; entries: ProfileEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    if (!n) continue;
    if (n.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const k = label(n);
    self.set(k, (self.get(k) ?? 0) + dt);
  }
  const busy = total - idle;
  const entries = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, percent: busy > 0 ? (100 * ms) / busy : 0 }));
  return { totalMs: total, idleMs: idle, entries };
}
