// Download through the tunnel while strangers flood the client's UDP port with handshake
// initiations (issue 11, item 2): junk, bad-mac1 and valid-mac1, each at FLOOD_RATE a second from
// the lab's inet namespace. For Umbra (the helper, `umbrad serve`, so `umbra status` can be
// timed) and a wireguard-go client, against the same wireguard-go server. Needs `iperf3 -s` on
// the lab's service address (run.ts starts it).
import type { Lab } from '../lab/lab.js';
import { DaemonRun } from '../daemon-process.js';
import { FLOOD_KINDS, startFlood, udpPortOf, type FloodKind } from '../lab/flood.js';
import { iperf, startWg } from './measure.js';
import { CpuWindow } from './procfs.js';

/** The issue's figure: 50,000 a second of each kind. */
export const FLOOD_RATE = 50_000;
/** Goals: the download keeps this share of its rate, and status answers within this. */
const FLOOD_KEEP_SHARE = 0.5;
const FLOOD_STATUS_MS = 200;

/** A client that is up (its tunnel carries traffic), as measureFlood needs it. */
interface FloodTarget {
  client: 'umbra' | 'wireguard-go';
  /** The process that owns the client's UDP socket (for its port and its CPU). */
  pid: number;
  /** One status request (Umbra: the helper's `status`), timed during the flood. */
  status?: () => Promise<unknown>;
}

export interface FloodRow {
  client: 'umbra' | 'wireguard-go';
  kind: FloodKind | 'none';
  /** Download (inet → client, iperf3 -R), Mbit/s. */
  downMbps: number | undefined;
  /** downMbps / the same client's rate without a flood. */
  kept: number | undefined;
  /** Datagrams a second the flooder got out (what it asked for is FLOOD_RATE). */
  floodPerSecond: number | undefined;
  /** `status` round trips during the flood: the median and the slowest, ms (Umbra only). */
  statusP50Ms: number | undefined;
  statusMaxMs: number | undefined;
  /** Status requests that failed or took over 5 s. */
  statusFailed: number;
  /** CPU of the client process during the download, % of a core. */
  clientCpu: number | undefined;
  error?: string;
}

export interface FloodOptions {
  /** iperf3 seconds per measurement (the flood runs one second longer, starting first). */
  seconds: number;
  rate?: number;
  kinds?: readonly FloodKind[];
  /** runFloodBench: which clients (default both). */
  clients?: readonly FloodTarget['client'][];
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Times `status` every 100 ms until `until` resolves. */
async function pollStatus(status: () => Promise<unknown>, until: Promise<unknown>): Promise<{ ms: number[]; failed: number }> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  const ms: number[] = [];
  let failed = 0;
  while (!done) {
    const t = performance.now();
    try {
      await Promise.race([status(), sleep(5000).then(() => Promise.reject(new Error('timeout')))]);
      ms.push(performance.now() - t);
    } catch {
      failed++;
    }
    await sleep(100);
  }
  return { ms, failed };
}

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

/** One client: the download without a flood, then under each kind of flood. */
async function measureFlood(lab: Lab, target: FloodTarget, o: FloodOptions): Promise<FloodRow[]> {
  const rate = o.rate ?? FLOOD_RATE;
  const port = await udpPortOf(lab, lab.client.ns, target.pid);
  const rows: FloodRow[] = [];
  let base: number | undefined;
  for (const kind of ['none', ...(o.kinds ?? FLOOD_KINDS)] as const) {
    const row: FloodRow = { client: target.client, kind, downMbps: undefined, kept: undefined, floodPerSecond: undefined, statusP50Ms: undefined, statusMaxMs: undefined, statusFailed: 0, clientCpu: undefined };
    const flood = kind === 'none' ? undefined : await startFlood(lab, { kind, rate, to: { host: lab.client.address, port }, clientPublicKey: lab.client.publicKey });
    try {
      if (flood) await sleep(1000); // let it fill the socket and bite before measuring
      const cpu = new CpuWindow(target.pid);
      const run = iperf(lab, true, o.seconds);
      const polled = target.status ? pollStatus(target.status, run) : undefined;
      try {
        row.downMbps = (await run).mbps;
      } catch (e) {
        row.error = (e as Error).message;
        row.downMbps = 0; // nothing came through: that is the figure
      }
      row.clientCpu = cpu.end()?.percentOfCore;
      const st = await polled;
      if (st) {
        row.statusP50Ms = median(st.ms);
        row.statusMaxMs = st.ms.length ? Math.max(...st.ms) : undefined;
        row.statusFailed = st.failed;
      }
    } finally {
      if (flood) row.floodPerSecond = (await flood.stop()).sentPerSecond;
    }
    if (kind === 'none') base = row.downMbps;
    row.kept = base && row.downMbps !== undefined ? row.downMbps / base : undefined;
    rows.push(row);
    o.log?.(`  ${formatRow(row)}`);
    if (flood) await sleep(1500); // the flood's last datagrams drain, and TCP settles
  }
  return rows;
}

/** Both clients, one after the other, against lab server 0 (restarted in between). */
export async function runFloodBench(lab: Lab, o: FloodOptions): Promise<FloodRow[]> {
  const rows: FloodRow[] = [];
  const clients = o.clients ?? ['umbra', 'wireguard-go'];
  if (clients.includes('umbra')) rows.push(...(await floodUmbra(lab, o)));
  if (clients.includes('wireguard-go')) {
    await lab.servers[0]!.restart(); // fresh server state: no session left from Umbra
    const wg = await startWg(lab, performance.now());
    try {
      await waitTunnel(lab);
      rows.push(...(await measureFlood(lab, { client: 'wireguard-go', pid: wg.pid }, o)));
    } finally {
      await wg.stop();
    }
  }
  return rows;
}

/** Umbra through the helper (`umbrad serve`), kill switch off, connected to server 0. */
async function floodUmbra(lab: Lab, o: FloodOptions): Promise<FloodRow[]> {
  const rows: FloodRow[] = [];
  const daemon = new DaemonRun(lab);
  try {
    await daemon.start();
    const c = await daemon.client();
    const { server } = await c.call('importConfig', { text: lab.clientConfig(0), name: 'flood bench' });
    await c.call('connect', { serverId: server.id });
    await daemon.waitFor((s) => s.state === 'connected', 15_000, 'connected');
    rows.push(...(await measureFlood(lab, { client: 'umbra', pid: daemon.child!.pid!, status: () => c.call('status') }, o)));
    await c.call('disconnect');
    await daemon.waitFor((s) => s.state === 'disconnected', 15_000, 'disconnected');
  } finally {
    await daemon.stop('SIGTERM').catch(() => undefined);
    daemon.cleanup();
  }
  return rows;
}

async function waitTunnel(lab: Lab): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await lab.ping(lab.client.ns, lab.internet.serviceAddress, { count: 1, timeoutSec: 1 })) return;
  }
  throw new Error('the wireguard-go client carries no traffic after 15 s');
}

const f = (v: number | undefined, d = 0) => (v === undefined ? '—' : v.toFixed(d));

function formatRow(r: FloodRow): string {
  const flood = r.kind === 'none' ? 'no flood' : `${r.kind} flood (${f(r.floodPerSecond)}/s sent)`;
  const status = r.statusP50Ms === undefined ? '' : `, status p50 ${f(r.statusP50Ms)} / max ${f(r.statusMaxMs)} ms${r.statusFailed ? ` (${r.statusFailed} failed)` : ''}`;
  return `${r.client.padEnd(12)} ${flood.padEnd(34)} down ${f(r.downMbps).padStart(4)} Mbit/s${r.kind === 'none' ? '' : ` (${f((r.kept ?? 0) * 100)}% kept)`}, CPU ${f(r.clientCpu)}%${status}${r.error ? ` [${r.error}]` : ''}`;
}

/** Lines of the report, with the goals: ≥ 50% kept, status ≤ 200 ms (Umbra), beside wireguard-go. */
export function formatFlood(rows: readonly FloodRow[]): string[] {
  const lines = [`Download under a handshake flood (${FLOOD_RATE}/s asked; goal: Umbra keeps ≥ ${FLOOD_KEEP_SHARE * 100}%, status ≤ ${FLOOD_STATUS_MS} ms)`];
  for (const r of rows) {
    let met = '';
    if (r.client === 'umbra' && r.kind !== 'none') {
      const kept = r.kept !== undefined && r.kept >= FLOOD_KEEP_SHARE;
      const status = r.statusMaxMs !== undefined && r.statusMaxMs <= FLOOD_STATUS_MS && r.statusFailed === 0;
      met = ` — kept ${kept ? 'yes' : 'NO'}, status ${status ? 'yes' : 'NO'}`;
    }
    lines.push(`  ${formatRow(r)}${met}`);
  }
  return lines;
}
