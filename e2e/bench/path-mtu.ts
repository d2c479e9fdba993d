// TCP through the tunnel when the path to the server carries less than the tunnel's datagrams
// (issue 11, item 1): Umbra (through the helper, kill switch off and on) and a wireguard-go client,
// each at path MTUs 1280, 1400 and 1500, against the same wireguard-go server.
import type { Lab } from '../lab/lab.js';
import { DaemonRun } from '../daemon-process.js';
import { setPathMtu } from '../lab/path-mtu.js';
import { iperf, startWg } from './measure.js';

export const PATH_MTUS = [1280, 1400, 1500] as const;
type PathMtuClient = 'umbra, kill switch off' | 'umbra, kill switch on' | 'wireguard-go';

export interface PathMtuRow {
  client: PathMtuClient;
  mtu: number;
  upMbps: number | undefined;
  downMbps: number | undefined;
  /** Umbra's status: datagrams sent one by one, fragmented, because the path could not carry them. */
  fragmented: number | undefined;
  error?: string;
}

async function both(lab: Lab, seconds: number): Promise<Pick<PathMtuRow, 'upMbps' | 'downMbps' | 'error'>> {
  const out: Pick<PathMtuRow, 'upMbps' | 'downMbps' | 'error'> = { upMbps: undefined, downMbps: undefined };
  const errors: string[] = [];
  for (const reverse of [false, true]) {
    try {
      const r = await iperf(lab, reverse, seconds);
      if (reverse) out.downMbps = r.mbps;
      else out.upMbps = r.mbps;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) out.error = errors.join('; ');
  return out;
}

export async function measurePathMtu(lab: Lab, seconds: number, log: (l: string) => void): Promise<PathMtuRow[]> {
  const rows: PathMtuRow[] = [];
  const report = (r: PathMtuRow): void => {
    rows.push(r);
    log(`  ${r.client} at path MTU ${r.mtu}: up ${r.upMbps?.toFixed(0) ?? '—'}, down ${r.downMbps?.toFixed(0) ?? '—'} Mbit/s${r.fragmented !== undefined ? `, ${r.fragmented} sent in fragments` : ''}${r.error ? ` (${r.error})` : ''}`);
  };
  const daemon = new DaemonRun(lab);
  try {
    await daemon.start();
    const c = await daemon.client();
    await c.call('importConfig', { text: lab.clientConfig(0), name: 'bench' });
    for (const killSwitch of [false, true]) {
      for (const mtu of PATH_MTUS) {
        await setPathMtu(lab, 0, mtu);
        await c.call('setSettings', { killSwitch });
        await c.call('connect', { serverId: 'bench' });
        try {
          await daemon.waitFor((s) => s.state === 'connected', 15_000, 'connected');
          const rates = await both(lab, seconds);
          const fragmented = (await c.call('status')).pathMtuFragmented;
          report({ client: killSwitch ? 'umbra, kill switch on' : 'umbra, kill switch off', mtu, fragmented, ...rates });
        } finally {
          await c.call('disconnect');
          await daemon.waitFor((s) => s.state === 'disconnected', 15_000, 'disconnected');
        }
      }
    }
    await c.call('setSettings', { killSwitch: false });
  } finally {
    await daemon.stop('SIGTERM').catch(() => undefined);
    daemon.cleanup();
  }
  // The same server program and config, fresh state: no session left from Umbra.
  await lab.servers[0]!.restart();
  for (const mtu of PATH_MTUS) {
    await setPathMtu(lab, 0, mtu);
    const wg = await startWg(lab, 0);
    try {
      report({ client: 'wireguard-go', mtu, fragmented: undefined, ...(await both(lab, seconds)) });
    } finally {
      await wg.stop();
    }
  }
  await setPathMtu(lab, 0, 1500);
  return rows;
}

/** Lines of the report: per MTU, each client's up / down, and whether Umbra's rates are at least wireguard-go's. */
export function formatPathMtu(rows: readonly PathMtuRow[]): string[] {
  const f = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(0));
  const lines = ['TCP at a small path MTU (Mbit/s up / down; target: Umbra ≥ wg-go in each direction)'];
  for (const mtu of PATH_MTUS) {
    const wg = rows.find((r) => r.mtu === mtu && r.client === 'wireguard-go');
    for (const r of rows.filter((x) => x.mtu === mtu)) {
      let met = '';
      if (r.client !== 'wireguard-go' && wg) {
        const ok = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? 'n/a' : a >= b ? 'yes' : 'NO');
        met = ` — up ${ok(r.upMbps, wg.upMbps)}, down ${ok(r.downMbps, wg.downMbps)}`;
      }
      lines.push(`  path MTU ${mtu}, ${r.client.padEnd(22)} ${f(r.upMbps).padStart(5)} / ${f(r.downMbps).padEnd(5)}${r.fragmented !== undefined ? ` (${r.fragmented} sent in fragments)` : ''}${met}`);
    }
  }
  return lines;
}
