// One client's measurements in the lab: time to first packet, ping RTT, iperf3 up and down, RSS and
// CPU of the client process. The client is Umbra (`umbrad up`) or a wireguard-go client; both are
// full tunnels with the same key, address, MTU and wg-quick-style fwmark routing, against the
// lab's server 0.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Lab, WireguardGoHandle } from '../lab/lab.js';
import { networkSnapshot, UMBRAD } from '../umbrad-process.js';
import { comm, CpuWindow, measureIdle, RssSampler, statusKb, type IdleFigures } from './procfs.js';
import { measureServerRestart } from './server-restart.js';

export type ClientKind = 'umbra' | 'wireguard-go';

export const IPERF_PORT = 5201;
const FIRST_PACKET_TIMEOUT_MS = 15_000;

interface PingStats {
  transmitted: number;
  received: number;
  minMs: number;
  avgMs: number;
  maxMs: number;
  mdevMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Every reply's RTT, in the order they came: the first is the first packet after the idle window. */
  rttsMs: number[];
}

export interface IperfStats {
  /** Goodput at the receiver, Mbit/s (the omitted first second excluded). */
  mbps: number;
  retransmits: number | undefined;
  seconds: number;
  /** Bytes received over the whole run, the omitted first second included (for CPU per GB). */
  bytesTotal: number;
  /** CPU of the client process while iperf3 ran. */
  clientCpu: { cpuSeconds: number; wallSeconds: number; percentOfCore: number } | undefined;
  /** CPU of the server's wireguard-go (the same program for both clients), for reference. */
  serverCpu: { cpuSeconds: number; wallSeconds: number; percentOfCore: number } | undefined;
  /** Highest VmRSS of the client seen every 200 ms during the run, kB. */
  clientPeakRssKb: number | undefined;
  /** The same of the server. */
  serverPeakRssKb: number | undefined;
  rssSamples: number;
}

export interface ClientResult {
  kind: ClientKind;
  pid: number | undefined;
  comm: string | undefined;
  /** Spawn of the client → first echo reply through the tunnel, ms (median of the starts). */
  firstPacketMs: number | undefined;
  /** Every start's time to first packet, in order. */
  firstPacketTrialsMs: number[];
  /** Spawn → the client says it is up (Umbra: its "handshake complete" line; wireguard-go: configured). */
  readyMs: number | undefined;
  /** Umbra's own line, for reference. */
  readyLine: string | undefined;
  ping: PingStats | undefined;
  up: IperfStats | undefined;
  down: IperfStats | undefined;
  idleRssKb: number | undefined;
  peakRssKb: number | undefined;
  /** VmHWM just before the stop: the kernel's own peak-RSS record for the process. */
  hwmKb: number | undefined;
  /** Connected and idle (no traffic, the probe stopped): the client's wakeups and spawned processes. */
  idle: IdleFigures | undefined;
  /** The server's, over the same window. */
  serverIdle: IdleFigures | undefined;
  serverIdleRssKb: number | undefined;
  serverPeakRssKb: number | undefined;
  /** The server restarted (session forgotten): ms from it being back to traffic again. */
  serverRestartMs: number | undefined;
  stop: { exitCode: number | null | undefined; ms: number; namespaceClean: boolean; leftover: string } | undefined;
  errors: string[];
  /** Set when --cpu-prof wrote a profile for umbrad. */
  cpuProfileDir?: string;
}

export interface MeasureOptions {
  seconds: number;
  /** How many times to start the client for the time to first packet (the last start stays up). */
  starts: number;
  pingCount: number;
  /** Extra node flags for umbrad (e.g. --cpu-prof). */
  umbraNodeFlags: string[];
  /** The Node.js and the umbrad.js to run (--helper-from: a packaged tree); this Node and the checkout's by default. */
  umbrad?: { node: string; script: string };
  /** The client namespace as it was before any client ran (networkSnapshot). */
  baseline: string;
  /** The client's config (default: the lab's for server 0, whose wireguard-go is the server). */
  clientConfig?: string;
  /** The server process (default: server 0's wireguard-go). */
  serverPid?: number;
  /** Whether to restart the server to time the recovery (only the lab's wireguard-go server can). */
  serverRestart: boolean;
  /** Seconds connected and idle over which wakeups and spawned processes are counted (0: skip). */
  idleSeconds: number;
  /** Seconds left alone first: the start's own after-work (GC of start-up garbage, the new link's IPv6 solicitations) is not idling. */
  idleSettleSeconds: number;
  log: (line: string) => void;
}

/** Wall-clock milliseconds with sub-ms resolution (the clock `ping -D` prints). */
function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Collects a child's stdout+stderr and waits for a regular expression to match it. */
function watch(child: ChildProcess): { text: () => string; waitFor: (re: RegExp, ms: number, what: string) => Promise<RegExpExecArray> } {
  let text = '';
  let exited: string | undefined;
  const listeners = new Set<() => void>();
  child.once('exit', (code, signal) => (exited = String(code ?? signal)));
  const add = (b: Buffer): void => {
    text += b.toString('utf8');
    if (text.length > 256 * 1024) text = text.slice(-128 * 1024);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return {
    text: () => text,
    waitFor: (re, ms, what) =>
      new Promise((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        const check = (): void => {
          const m = re.exec(text);
          if (m) {
            done();
            resolve(m);
          }
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
          // Output may still be in the pipe when 'exit' fires; look once more shortly after.
          setTimeout(() => {
            const m = re.exec(text);
            done();
            if (m) resolve(m);
            else reject(new Error(`${what}: the process exited (${exited ?? code ?? signal}) first; output:\n${text.slice(-2000)}`));
          }, 100);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${what}: nothing within ${ms} ms; output:\n${text.slice(-2000)}`));
        }, ms);
        listeners.add(check);
        child.once('exit', onExit);
        check();
        if (exited !== undefined) onExit(null, null);
      }),
  };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<number | null> {
  const exited = exitOf(child);
  child.kill('SIGTERM');
  const r = await Promise.race([exited, sleep(graceMs).then(() => 'timeout' as const)]);
  if (r !== 'timeout') return r;
  child.kill('SIGKILL');
  await Promise.race([exited, sleep(5000)]);
  throw new Error(`did not exit within ${graceMs} ms of SIGTERM (killed)`);
}

/** A client under test, started; `stop()` undoes it. */
interface Started {
  pid: number;
  /** Resolves with the ms from spawn to "up", and the line that says so (Umbra). */
  ready: Promise<{ ms: number; line?: string }>;
  stop(): Promise<number | null | undefined>;
  output(): string;
  running(): boolean;
}

/** Rejects as soon as the client is no longer running; `cancel()` ends the watch. */
function whileRunning(c: Started, what: string): { died: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (c.running()) return;
      clearInterval(timer);
      reject(new Error(`${what} exited before the first packet; its output:\n${c.output().slice(-2000)}`));
    }, 20);
  });
  died.catch(() => undefined);
  return { died, cancel: () => clearInterval(timer) };
}

function startUmbra(lab: Lab, confText: string, nodeFlags: string[], t0: number, umbrad = { node: process.execPath, script: UMBRAD }): Started {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-'));
  const file = join(dir, 'umbra.conf');
  writeFileSync(file, confText, { mode: 0o600 });
  const child = lab.spawn(lab.client.ns, [umbrad.node, ...nodeFlags, umbrad.script, 'up', file]);
  const w = watch(child);
  if (child.pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('umbrad: spawn failed');
  }
  const ready = w.waitFor(/^.*handshake complete.*$/m, FIRST_PACKET_TIMEOUT_MS, 'umbrad "handshake complete"').then((m) => ({ ms: wallMs() - t0, line: m[0] }));
  ready.catch(() => undefined);
  let stopped: Promise<number | null> | undefined;
  return {
    pid: child.pid,
    ready,
    output: w.text,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: () =>
      (stopped ??= stopChild(child, 10_000).finally(() => rmSync(dir, { recursive: true, force: true }))),
  };
}

export async function startWg(lab: Lab, t0: number, serverPublicKey?: string): Promise<Started & { handle: WireguardGoHandle }> {
  const s = lab.servers[0]!;
  const handle = await lab.startWireguardGo(lab.client.ns, {
    ifname: 'wg0',
    privateKey: lab.client.privateKey,
    address: [`${s.clientTunnelAddress}/32`],
    mtu: 1420,
    peers: [{ publicKey: serverPublicKey ?? s.publicKey, endpoint: `${s.endpoint.host}:${s.endpoint.port}`, allowedIPs: '0.0.0.0/0' }],
  });
  const ms = wallMs() - t0;
  return {
    handle,
    pid: handle.pid,
    ready: Promise.resolve({ ms }),
    output: () => handle.log(),
    running: () => handle.running,
    stop: async () => {
      await handle.stop();
      return undefined;
    },
  };
}

const HAVE_STDBUF = ['/usr/bin/stdbuf', '/bin/stdbuf'].some((p) => existsSync(p));

/** `ping -D` at 1 ms intervals, started before the client: its first reply is the first packet through. */
function startProbe(lab: Lab, target: string): { child: ChildProcess; w: ReturnType<typeof watch> } {
  // Line-buffered: ping writes to a pipe, and its header alone would sit in the buffer.
  const ping = ['ping', '-n', '-D', '-i', '0.001', '-W', '1', '-c', '30000', target];
  const child = lab.spawn(lab.client.ns, HAVE_STDBUF ? ['stdbuf', '-oL', ...ping] : ping);
  return { child, w: watch(child) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** iputils ping's output, its replies in the order they came. */
export function parsePing(out: string): PingStats | undefined {
  const rttsMs = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const times = [...rttsMs].sort((a, b) => a - b);
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  const summary = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out);
  if (!counts || !summary || times.length === 0) return undefined;
  return {
    transmitted: Number(counts[1]),
    received: Number(counts[2]),
    minMs: Number(summary[1]),
    avgMs: Number(summary[2]),
    maxMs: Number(summary[3]),
    mdevMs: Number(summary[4]),
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    rttsMs,
  };
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bits_per_second?: number; seconds?: number };
    sum_sent?: { retransmits?: number };
  };
  intervals?: { sum?: { bytes?: number } }[];
}

/** One iperf3 run from the client namespace to the lab's iperf3 server; its parsed JSON. */
export async function iperf(lab: Lab, reverse: boolean, seconds: number): Promise<{ mbps: number; retransmits: number | undefined; seconds: number; bytesTotal: number }> {
  const argv = ['iperf3', '-c', lab.internet.serviceAddress, '-p', String(IPERF_PORT), '-t', String(seconds), '-O', '1', '-J', '--connect-timeout', '3000'];
  if (reverse) argv.push('-R');
  let j: IperfJson;
  // The server takes a moment to finish a test whose client went away (a client stopped mid-run).
  for (let attempt = 0; ; attempt++) {
    const r = await lab.exec(lab.client.ns, argv, { timeoutMs: (seconds + 1 + 20) * 1000 });
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      throw new Error(`iperf3 ${reverse ? '-R ' : ''}failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.slice(0, 500)}`);
    }
    if (!(j.error && /server is busy/.test(j.error) && attempt < 10)) break;
    await sleep(1000);
  }
  if (j.error) throw new Error(`iperf3 ${reverse ? '-R ' : ''}: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3 ${reverse ? '-R ' : ''}: no end.sum_received in its JSON`);
  return {
    mbps: bps / 1e6,
    retransmits: j.end?.sum_sent?.retransmits,
    seconds: j.end?.sum_received?.seconds ?? seconds,
    bytesTotal: (j.intervals ?? []).reduce((n, i) => n + (i.sum?.bytes ?? 0), 0),
  };
}

async function runIperf(lab: Lab, reverse: boolean, clientPid: number, o: MeasureOptions): Promise<IperfStats> {
  const serverPid = o.serverPid ?? lab.servers[0]!.pid;
  const sampler = new RssSampler(serverPid === undefined ? [clientPid] : [clientPid, serverPid], 200).start();
  const clientWin = new CpuWindow(clientPid);
  const serverWin = serverPid !== undefined ? new CpuWindow(serverPid) : undefined;
  try {
    const run = await iperf(lab, reverse, o.seconds);
    return {
      ...run,
      clientCpu: clientWin.end(),
      serverCpu: serverWin?.end(),
      clientPeakRssKb: sampler.peakKb(clientPid),
      serverPeakRssKb: serverPid === undefined ? undefined : sampler.peakKb(serverPid),
      rssSamples: sampler.samples(clientPid),
    };
  } finally {
    sampler.stop();
  }
}

/** Pids of the processes that still run in the namespace (read-only `ip netns pids`). */
function pidsIn(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Checks that nothing runs in the client namespace and that its network is as it was. */
export async function clientNamespaceState(lab: Lab, baseline: string): Promise<{ clean: boolean; leftover: string }> {
  const left = pidsIn(lab.client.ns).map((p) => `${p} (${comm(p) ?? '?'})`);
  const now = await networkSnapshot(lab, lab.client.ns);
  const problems: string[] = [];
  if (left.length > 0) problems.push(`processes still running: ${left.join(', ')}`);
  if (now !== baseline) {
    const a = new Set(baseline.split('\n'));
    const b = new Set(now.split('\n'));
    const added = [...b].filter((l) => !a.has(l) && l !== '---');
    const removed = [...a].filter((l) => !b.has(l) && l !== '---');
    problems.push(`network differs: added [${added.join(' | ')}] removed [${removed.join(' | ')}]`);
  }
  return { clean: problems.length === 0, leftover: problems.join('; ') };
}

interface Trial {
  firstPacketMs: number;
  readyMs: number;
  readyLine: string | undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Starts the client with the probe already pinging, and waits for the first reply. `holder.client`
 * is set as soon as a client process exists, so the caller can stop it whatever happens.
 */
async function startOnce(lab: Lab, kind: ClientKind, o: MeasureOptions, holder: { client?: Started }): Promise<Trial> {
  const target = lab.servers[0]!.tunnelAddress;
  const state = await clientNamespaceState(lab, o.baseline);
  if (!state.clean) throw new Error(`the client namespace is not clean before ${kind} starts: ${state.leftover}`);
  const probe = startProbe(lab, target);
  try {
    // ping is running (its header is out) before the clock starts.
    await probe.w.waitFor(/^PING /m, 5000, 'ping probe start');
    const t0 = wallMs();
    const client = kind === 'umbra' ? startUmbra(lab, o.clientConfig ?? lab.clientConfig(0), o.umbraNodeFlags, t0, o.umbrad) : await startWg(lab, t0, o.clientConfig && /^PublicKey = (.*)$/m.exec(o.clientConfig)?.[1]);
    holder.client = client;
    const reply = new RegExp(`^\\[(\\d+\\.\\d+)\\] \\d+ bytes from ${escapeRe(target)}:`, 'm');
    const alive = whileRunning(client, kind);
    const first = await Promise.race([probe.w.waitFor(reply, FIRST_PACKET_TIMEOUT_MS, `first reply from ${target} through ${kind}`), alive.died]).finally(alive.cancel);
    const ready = await client.ready;
    return { firstPacketMs: Number(first[1]) * 1000 - t0, readyMs: ready.ms, readyLine: ready.line };
  } finally {
    await stopChild(probe.child, 2000).catch(() => undefined);
  }
}

/** Stops the client and waits (up to 2 s) for the namespace to be as it was. */
async function stopAndCheck(lab: Lab, kind: ClientKind, client: Started, o: MeasureOptions, errors: string[]): Promise<NonNullable<ClientResult['stop']>> {
  const t = performance.now();
  let exitCode: number | null | undefined;
  try {
    exitCode = await client.stop();
  } catch (e) {
    errors.push(`stop: ${(e as Error).message}`);
  }
  const ms = performance.now() - t;
  // Give the kernel a moment to drop the interface and its routes.
  let st = await clientNamespaceState(lab, o.baseline);
  for (let i = 0; i < 20 && !st.clean; i++) {
    await sleep(100);
    st = await clientNamespaceState(lab, o.baseline);
  }
  if (kind === 'umbra' && exitCode !== 0) errors.push(`umbrad exited ${exitCode} on SIGTERM (expected 0); its output:\n${client.output().slice(-1500)}`);
  if (!st.clean) errors.push(`client namespace not clean after ${kind} stopped: ${st.leftover}`);
  return { exitCode, ms, namespaceClean: st.clean, leftover: st.leftover };
}

export async function measureClient(lab: Lab, kind: ClientKind, o: MeasureOptions): Promise<ClientResult> {
  const result: ClientResult = {
    kind, pid: undefined, comm: undefined, firstPacketMs: undefined, firstPacketTrialsMs: [], readyMs: undefined, readyLine: undefined,
    ping: undefined, up: undefined, down: undefined, idleRssKb: undefined, peakRssKb: undefined, hwmKb: undefined,
    idle: undefined, serverIdle: undefined, serverIdleRssKb: undefined, serverPeakRssKb: undefined,
    stop: undefined, errors: [], serverRestartMs: undefined,
  };
  const target = lab.servers[0]!.tunnelAddress;

  // Start (and, but for the last time, stop) the client o.starts times; the last one stays up.
  const trials: Trial[] = [];
  let client: Started | undefined;
  for (let i = 0; i < o.starts; i++) {
    const holder: { client?: Started } = {};
    try {
      trials.push(await startOnce(lab, kind, o, holder));
    } catch (e) {
      result.errors.push(`start ${i + 1}: ${(e as Error).message}${holder.client ? `\nclient output:\n${holder.client.output().slice(-2000)}` : ''}`);
      if (holder.client) result.stop = await stopAndCheck(lab, kind, holder.client, o, result.errors);
      return result;
    }
    const last = trials[trials.length - 1]!;
    o.log(`  ${kind}: start ${i + 1}/${o.starts}: first packet after ${last.firstPacketMs.toFixed(1)} ms, "up" after ${last.readyMs.toFixed(1)} ms`);
    if (i === o.starts - 1) {
      client = holder.client;
    } else {
      result.stop = await stopAndCheck(lab, kind, holder.client!, o, result.errors);
      if (result.errors.length > 0) return result;
    }
  }
  result.firstPacketTrialsMs = trials.map((t) => t.firstPacketMs);
  result.firstPacketMs = median(result.firstPacketTrialsMs);
  result.readyMs = median(trials.map((t) => t.readyMs));
  result.readyLine = trials[trials.length - 1]!.readyLine;
  if (!client) return result;

  try {
    const pid = client.pid;
    result.pid = pid;
    result.comm = comm(pid);
    // Node 24 (the packaged helper's, --helper-from) names its main thread, and so the process, "MainThread".
    const expected = kind === 'umbra' ? ['node', 'MainThread'] : ['wireguard-go'];
    const isClient = (c: string | undefined) => c !== undefined && expected.includes(c);
    if (!isClient(result.comm)) result.errors.push(`pid ${pid} is "${result.comm}", not ${expected.join(' or ')}: RSS/CPU would be of the wrong process`);

    await sleep(1000);
    result.idleRssKb = statusKb(pid, 'VmRSS');
    const serverPid = o.serverPid ?? lab.servers[0]!.pid;
    result.serverIdleRssKb = serverPid === undefined ? undefined : statusKb(serverPid, 'VmRSS');
    if (o.idleSeconds > 0) {
      o.log(`  ${kind}: connected; left alone ${o.idleSettleSeconds} s, then idle for ${o.idleSeconds} s (wakeups, spawned processes)…`);
      await sleep(o.idleSettleSeconds * 1000);
      [result.idle, result.serverIdle] = await Promise.all([
        measureIdle(pid, o.idleSeconds * 1000),
        serverPid === undefined ? undefined : measureIdle(serverPid, o.idleSeconds * 1000),
      ]);
      o.log(`  ${kind}: idle ${result.idle.wakeupsPerSecond.toFixed(2)} wakeups/s, ${result.idle.spawned} processes spawned${result.idle.spawned ? ` (${result.idle.spawnedNames.join(', ')})` : ''}`);
    }

    const pr = await lab.exec(lab.client.ns, ['ping', '-n', '-c', String(o.pingCount), '-i', '0.01', '-W', '1', target], { timeoutMs: 60_000 });
    result.ping = parsePing(pr.stdout);
    if (!result.ping) result.errors.push(`ping: could not parse (exit ${pr.code}): ${pr.stderr.trim() || pr.stdout.slice(-300)}`);
    else o.log(`  ${kind}: ping avg ${result.ping.avgMs} ms (${result.ping.received}/${result.ping.transmitted})`);

    for (const reverse of [false, true]) {
      try {
        const s = await runIperf(lab, reverse, pid, o);
        if (reverse) result.down = s;
        else result.up = s;
        o.log(`  ${kind}: TCP ${reverse ? 'down' : 'up'} ${s.mbps.toFixed(0)} Mbit/s, client CPU ${s.clientCpu?.percentOfCore.toFixed(0)}% of a core`);
      } catch (e) {
        result.errors.push((e as Error).message);
      }
      if (!isClient(comm(pid))) {
        result.errors.push(`${kind} (pid ${pid}) is gone: ${client.output().slice(-1000)}`);
        break;
      }
    }
    const peak = (xs: (number | undefined)[]): number | undefined => {
      const ys = xs.filter((x): x is number => x !== undefined);
      return ys.length > 0 ? Math.max(...ys) : undefined;
    };
    result.peakRssKb = peak([result.up?.clientPeakRssKb, result.down?.clientPeakRssKb]);
    result.serverPeakRssKb = peak([result.up?.serverPeakRssKb, result.down?.serverPeakRssKb]);
    result.hwmKb = statusKb(pid, 'VmHWM');
    if (o.serverRestart) {
      try {
        result.serverRestartMs = await measureServerRestart(lab);
        o.log(`  ${kind}: traffic again ${result.serverRestartMs?.toFixed(0) ?? 'never'} ms after the server restarted`);
      } catch (e) {
        result.errors.push(`server restart: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    result.errors.push((e as Error).message);
  } finally {
    result.stop = await stopAndCheck(lab, kind, client, o, result.errors);
  }
  return result;
}
