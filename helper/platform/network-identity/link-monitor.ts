// Watches the kernel's links, addresses, routes and neighbours with `ip -o monitor` as a child
// process (line-monitor.ts), and reports: at once when another network may have appeared (a
// carrier up, a default route added), and once things have been quiet for a moment (debounced)
// so the network can be identified.
import { runLineMonitor, type LineMonitor } from '../line-monitor.js';
import { ChangeTracker, parseMonitorLine } from './net-change.js';

export interface LinkMonitorOptions {
  isTunnelDevice(dev: string): boolean;
  /** A possible new network: called at once, for each such change. */
  onAppeared(): void;
  /** Something changed and has been quiet for debounceMs: look again (onlyNeighbours: nothing but neighbour entries changed). */
  onSettled(onlyNeighbours: boolean): void;
  log(line: string): void;
  /** Default 300 ms: DHCP's address and route and the gateway's MAC come within that of each other. */
  debounceMs?: number;
}

/** The longest a look is put off by changes that keep coming. */
const MAX_WAIT_MS = 1500;

const ARGV = ['ip', '-o', 'monitor', 'link', 'address', 'route', 'neigh'];

export function watchLinks(o: LinkMonitorOptions): LineMonitor {
  const tracker = new ChangeTracker();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let onlyNeighbours = true;
  /** When the first change since the last look came: a stream of changes (a LAN host's ARP every 200 ms) cannot put the look off for more than MAX_WAIT_MS. */
  let firstAt: number | undefined;
  const settleSoon = (neighbour: boolean) => {
    onlyNeighbours &&= neighbour;
    clearTimeout(timer);
    const now = Date.now();
    firstAt ??= now;
    const quiet = o.debounceMs ?? 300;
    timer = setTimeout(() => {
      timer = undefined;
      firstAt = undefined;
      const only = onlyNeighbours;
      onlyNeighbours = true;
      if (!stopped) o.onSettled(only);
    }, Math.max(0, Math.min(quiet, firstAt + MAX_WAIT_MS - now)));
  };
  const monitor = runLineMonitor(ARGV, {
    label: 'network watch',
    without: 'network rules act only when the helper starts or the rules change',
    log: o.log,
    // LC_ALL=C: the parser reads iproute2's words.
    env: { ...process.env, LC_ALL: 'C' },
    onLine: (line) => {
      const change = parseMonitorLine(line, o.isTunnelDevice);
      const what = change && tracker.classify(change);
      if (!what) return;
      if (what === 'appeared') o.onAppeared();
      settleSoon(what === 'neighbour');
    },
  });
  return {
    get pid() {
      return monitor.pid;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      monitor.stop();
    },
  };
}
