// The fallback identity: the default route's gateway and that gateway's MAC address, from
// `ip -j route` and `ip -j neigh`. A network just joined under the kill switch has sent nothing,
// so the kernel has not asked for the gateway's MAC yet: the helper then adds a "managed"
// neighbour entry (Linux 5.16+), which makes the kernel resolve it by itself (ARP is not
// filtered by the inet table), reads the answer and removes the entry again (its undo).
import type { CommandRunner } from '../exec.js';
import { normalMac } from './identity.js';

/** The objects of `ip -j`'s answer (an array); none when it is not one. */
function jsonObjects(stdout: string): Record<string, unknown>[] {
  try {
    const v: unknown = JSON.parse(stdout || '[]');
    return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
  } catch {
    return [];
  }
}

export interface DefaultGateway {
  gateway: string;
  device: string;
  metric: number;
}

/** The preferred default route with a gateway (lowest metric), from `ip -j route show default`; tunnel devices skipped. */
export function parseDefaultRoute(stdout: string, isTunnelDevice: (dev: string) => boolean): DefaultGateway | undefined {
  const candidates: DefaultGateway[] = [];
  for (const r of jsonObjects(stdout)) {
    if (r.dst !== 'default') continue;
    if (typeof r.gateway !== 'string' || typeof r.dev !== 'string' || isTunnelDevice(r.dev)) continue;
    if (Array.isArray(r.flags) && r.flags.includes('linkdown')) continue;
    candidates.push({ gateway: r.gateway, device: r.dev, metric: typeof r.metric === 'number' ? r.metric : 0 });
  }
  candidates.sort((a, b) => a.metric - b.metric);
  return candidates[0];
}

/** The gateway's MAC from `ip -j neigh show to GW dev DEV`, when the kernel has one that is not failed. */
export function parseNeighbourMac(stdout: string, gateway: string): string | undefined {
  for (const e of jsonObjects(stdout)) {
    if (e.dst !== gateway || typeof e.lladdr !== 'string') continue;
    const state = Array.isArray(e.state) ? e.state : [];
    if (state.includes('FAILED') || state.includes('INCOMPLETE')) continue;
    const mac = normalMac(e.lladdr);
    if (mac) return mac;
  }
  return undefined;
}

export interface GatewayOptions {
  isTunnelDevice(dev: string): boolean;
  /** Waits this long (ms) between looks at the neighbour table while the kernel resolves the MAC. */
  sleep(ms: number): Promise<void>;
  /** How long to wait for the kernel to resolve a gateway it had no MAC for (ms); default 1500. */
  resolveMs?: number;
}

const LOOK_EVERY_MS = 50;

async function neighbourMac(run: CommandRunner, gw: DefaultGateway): Promise<string | undefined> {
  const r = await run.run(['ip', '-j', 'neigh', 'show', 'to', gw.gateway, 'dev', gw.device]);
  return parseNeighbourMac(r.stdout, gw.gateway);
}

export interface SeenGateway {
  gateway: string;
  device: string;
  mac: string;
}

/** The device's index and its IPv4 addresses, from `ip -j -4 address show dev DEV`. */
function parseDeviceAddresses(stdout: string): { ifindex: number; addresses: string[] } | undefined {
  const link = jsonObjects(stdout)[0];
  if (!link || typeof link.ifindex !== 'number') return undefined;
  const info = Array.isArray(link.addr_info) ? (link.addr_info as unknown[]) : [];
  const addresses = info.flatMap((a) => (typeof a === 'object' && a !== null && typeof (a as { local?: unknown }).local === 'string' ? [(a as { local: string }).local] : []));
  return { ifindex: link.ifindex, addresses };
}

export async function readDeviceAddresses(run: CommandRunner, device: string): Promise<{ ifindex: number; addresses: string[] } | undefined> {
  return parseDeviceAddresses((await run.run(['ip', '-j', '-4', 'address', 'show', 'dev', device])).stdout);
}

/** The default gateway and its MAC; undefined without a default route or an answer from the gateway. */
export async function readGateway(run: CommandRunner, o: GatewayOptions): Promise<SeenGateway | undefined> {
  let gw: DefaultGateway | undefined;
  for (const family of ['-4', '-6']) {
    gw = parseDefaultRoute((await run.run(['ip', family, '-j', 'route', 'show', 'default'])).stdout, o.isTunnelDevice);
    if (gw) break;
  }
  if (!gw) return undefined;
  let mac = await neighbourMac(run, gw);
  if (!mac) {
    // `add` fails on an entry that exists (a static one included): then it is the kernel's, left alone.
    const added = await run.run(['ip', 'neigh', 'add', gw.gateway, 'dev', gw.device, 'managed']).then(() => true, () => false);
    try {
      for (let waited = 0; !mac && waited < (o.resolveMs ?? 1500); waited += LOOK_EVERY_MS) {
        await o.sleep(LOOK_EVERY_MS);
        mac = await neighbourMac(run, gw);
      }
    } finally {
      if (added) await run.run(['ip', 'neigh', 'del', gw.gateway, 'dev', gw.device]).catch(() => undefined);
    }
  }
  return mac ? { gateway: gw.gateway, device: gw.device, mac } : undefined;
}
