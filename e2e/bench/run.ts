// `npm run bench`: Umbra's client (`umbrad up`) and a wireguard-go client side by side, one after
// the other, against the same wireguard-go server in one network lab; then Umbra's client against
// Umbra as the server; then the helper as a user runs it (`umbrad serve`, connected over its IPC);
// plus an engine-only micro-benchmark. Prints a table with the issue's targets and writes
// bench-results/latest.json.
//
//   node dist/e2e/bench/run.js [--seconds N] [--only umbra,wg,umbra-umbra,daemon] [--idle-seconds N]
//                              [--engine | --no-engine] [--engine-seconds N] [--pings N] [--cpu-prof]
//
// Needs root (the lab). Everything networked runs inside the lab's namespaces; the lab is
// destroyed on every way out (success, error, SIGINT/SIGTERM, the overall time limit).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLab, labAvailable, type Lab } from '../lab/lab.js';
import { networkSnapshot, PROJECT_ROOT } from '../umbrad-process.js';
import { ENGINE_PACKET_SIZE, formatEngine, runEngineBench, type EngineResult } from './engine.js';
import { clientNamespaceState, IPERF_PORT, measureClient, type ClientKind, type ClientResult } from './measure.js';
import { measureHelperConnect, type HelperConnectResult } from './connect-latency.js';
import { startUmbraServer } from './umbra-server.js';
import { formatHelper, formatTargets, table, targets, type Figures } from './report.js';
import { formatPathMtu, measurePathMtu, PATH_MTUS, type PathMtuRow } from './path-mtu.js';
import { FLOOD_RATE, formatFlood, runFloodBench, type FloodRow } from './flood.js';
import { newestProfile, summariseProfile } from './profile.js';

const USAGE = `usage: node dist/e2e/bench/run.js [options]
  --seconds N         iperf3 duration per direction (default 8; plus 1 s omitted for slow start)
  --only LIST         measure only these, comma-separated: umbra (Umbra's client, wireguard-go server),
                      wg (wireguard-go both ends), umbra-umbra (Umbra both ends), daemon (umbrad serve
                      connected over its IPC: connect latency, idle); default all
  --idle-seconds N    seconds connected and idle over which wakeups and spawned processes are
                      counted, per client and for the daemon (default 60; 0 skips)
  --idle-settle-seconds N  seconds left alone after connecting before that window (default 30):
                      the start's after-work (GC, the new link's IPv6 solicitations) is not idling
  --engine            run only the in-memory engine benchmark (no lab, no root needed)
  --no-engine         skip the engine benchmark
  --engine-seconds N  seconds per AEAD backend in the engine benchmark (default 2)
  --pings N           pings for the RTT measurement (default 200, 10 ms apart)
  --starts N          starts per client for the time to first packet (median; default 3)
  --cpu-prof          run umbrad with node --cpu-prof; summarise where its CPU time went
  --kill-switch       time "connect" on the running helper with the kill switch on
  --helper-from DIR   run the packaged helper of an unpacked app (release/linux-unpacked, /opt/Umbra)
                      on the Node.js it ships, as its unit does, instead of the checkout's on this Node
  --path-mtu-seconds N  iperf3 seconds per direction at each small path MTU (default 4)
  --no-path-mtu       skip TCP at path MTUs 1280/1400/1500
  --flood-seconds N   seconds of download under each kind of handshake flood (default 8)
  --no-flood          skip the download under handshake floods`;

/** A client against a server: Umbra's or wireguard-go's client against wireguard-go's server, or Umbra's both ends. */
type RowKind = ClientKind | 'umbra-umbra';
type Part = RowKind | 'daemon';
const PARTS: Record<string, Part> = { umbra: 'umbra', wg: 'wireguard-go', 'wireguard-go': 'wireguard-go', 'umbra-umbra': 'umbra-umbra', daemon: 'daemon' };

interface Options {
  seconds: number;
  only: Part[] | undefined;
  idleSeconds: number;
  idleSettleSeconds: number;
  engine: 'also' | 'only' | 'skip';
  engineSeconds: number;
  pingCount: number;
  starts: number;
  cpuProf: boolean;
  /** Connect on the running helper with the kill switch on (its block, then the tunnel's policy). */
  killSwitch: boolean;
  pathMtuSeconds: number | undefined;
  /** An unpacked app whose helper `umbrad up` runs (--helper-from). */
  helperFrom?: string;
  floodSeconds: number | undefined;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 8, only: undefined, idleSeconds: 60, idleSettleSeconds: 30, engine: 'also', engineSeconds: 2, pingCount: 200, starts: 3, cpuProf: false, killSwitch: false, pathMtuSeconds: 4, floodSeconds: 8 };
  const num = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} needs a number from ${min} to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--seconds':
        o.seconds = Math.round(num(a, argv[++i], 1, 60));
        break;
      case '--only': {
        const v = (argv[++i] ?? '').split(',').filter(Boolean);
        const bad = v.filter((x) => !(x in PARTS));
        if (v.length === 0 || bad.length > 0) throw new UsageError(`--only takes a comma-separated list of umbra, wg, umbra-umbra, daemon${bad.length ? ` (not ${bad.join(', ')})` : ''}`);
        o.only = [...new Set(v.map((x) => PARTS[x]!))];
        break;
      }
      case '--idle-seconds':
        o.idleSeconds = Math.round(num(a, argv[++i], 0, 600));
        break;
      case '--idle-settle-seconds':
        o.idleSettleSeconds = Math.round(num(a, argv[++i], 0, 600));
        break;
      case '--engine':
        o.engine = 'only';
        break;
      case '--no-engine':
        o.engine = 'skip';
        break;
      case '--engine-seconds':
        o.engineSeconds = num(a, argv[++i], 0.2, 30);
        break;
      case '--pings':
        o.pingCount = Math.round(num(a, argv[++i], 5, 2000));
        break;
      case '--starts':
        o.starts = Math.round(num(a, argv[++i], 1, 20));
        break;
      case '--kill-switch':
        o.killSwitch = true;
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '--path-mtu-seconds':
        o.pathMtuSeconds = Math.round(num(a, argv[++i], 1, 60));
        break;
      case '--no-path-mtu':
        o.pathMtuSeconds = undefined;
        break;
      case '--helper-from': {
        const v = argv[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError('--helper-from needs a folder: an unpacked app, e.g. release/linux-unpacked');
        o.helperFrom = resolve(v);
        break;
      }
      case '--flood-seconds':
        o.floodSeconds = Math.round(num(a, argv[++i], 2, 60));
        break;
      case '--no-flood':
        o.floodSeconds = undefined;
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

// ------------------------------------------------------------------------------ machine

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    const r = execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    return r.split('\n').find((l) => l.trim() !== '')?.trim();
  } catch {
    return undefined;
  }
}

function machineInfo(): Record<string, unknown> {
  return {
    cpuModel: os.cpus()[0]?.model,
    nproc: os.availableParallelism(),
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    arch: os.arch(),
    node: process.version,
    date: new Date().toISOString(),
    iperf3: firstLine('iperf3', ['--version']),
    wireguardGo: firstLine('wireguard-go', ['--version']),
    ping: firstLine('ping', ['-V']),
  };
}

/** Namespaces of labs other than ours (other test runs on this machine share its 2 cores). */
function otherLabs(own: string | undefined): string[] {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  return names.filter((n) => /^ulab\d+n\d+-/.test(n) && (own === undefined || !n.startsWith(`${own}-`)));
}

// ------------------------------------------------------------------------------ main

const log = (line: string): void => console.log(line);
let lab: Lab | undefined;
let finishing = false;

function onSignal(why: string, code: number): void {
  if (finishing) {
    process.exit(code);
  }
  finishing = true;
  console.error(`\nbench: ${why}; destroying the lab`);
  void (async () => {
    try {
      await lab?.destroy();
    } finally {
      process.exit(code);
    }
  })();
}

async function waitListening(l: Lab, ns: string, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await l.exec(ns, ['ss', '-Hltn', `sport = :${port}`]);
    if (r.code === 0 && r.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on :${port} in ${ns} after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function waitForAddon(): Promise<void> {
  const addon = join(PROJECT_ROOT, 'helper', 'native', 'build', 'Release', 'umbra_native.node');
  for (let i = 0; !existsSync(addon); i++) {
    if (i === 0) log(`bench: ${addon} is missing (being rebuilt?); waiting up to 60 s`);
    if (i >= 60) throw new Error(`${addon} is missing: build it (npm run build:native)`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/**
 * The helper of an unpacked app (`electron-builder --linux dir`'s tree, or an installed
 * /opt/Umbra): its Node.js and umbrad.js, and what it says it runs on (`umbrad version --json`).
 */
function packagedHelper(dir: string): { node: string; script: string; engine: { aead: string; runtime: string }; aeadDetail: string } {
  const node = join(dir, 'resources', 'helper', 'node', 'bin', 'node');
  const script = join(dir, 'resources', 'helper', 'bin', 'umbrad.js');
  for (const f of [node, script]) {
    if (!existsSync(f)) throw new UsageError(`--helper-from ${dir}: no ${f} (build the tree with npm run package:dir)`);
  }
  const out = execFileSync(node, [script, 'version', '--json'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const v = JSON.parse(out) as { engine: { aead: string; runtime: string }; aeadDetail: string };
  return { node, script, engine: v.engine, aeadDetail: v.aeadDetail };
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const results: Record<string, unknown> = { machine: machineInfo(), options: o };
  const errors: string[] = [];
  const outDir = join(PROJECT_ROOT, 'bench-results');

  let engine: EngineResult[] | undefined;
  if (o.engine !== 'skip') {
    log(`bench: engine only, ${o.engineSeconds} s per AEAD backend…`);
    engine = runEngineBench(o.engineSeconds);
    log(formatEngine(engine));
    results.engine = { packetSize: ENGINE_PACKET_SIZE, results: engine };
  }
  if (o.engine === 'only') {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    log(`bench: wrote ${join(outDir, 'latest.json')}`);
    return 0;
  }

  const avail = labAvailable();
  if (!avail.ok) throw new Error(`the lab is unavailable: ${avail.reason}`);
  for (const cmd of ['iperf3', 'ping', 'ss']) {
    if (firstLine('sh', ['-c', `command -v ${cmd}`]) === undefined) throw new Error(`${cmd} is not installed (iperf3, iputils-ping, iproute2)`);
  }
  const parts: Part[] = o.only ?? ['umbra', 'wireguard-go', 'umbra-umbra', 'daemon'];
  const kinds: RowKind[] = (['umbra', 'wireguard-go', 'umbra-umbra'] as const).filter((k) => parts.includes(k));
  const clientKinds = kinds.filter((k): k is ClientKind => k !== 'umbra-umbra');
  const bothClients = clientKinds.length === 2;
  const umbrad = o.helperFrom === undefined ? undefined : packagedHelper(o.helperFrom);
  if (umbrad) {
    results.packagedHelper = { dir: o.helperFrom, ...umbrad };
    log(`bench: umbrad from ${o.helperFrom}: ${umbrad.engine.runtime}, AEAD ${umbrad.engine.aead} (${umbrad.aeadDetail}), for \`up\` and \`serve\``);
  }
  if (parts.some((k) => k !== 'wireguard-go') && !umbrad) {
    if (!existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'main.js'))) throw new Error('dist/helper/main.js is missing: npx tsc -p tsconfig.build.json');
    await waitForAddon();
  }
  const profDir = join(outDir, 'profiles');
  if (o.cpuProf) mkdirSync(profDir, { recursive: true });

  // Each client: ~1 s start, pings, two iperf3 runs (+1 s omitted, +setup), stop. Plus the lab.
  const pathMtuRuns = o.pathMtuSeconds !== undefined && bothClients ? 3 * PATH_MTUS.length : 0;
  // Per client also the server restart: REKEY_TIMEOUT of waiting, then up to 30 s without traffic.
  const budgetMs = 60_000 + kinds.length * (2 * (o.seconds + 6) * 1000 + o.pingCount * 15 + o.starts * 5000 + 30_000 + 40_000 + (o.idleSeconds + o.idleSettleSeconds) * 1000) +
    (parts.includes('daemon') ? 30_000 + o.starts * 5000 + (o.idleSeconds + o.idleSettleSeconds) * 1000 : 0) +
    pathMtuRuns * (2 * ((o.pathMtuSeconds ?? 0) + 6) * 1000 + 10_000) +
    // A client stuck under a flood can hold iperf3 for its 25 s timeout.
    (o.floodSeconds !== undefined ? clientKinds.length * 4 * (o.floodSeconds + 5) * 1000 + 30_000 : 0);
  const watchdog = setTimeout(() => onSignal(`over the time limit (${Math.round(budgetMs / 1000)} s)`, 124), budgetMs);
  watchdog.unref();

  const clients: Partial<Record<RowKind, ClientResult>> = {};
  let helper: HelperConnectResult | undefined;
  let pathMtu: PathMtuRow[] = [];
  let flood: FloodRow[] = [];
  const t0 = performance.now();
  const conditions = { loadavgBefore: os.loadavg(), otherLabsBefore: otherLabs(undefined), loadavgAfter: [] as number[], otherLabsAfter: [] as string[] };
  results.conditions = conditions;
  try {
    log('bench: building the lab (1 server)…');
    lab = await createLab({ servers: 1 });
    const l = lab;
    log(`bench: lab ${l.prefix}: client ${l.client.ns}, server ${l.servers[0]!.ns} (wireguard-go), iperf3 -s on ${l.internet.serviceAddress} in ${l.internet.ns}`);
    const iperfServer = l.spawn(l.internet.ns, ['iperf3', '-s', '-B', l.internet.serviceAddress, '-p', String(IPERF_PORT)], { stdio: 'ignore' });
    iperfServer.on('exit', (code) => {
      if (!finishing) errors.push(`iperf3 -s exited (${code})`);
    });
    await waitListening(l, l.internet.ns, IPERF_PORT, 5000);
    const baseline = await networkSnapshot(l, l.client.ns);

    const runHelper = async (): Promise<void> => {
      log('bench: umbra, connect on a running helper (umbrad serve)…');
      try {
        helper = await measureHelperConnect(l, o.starts, { seconds: o.idleSeconds, settleSeconds: o.idleSettleSeconds }, log, { killSwitch: o.killSwitch, ...(umbrad ? { umbrad } : {}) });
      } catch (e) {
        errors.push(`helper connect: ${(e as Error).message}`);
      }
      await l.servers[0]!.restart();
    };
    for (const [i, kind] of kinds.entries()) {
      if (i > 0) {
        // The same server program and config, fresh state: no session left from the previous client.
        await l.servers[0]!.restart();
      }
      log(`bench: ${kind}…`);
      const started = Date.now();
      let server: Awaited<ReturnType<typeof startUmbraServer>> | undefined;
      let r: ClientResult;
      try {
        if (kind === 'umbra-umbra') server = await startUmbraServer(l, umbrad);
        r = await measureClient(l, kind === 'umbra-umbra' ? 'umbra' : kind, {
          seconds: o.seconds,
          pingCount: o.pingCount,
          starts: o.starts,
          umbraNodeFlags: o.cpuProf && kind === 'umbra' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
          ...(umbrad ? { umbrad } : {}),
          ...(server ? { clientConfig: server.clientConfig, serverPid: server.pid } : {}),
          serverRestart: kind !== 'umbra-umbra',
          idleSeconds: o.idleSeconds,
          idleSettleSeconds: o.idleSettleSeconds,
          baseline,
          log,
        });
      } catch (e) {
        errors.push(`${kind}: ${(e as Error).message}`);
        await server?.stop();
        continue;
      }
      await server?.stop();
      clients[kind] = r;
      for (const e of r.errors) errors.push(`${kind}: ${e}`);
      if (kind === 'umbra' && o.cpuProf) {
        const file = newestProfile(profDir, started);
        if (file) {
          const s = summariseProfile(file);
          r.cpuProfileDir = profDir;
          results.umbraCpuProfile = { file, ...s };
        } else {
          errors.push('umbra: --cpu-prof wrote no profile');
        }
      }
      const st = await clientNamespaceState(l, baseline);
      if (!st.clean) {
        errors.push(`the client namespace is not clean after ${kind} (${st.leftover}); not running the next client`);
        break;
      }
      if (kind === 'umbra' && parts.includes('daemon')) await runHelper();
    }
    if (parts.includes('daemon') && !kinds.includes('umbra')) await runHelper();
    if (pathMtuRuns > 0) {
      log(`bench: TCP at path MTUs ${PATH_MTUS.join(', ')}…`);
      try {
        pathMtu = await measurePathMtu(l, o.pathMtuSeconds!, log);
        for (const r of pathMtu) if (r.error) errors.push(`path MTU ${r.mtu}, ${r.client}: ${r.error}`);
      } catch (e) {
        errors.push(`path MTU: ${(e as Error).message}`);
      }
    }
    if (o.floodSeconds !== undefined && clientKinds.length > 0) {
      log(`bench: download under handshake floods (${FLOOD_RATE}/s each of junk, bad mac1, valid mac1)…`);
      try {
        flood = await runFloodBench(l, { seconds: o.floodSeconds, clients: clientKinds, log });
        // A row with nothing through is a result, not a failure of the bench; errors are others.
        for (const r of flood) if (r.error) errors.push(`flood ${r.kind}, ${r.client}: ${r.error}`);
      } catch (e) {
        errors.push(`flood: ${(e as Error).message}`);
      }
    }
    conditions.loadavgAfter = os.loadavg();
    conditions.otherLabsAfter = otherLabs(l.prefix);
  } catch (e) {
    errors.push((e as Error).message);
  } finally {
    finishing = true;
    await lab?.destroy();
    clearTimeout(watchdog);
  }

  const u = clients.umbra;
  const w = clients['wireguard-go'];
  const figures: Figures = { u, w, uu: clients['umbra-umbra'], helper };
  const ts = targets(figures);
  results.helperConnectFirstPacketMs = helper?.connectMs ?? [];
  results.helper = helper ?? null;
  const m = results.machine as Record<string, unknown>;
  log('');
  log(`Umbra vs wireguard-go client, same wireguard-go server, and Umbra at both ends, lab namespaces on ${String(m.cpuModel)} (${String(m.nproc)} cores), Linux ${String(m.kernel)}, node ${process.version}`);
  log(`iperf3 TCP ${o.seconds} s per direction (+1 s omitted), ${o.pingCount} pings 10 ms apart, MTU 1420 both; total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const others = [...new Set([...conditions.otherLabsBefore, ...conditions.otherLabsAfter].map((n) => n.replace(/-.*$/, '')))];
  if (others.length > 0 || conditions.loadavgBefore[0]! > 1) {
    log(`WARNING: the machine was not idle (load average ${conditions.loadavgBefore[0]!.toFixed(2)} before, ${conditions.loadavgAfter[0]?.toFixed(2) ?? '?'} after` +
      `${others.length > 0 ? `; other labs running: ${others.join(', ')}` : ''}): expect noisy numbers`);
  }
  log('');
  log(table(figures, ts));
  for (const line of formatHelper(helper, ts)) log(line);
  log('');
  for (const line of formatTargets(ts)) log(line);
  if (pathMtu.length > 0) {
    log('');
    for (const line of formatPathMtu(pathMtu)) log(line);
  }
  results.pathMtu = pathMtu;
  if (flood.length > 0) {
    log('');
    for (const line of formatFlood(flood)) log(line);
  }
  results.flood = flood;
  if (engine) {
    log('');
    log(formatEngine(engine));
  }
  const prof = results.umbraCpuProfile as ReturnType<typeof summariseProfile> | undefined;
  if (prof) {
    log('');
    log(`umbrad CPU profile (whole run; ${(prof.totalMs - prof.idleMs).toFixed(0)} ms busy of ${prof.totalMs.toFixed(0)} ms; self time):`);
    for (const e of prof.entries) log(`  ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(6)} ms  ${e.name}`);
  }
  if (errors.length > 0) {
    log('');
    log('Problems:');
    for (const e of errors) log(`  - ${e.split('\n').join('\n    ')}`);
  }

  results.clients = { umbra: u ?? null, wireguardGo: w ?? null, umbraUmbra: clients['umbra-umbra'] ?? null };
  results.targets = ts;
  results.errors = errors;
  results.notes = {
    firstPacket: 'ms from spawning the client to the first ICMP echo reply from the server tunnel address (ping -D -i 0.001 started before the client; wall clock of the reply minus wall clock at spawn)',
    ping: `ping -c ${o.pingCount} -i 0.01 to the server tunnel address; p50/p99 from the per-reply times`,
    iperf3: `iperf3 -c ${IPERF_SERVICE_NOTE} -t ${o.seconds} -O 1 -J (and -R); Mbit/s = end.sum_received.bits_per_second`,
    rss: 'idle: VmRSS 1 s after the first packet; peak: highest VmRSS sampled every 200 ms during both iperf3 runs; VmHWM: kernel peak at the end',
    cpu: '(utime+stime) delta of the client process over each iperf3 run / wall time; 100% = one core; per GB: over the bytes iperf3 moved',
    idle: `connected, no traffic (the probe stopped), left alone ${o.idleSettleSeconds} s, then for ${o.idleSeconds} s: wakeups = voluntary context switches summed over /proc/PID/task/*/status (all threads) per second; spawned = processes whose parent chain leads to the helper, found by listing /proc every 10 ms (one shorter than that can be missed); the daemon row is umbrad serve connected over its IPC with one subscriber`,
    umbraUmbra: 'umbrad up with ListenPort and a [Peer] without Endpoint in the server namespace, in place of wireguard-go (its own key); no server-restart figure',
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('');
  log(`bench: wrote ${join(outDir, 'latest.json')}`);
  return errors.length === 0 ? 0 : 1;
}

const IPERF_SERVICE_NOTE = '203.0.113.250 (iperf3 -s in the lab internet namespace; traffic client → tunnel → server → NAT → inet)';

process.on('SIGINT', () => onSignal('SIGINT', 130));
process.on('SIGTERM', () => onSignal('SIGTERM', 143));

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    await lab?.destroy();
    if (e instanceof UsageError) {
      console.error(`bench: ${e.message}`);
      process.exit(2);
    }
    console.error(`bench: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
