// The bench's table and the issue's targets, each a figure of this run against a rule (most of
// them ratios to wireguard-go measured in the same run on the same machine).
import type { HelperConnectResult } from './connect-latency.js';
import type { ClientResult, IperfStats } from './measure.js';
import type { IdleFigures } from './procfs.js';

const RTT_TOLERANCE_MS = 0.1;
const RTT_TOLERANCE_REL = 0.1;
const FIRST_PACKET_TARGET_MS = 100;
const CONNECT_TARGET_MS = 20;
/** Issue 11: traffic again within 3 s of a restarted server being back. */
const SERVER_RESTART_TARGET_MS = 3000;
const CLIENT_THROUGHPUT_RATIO = 1.8;
const UMBRA_UMBRA_RATIO = 10;
const CPU_PER_GB_RATIO = 1 / 3;
const RSS_IDLE_MB = 45;
const RSS_LOAD_MB = 80;
const IDLE_WAKEUPS_PER_S = 2;

/** What one run measured: the three pairings and the helper as a user runs it. */
export interface Figures {
  /** Umbra's client against wireguard-go's server. */
  u: ClientResult | undefined;
  /** wireguard-go's client against wireguard-go's server. */
  w: ClientResult | undefined;
  /** Umbra's client against Umbra's server. */
  uu: ClientResult | undefined;
  helper: HelperConnectResult | undefined;
}

export interface Target {
  name: string;
  rule: string;
  /** Umbra's figure. */
  umbra: number | undefined;
  /** What it is held against (wireguard-go's figure, or the limit). */
  wireguardGo: number | undefined;
  met: boolean | undefined;
}

const f = (v: number | undefined, digits = 1): string => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
const mb = (kb: number | undefined): string => (kb === undefined ? '—' : (kb / 1024).toFixed(1));

function median(xs: number[]): number | undefined {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined;
}

const cpuPerGB = (s: IperfStats | undefined, end: 'clientCpu' | 'serverCpu'): number | undefined => {
  const c = s?.[end];
  return c && s.bytesTotal > 0 ? c.cpuSeconds / (s.bytesTotal / 1e9) : undefined;
};
const bothEndsPerGB = (s: IperfStats | undefined): number | undefined => {
  const a = cpuPerGB(s, 'clientCpu');
  const b = cpuPerGB(s, 'serverCpu');
  return a === undefined || b === undefined ? undefined : a + b;
};

export function targets(x: Figures): Target[] {
  const { u, w, uu, helper } = x;
  const cmp = (name: string, rule: string, a: number | undefined, b: number | undefined, ok: (a: number, b: number) => boolean): Target => ({
    name, rule, umbra: a, wireguardGo: b, met: a === undefined || b === undefined ? undefined : ok(a, b),
  });
  const atMost = (name: string, a: number | undefined, limit: number, unit: string): Target =>
    cmp(name, `Umbra ≤ ${limit}${unit}`, a, limit, (v, l) => v <= l);
  const connect = median(helper?.connectMs ?? []);
  const out: Target[] = [
    atMost('first packet', u?.firstPacketMs, FIRST_PACKET_TARGET_MS, ' ms'),
    // What a user waits for: the helper is a service that is already running when they click.
    atMost('first packet after connect', connect, CONNECT_TARGET_MS, ' ms'),
    cmp('ping RTT avg', `Umbra ≤ wg-go + max(${RTT_TOLERANCE_MS} ms, ${RTT_TOLERANCE_REL * 100}%)`, u?.ping?.avgMs, w?.ping?.avgMs, (a, b) => a <= b + Math.max(RTT_TOLERANCE_MS, RTT_TOLERANCE_REL * b)),
    cmp('ping RTT p50', 'Umbra ≤ wg-go', u?.ping?.p50Ms, w?.ping?.p50Ms, (a, b) => a <= b),
    cmp('ping RTT p99', 'Umbra ≤ wg-go', u?.ping?.p99Ms, w?.ping?.p99Ms, (a, b) => a <= b),
    cmp('TCP up', 'Umbra ≥ wg-go', u?.up?.mbps, w?.up?.mbps, (a, b) => a >= b),
    cmp('TCP down', 'Umbra ≥ wg-go', u?.down?.mbps, w?.down?.mbps, (a, b) => a >= b),
    cmp('TCP up ×1.8', `Umbra ≥ ${CLIENT_THROUGHPUT_RATIO}× wg-go (same wg-go server)`, u?.up?.mbps, w?.up?.mbps, (a, b) => a >= CLIENT_THROUGHPUT_RATIO * b),
    cmp('TCP down ×1.8', `Umbra ≥ ${CLIENT_THROUGHPUT_RATIO}× wg-go (same wg-go server)`, u?.down?.mbps, w?.down?.mbps, (a, b) => a >= CLIENT_THROUGHPUT_RATIO * b),
    cmp('Umbra↔Umbra TCP up', `≥ ${UMBRA_UMBRA_RATIO}× wg-go↔wg-go`, uu?.up?.mbps, w?.up?.mbps, (a, b) => a >= UMBRA_UMBRA_RATIO * b),
    cmp('Umbra↔Umbra TCP down', `≥ ${UMBRA_UMBRA_RATIO}× wg-go↔wg-go`, uu?.down?.mbps, w?.down?.mbps, (a, b) => a >= UMBRA_UMBRA_RATIO * b),
    cmp('client CPU per GB up', 'Umbra ≤ ⅓ of wg-go (client)', cpuPerGB(u?.up, 'clientCpu'), cpuPerGB(w?.up, 'clientCpu'), (a, b) => a <= CPU_PER_GB_RATIO * b),
    cmp('client CPU per GB down', 'Umbra ≤ ⅓ of wg-go (client)', cpuPerGB(u?.down, 'clientCpu'), cpuPerGB(w?.down, 'clientCpu'), (a, b) => a <= CPU_PER_GB_RATIO * b),
    cmp('Umbra↔Umbra CPU per GB up', '≤ ⅓ of wg-go↔wg-go (both ends)', bothEndsPerGB(uu?.up), bothEndsPerGB(w?.up), (a, b) => a <= CPU_PER_GB_RATIO * b),
    cmp('Umbra↔Umbra CPU per GB down', '≤ ⅓ of wg-go↔wg-go (both ends)', bothEndsPerGB(uu?.down), bothEndsPerGB(w?.down), (a, b) => a <= CPU_PER_GB_RATIO * b),
    atMost('RSS idle (umbrad up)', mbOf(u?.idleRssKb), RSS_IDLE_MB, ' MB'),
    atMost('RSS idle (umbrad serve, connected)', mbOf(helper?.idleRssKb), RSS_IDLE_MB, ' MB'),
    atMost('RSS under load (client)', mbOf(maxOf(u?.peakRssKb, uu?.peakRssKb)), RSS_LOAD_MB, ' MB'),
    atMost('RSS under load (Umbra server)', mbOf(uu?.serverPeakRssKb), RSS_LOAD_MB, ' MB'),
    atMost('idle wakeups/s (umbrad up)', u?.idle?.wakeupsPerSecond, IDLE_WAKEUPS_PER_S, '/s'),
    atMost('idle wakeups/s (umbrad serve, connected)', helper?.idle?.wakeupsPerSecond, IDLE_WAKEUPS_PER_S, '/s'),
    atMost('idle processes spawned/min (umbrad up)', u?.idle?.spawnedPerMinute, 0, '/min'),
    atMost('idle processes spawned/min (umbrad serve, connected)', helper?.idle?.spawnedPerMinute, 0, '/min'),
    atMost('idle status events repeating the last one', helper?.repeatedStatusEvents, 0, ''),
    cmp('server restart', `Umbra ≤ ${SERVER_RESTART_TARGET_MS} ms`, u?.serverRestartMs, w?.serverRestartMs, (a) => a <= SERVER_RESTART_TARGET_MS),
  ];
  return out;
}

function mbOf(kb: number | undefined): number | undefined {
  return kb === undefined ? undefined : kb / 1024;
}

function maxOf(...xs: (number | undefined)[]): number | undefined {
  const ys = xs.filter((v): v is number => v !== undefined);
  return ys.length ? Math.max(...ys) : undefined;
}

function met(t: Target | undefined): string {
  if (!t) return '';
  return `${t.met === undefined ? 'n/a' : t.met ? 'yes' : 'NO'} (${t.rule})`;
}

/** The targets, one a line: Umbra's figure, what it is held against, met or not. */
export function formatTargets(ts: Target[]): string[] {
  const wName = Math.max(...ts.map((t) => t.name.length));
  const num = (v: number | undefined): string => (v === undefined ? '—' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(v === 0 ? 0 : 2));
  return ['Targets (issue 12): Umbra | against | met', ...ts.map((t) =>
    `  ${t.name.padEnd(wName)} | ${num(t.umbra).padStart(7)} | ${num(t.wireguardGo).padStart(7)} | ${met(t)}`)];
}

const idleText = (i: IdleFigures | undefined, digits: number, pick: (i: IdleFigures) => number): string => (i ? f(pick(i), digits) : '—');

export function table(x: Figures, ts: Target[]): string {
  const t = (name: string): Target | undefined => ts.find((y) => y.name === name);
  const cols: { head: string; r: ClientResult | undefined }[] = [
    { head: 'Umbra → wg-go', r: x.u },
    { head: 'wg-go → wg-go', r: x.w },
    { head: 'Umbra ↔ Umbra', r: x.uu },
  ];
  type Row = { metric: string; cells: string[]; target: string };
  const row = (metric: string, fn: (r: ClientResult) => string, target = ''): Row => ({ metric, cells: cols.map((c) => (c.r ? fn(c.r) : 'skipped')), target });
  const cpu = (s: ClientResult['up']): string => (s?.clientCpu ? `${f(s.clientCpu.percentOfCore, 0)}% (${f(s.clientCpu.cpuSeconds, 2)} s)` : '—');
  const srv = (s: ClientResult['up']): string => (s?.serverCpu ? `${f(s.serverCpu.percentOfCore, 0)}%` : '—');
  const both = (a: number | undefined, b: number | undefined): string => `${f(a)} / ${f(b)}`;
  const perGB = (r: ClientResult, end: 'clientCpu' | 'serverCpu'): string => both(cpuPerGB(r.up, end), cpuPerGB(r.down, end));
  const sum = (r: ClientResult, s: IperfStats | undefined): number | undefined => {
    const a = cpuPerGB(s, 'clientCpu');
    const b = cpuPerGB(s, 'serverCpu');
    return a === undefined || b === undefined ? undefined : a + b;
  };
  const first = x.u ?? x.w ?? x.uu;
  const rows: Row[] = [
    row(`time to first packet (ms, median of ${first?.firstPacketTrialsMs.length ?? 0})`, (r) => f(r.firstPacketMs), met(t('first packet'))),
    row(' each start (ms)', (r) => r.firstPacketTrialsMs.map((v) => f(v, 0)).join(', ') || '—'),
    row(' client says "up" after (ms, median)', (r) => f(r.readyMs)),
    row(' umbrad: inside up() (its own count)', (r) => (r.kind === 'umbra' ? (/after (\d+) ms/.exec(r.readyLine ?? '')?.[1] ?? '—') : 'n/a')),
    row('ping RTT avg (ms)', (r) => f(r.ping?.avgMs, 3), met(t('ping RTT avg'))),
    row('ping RTT p50 / p99 (ms)', (r) => (r.ping ? `${f(r.ping.p50Ms, 3)} / ${f(r.ping.p99Ms, 3)}` : '—'), `p50 ${met(t('ping RTT p50'))}; p99 ${met(t('ping RTT p99'))}`),
    row(' first reply, after the idle window (ms)', (r) => f(r.ping?.rttsMs[0], 3)),
    row('ping RTT min / max (ms)', (r) => (r.ping ? `${f(r.ping.minMs, 3)} / ${f(r.ping.maxMs, 3)}` : '—')),
    row('ping replies', (r) => (r.ping ? `${r.ping.received}/${r.ping.transmitted}` : '—')),
    row('TCP up, client → inet (Mbit/s)', (r) => f(r.up?.mbps, 0), `${met(t('TCP up ×1.8'))}; ↔ ${met(t('Umbra↔Umbra TCP up'))}`),
    row('TCP down, inet → client (Mbit/s)', (r) => f(r.down?.mbps, 0), `${met(t('TCP down ×1.8'))}; ↔ ${met(t('Umbra↔Umbra TCP down'))}`),
    row('TCP retransmits up / down', (r) => `${r.up?.retransmits ?? '—'} / ${r.down?.retransmits ?? '—'}`),
    row('client CPU during up (% of a core)', (r) => cpu(r.up)),
    row('client CPU during down (% of a core)', (r) => cpu(r.down)),
    row('client CPU s per GB up / down', (r) => perGB(r, 'clientCpu'), `up ${met(t('client CPU per GB up'))}; down ${met(t('client CPU per GB down'))}`),
    row('server CPU up / down (% of a core)', (r) => `${srv(r.up)} / ${srv(r.down)}`),
    row('server CPU s per GB up / down', (r) => perGB(r, 'serverCpu')),
    row('both ends CPU s per GB up / down', (r) => both(sum(r, r.up), sum(r, r.down)), `↔ up ${met(t('Umbra↔Umbra CPU per GB up'))}; down ${met(t('Umbra↔Umbra CPU per GB down'))}`),
    row('client RSS idle (MB)', (r) => mb(r.idleRssKb), met(t('RSS idle (umbrad up)'))),
    row('client RSS peak under load (MB)', (r) => mb(r.peakRssKb), met(t('RSS under load (client)'))),
    row('client VmHWM (MB)', (r) => mb(r.hwmKb)),
    row('server RSS idle / peak under load (MB)', (r) => `${mb(r.serverIdleRssKb)} / ${mb(r.serverPeakRssKb)}`, met(t('RSS under load (Umbra server)'))),
    row(`client idle wakeups/s (over ${f(first?.idle?.seconds, 0)} s)`, (r) => idleText(r.idle, 2, (i) => i.wakeupsPerSecond), met(t('idle wakeups/s (umbrad up)'))),
    row('client idle processes spawned/min', (r) => idleText(r.idle, 1, (i) => i.spawnedPerMinute), met(t('idle processes spawned/min (umbrad up)'))),
    row('server idle wakeups/s', (r) => idleText(r.serverIdle, 2, (i) => i.wakeupsPerSecond)),
    row('server idle processes spawned/min', (r) => idleText(r.serverIdle, 1, (i) => i.spawnedPerMinute)),
    row('server restart → traffic again (ms)', (r) => f(r.serverRestartMs, 0), met(t('server restart'))),
    row('stopped cleanly', (r) => (r.stop ? `${r.stop.namespaceClean ? 'yes' : 'NO'}${r.kind === 'umbra' ? `, exit ${r.stop.exitCode}` : ''}, ${f(r.stop.ms, 0)} ms` : '—')),
  ];
  const head: Row = { metric: 'metric', cells: cols.map((c) => c.head), target: 'target met?' };
  const all = [head, ...rows];
  const wMetric = Math.max(...all.map((r) => r.metric.length));
  const widths = cols.map((_, i) => Math.max(...all.map((r) => r.cells[i]!.length)));
  const line = (r: Row): string => `${r.metric.padEnd(wMetric)} | ${r.cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} | ${r.target}`;
  const sep = `${'-'.repeat(wMetric)}-+-${widths.map((w) => '-'.repeat(w)).join('-+-')}-+-${'-'.repeat(30)}`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

/** The helper as a user runs it (umbrad serve, connected over its IPC): one line each. */
export function formatHelper(h: HelperConnectResult | undefined, ts: Target[]): string[] {
  if (!h) return [];
  const t = (name: string): Target | undefined => ts.find((y) => y.name === name);
  const i = h.idle;
  return [
    `umbrad serve, "connect" on the running helper${h.killSwitch ? ' with the kill switch on' : ''} → first packet (ms, median of ${h.connectMs.length}): ${f(median(h.connectMs))} [${h.connectMs.map((v) => f(v, 0)).join(', ')}] — ${met(t('first packet after connect'))}`,
    ...(i
      ? [
          `umbrad serve, connected and idle with a subscriber for ${f(i.seconds, 0)} s: ${f(i.wakeupsPerSecond, 2)} wakeups/s over ${i.threads} threads (${f(i.preemptionsPerSecond, 2)} preemptions/s; by thread: ${Object.entries(i.byThread).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}) — ${met(t('idle wakeups/s (umbrad serve, connected)'))}`,
          ` processes spawned: ${i.spawned} (${f(i.spawnedPerMinute, 1)}/min${i.spawned ? `: ${i.spawnedNames.join(', ')}` : ''}) — ${met(t('idle processes spawned/min (umbrad serve, connected)'))}; long-lived children: ${i.longLivedChildren.join(', ') || 'none'}`,
          ` status events pushed: ${h.statusEvents ?? '—'}, repeating the one before: ${h.repeatedStatusEvents ?? '—'} — ${met(t('idle status events repeating the last one'))}; RSS ${mb(h.idleRssKb)} MB — ${met(t('RSS idle (umbrad serve, connected)'))}`,
        ]
      : []),
  ];
}
