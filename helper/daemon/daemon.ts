// The helper daemon: the one owner of the tunnel, the firewall, DNS and the settings that affect
// them. It composes the state store, the connection state machine, the kill switch and DNS, and
// serves them over the IPC socket. Every state change is pushed to subscribers as it happens.
import type { DnsMode } from '../platform/dns/types.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { addonNftLibrary, withNftLibrary } from '../platform/firewall/nft-library.js';
import { EXCLUDED_FWMARK, UMBRA_FWMARK, UMBRA_TABLE } from '../platform/routing/constants.js';
import { Firewall, startWatchdog } from '../platform/firewall/firewall.js';
import { releaseConnectMemorySoon } from '../platform/startup-memory.js';
import { startRulesetMonitor } from '../platform/firewall/ruleset-monitor.js';
import { bootRulesetSaved, bootSpec, writeBootRuleset, removeBootRuleset } from '../platform/firewall/boot.js';
import { chooseDnsBackend, resolvConfWritable } from '../platform/dns/choose.js';
import { readOnlyAdvice } from '../platform/dns/resolv-conf.js';
import { StateStore } from './store/state-store.js';
import { SETTINGS_FILE, STATE_FILE } from './store/files.js';
import { FirewallOwner } from './firewall-owner.js';
import { TunnelDriver } from './tunnel-driver.js';
import { importHandlers } from './import-handlers.js';
import { resolveForPing } from '../latency/resolve.js';
import { latencyHandler } from './latency-handler.js';
import type { Target } from './tunnel-state/types.js';
import { planStart } from './start-policy.js';
import { readBoot } from './boot-id.js';
import { removeStaleRules } from './cleanup.js';
import { startIpcServer } from '../ipc/server.js';
import { ErrorCode, PROTOCOL_VERSION, RpcError, type Caller, type Handlers, type HelperEvent, type Settings } from '../ipc/schema.js';
import { createEndpointLookup } from '../tunnel/endpoints.js';
import { Tunnel } from '../tunnel/tunnel.js';
import { TEST_CLOCK_SKEW_ENV } from '../tunnel/clock.js';
import { floodText } from '../ipc/tunnel-words.js';
import { userDnsChanged, withUserDns } from './user-dns.js';
import { dnsWithLan, lanDnsChanged, lanDnsRefusal, withEffectiveLanDns } from './lan-dns.js';
import { excludedInUse, markExcludedInUse, processInfo, SplitTunnel } from './split-tunnel.js';
import { DEFAULT_EXCLUDED_CGROUP, openExcludedCgroup } from '../platform/cgroup/excluded-cgroup.js';
import { watchSleepSignal } from '../platform/sleep-signal.js';
import { LeakChecker } from '../leakcheck/leak-check.js';
import { packageVersion } from '../platform/fs/package-version.js';
import { engineInfo, systemAead } from '../tunnel/aead-choice.js';
import { NetworkGuard } from './network-guard.js';
import { mayBeUntrusted } from './trusted-networks.js';
import { leaseFilesOnDisk } from '../platform/network-identity/dhcp-lease.js';
import { identifyNetwork } from '../platform/network-identity/identify.js';
import { watchLinks } from '../platform/network-identity/link-monitor.js';

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  resolvConfPath: string;
  dnsMode: DnsMode;
  /** The group whose members may use the socket. */
  group: string;
  log: (line: string) => void;
  run?: CommandRunner;
  /**
   * Poll the kill switch every this many ms instead of checking on each change `nft monitor`
   * reports; default env UMBRA_WATCHDOG_MS (tests set it high to catch a tampered table). Without
   * either, or while nft monitor does not run, it polls every second.
   */
  watchdogMs?: number;
  /** Where the kernel says which boot this is; /proc/sys/kernel/random/boot_id by default. */
  bootIdPath?: string;
  /** The name of split tunnelling's cgroup under the cgroup v2 root; default env UMBRA_EXCLUDED_CGROUP, else DEFAULT_EXCLUDED_CGROUP (tests give each run its own). */
  excludedCgroup?: string;
}

export interface Daemon {
  /** Stops serving; the tunnel goes, a kill-switch block stays (fail closed). */
  stop(): Promise<void>;
}

const isTunnelDev = (dev: string) => dev.startsWith('umbra');
/** How long a tunnel sleeps with nothing due while logind's sleep signal is heard (else every second). */
const SIGNALLED_CLOCK_CHECK_MS = 30_000;

/** Runs one task at a time, in order: the user's commands must not interleave. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const next = tail.then(task, task);
    tail = next.catch(() => undefined);
    return next;
  };
}

/** Each handler run after the commands queued before it (a connect applying its firewall), one at a time. */
function serialized<H extends Record<string, (p: never, c: Caller) => Promise<unknown>>>(handlers: H, one: <T>(task: () => Promise<T>) => Promise<T>): H {
  return Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, (p: never, c: Caller) => one(() => h(p, c))])) as H;
}

/** UMBRA_WATCHDOG_MS, when it is a positive number; else undefined (watch nft monitor). */
function watchdogMsFromEnv(log: (line: string) => void): number | undefined {
  const raw = process.env.UMBRA_WATCHDOG_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (Number.isFinite(ms) && ms > 0) {
    log(`kill switch watchdog: every ${ms} ms (UMBRA_WATCHDOG_MS)`);
    return ms;
  }
  log(`ignoring UMBRA_WATCHDOG_MS=${raw}: not a positive number of milliseconds`);
  return undefined;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const run = o.run ?? systemRunner;
  const log = o.log;
  const store = await StateStore.open(o.stateDir, log, { bootBlockSaved: await bootRulesetSaved(o.stateDir) });
  const dns = await chooseDnsBackend({ mode: o.dnsMode, resolvConfPath: o.resolvConfPath, stateDir: o.stateDir, run });
  if ('recover' in dns && typeof dns.recover === 'function' && (await dns.recover())) log(`restored ${o.resolvConfPath} left behind by an earlier run`);
  if (dns.name === 'resolv-conf' && !(await resolvConfWritable(o.resolvConfPath, run))) log(readOnlyAdvice(o.resolvConfPath));
  const stale = await removeStaleRules(run, UMBRA_FWMARK, UMBRA_TABLE, EXCLUDED_FWMARK);
  if (stale > 0) log(`removed ${stale} routing rule(s) left behind by an earlier run`);

  const listeners = new Set<(e: HelperEvent) => void>();
  const emit = (e: HelperEvent) => {
    for (const l of listeners) l(e);
  };
  // A runner given by a test keeps every command; the real one runs nft in the process.
  const firewall = new Firewall(o.run ?? withNftLibrary(run, addonNftLibrary(), (why) => log(`running nft as a process: ${why}`)));
  /** The leak checks, once they exist: told every status (they look up the address without the VPN) and every repair. */
  const leakHook: { checker?: LeakChecker } = {};
  const late: { driver?: TunnelDriver; sleepSignal?: { readonly pid: number | undefined }; networks?: NetworkGuard } = {};
  /** The tunnel the driver started last (the only one that can be up). */
  const newest: { tunnel?: Tunnel } = {};
  const owner = new FirewallOwner(firewall, bootSpec({ fwmark: UMBRA_FWMARK }), log, () => late.driver?.emit());
  const lookup = createEndpointLookup({
    stateDir: o.stateDir,
    fwmark: UMBRA_FWMARK,
    resolvConfPath: o.resolvConfPath,
    run,
    isTunnelLink: isTunnelDev,
    excludeServers: () => late.driver?.status().dns ?? [],
    log,
  });

  const cgroupName = o.excludedCgroup ?? (process.env.UMBRA_EXCLUDED_CGROUP || DEFAULT_EXCLUDED_CGROUP);
  const split = new SplitTunnel({
    // A helper started by `ip netns exec` sees a fresh /sys without the cgroup mounts: it mounts
    // cgroup2 beside its socket then (where it may; the packaged unit sees the system's).
    open: async (create) => (create || (await excludedInUse(o.stateDir)) ? openExcludedCgroup({ name: cgroupName, mountFallbackDir: join(dirname(o.socketPath), 'cgroup2') }) : undefined),
    checkFirewall: (cgroup) => firewall.check({ ...bootSpec({ fwmark: UMBRA_FWMARK }), excluded: { cgroupPath: cgroup.path, cgroupLevel: cgroup.level, mark: EXCLUDED_FWMARK, resolvers: [] } }),
    inUse: (used) => markExcludedInUse(o.stateDir, used),
    process: processInfo,
    policyChanged: () => late.driver!.dispatch({ type: 'policyChanged' }),
    mark: EXCLUDED_FWMARK,
    log,
  });
  // Before the first state's firewall: a cgroup that outlived the last run keeps its apps out.
  await split.start();

  // One AEAD for every tunnel, the one status reports (main.ts refused to start on a slow one).
  const aead = systemAead();
  const driver = new TunnelDriver({
    engine: engineInfo(aead),
    firewall: owner,
    resolve: async (ep) => {
      const r = await lookup.resolve(ep);
      if (r.fromCache) log(`could not look up ${ep.host}; using the address it had last time, ${r.host}`);
      return r;
    },
    lookupResolvers: () => lookup.resolvers(),
    startTunnel: (cfg, hooks) => {
      let connected = false;
      return Tunnel.start(cfg, {
        aead: aead.aead,
        // logind tells of a resume: the tunnel need not look at the clocks every second for one.
        // The clock seam of the tests is read on those looks, so it keeps them.
        ...(late.sleepSignal?.pid !== undefined && !process.env[TEST_CLOCK_SKEW_ENV] ? { clockCheckMs: SIGNALLED_CLOCK_CHECK_MS } : {}),
        onEvent: (e) => {
          if (e.type === 'handshake-complete') {
            hooks.onHandshake();
            // A connect's start-up is over once the first packet can flow: hand back what it grew.
            if (!connected) releaseConnectMemorySoon();
            connected = true;
          } else if (e.type === 'handshake-initiated') hooks.onHandshakeStarted();
          else if (e.type === 'handshake-failed') hooks.onGiveUp();
          else if (e.type === 'handshake-flood') log(floodText(e.dropped, e.seconds));
        },
        onFatal: hooks.onFatal,
        onInterface: hooks.onInterface,
      }).then((t) => (newest.tunnel = t));
    },
    applyDns: dnsWithLan({ backend: dns, lanDns: () => store.settings().lanDns, fwmark: UMBRA_FWMARK, log }),
    // An untrusted network forces the kill switch on (trusted networks, network-guard.ts).
    settings: () => withEffectiveLanDns(dns.name, late.networks?.forced ? { ...store.settings(), killSwitch: true } : store.settings()),
    fwmark: UMBRA_FWMARK,
    excluded: () => split.traffic(),
    log,
    now: () => Date.now(),
    onChange: (status) => {
      emit({ type: 'status', status });
      leakHook.checker?.onStatus(status);
    },
    decorate: (status) => {
      const s = leakHook.checker?.exit.decorate(status) ?? status;
      return late.networks?.decorate(s) ?? s;
    },
  });
  late.driver = driver;

  const bootBlock = (s: Settings) => bootSpec({ fwmark: UMBRA_FWMARK, allowLan: s.allowLan });
  /** Network rules under which a network not identified yet may be untrusted: block until it is. */
  const untrustedMayAppear = (s: Settings) => !!s.networks && mayBeUntrusted(s.networks);
  async function syncBootFile(s: Settings): Promise<void> {
    // Lockdown blocks from boot too: the boot block is its first moment. So do network rules
    // that may find the network untrusted: the café's DHCP finishes before the helper starts.
    if (s.killSwitchOnBoot || s.lockdown || untrustedMayAppear(s)) await writeBootRuleset(o.stateDir, bootBlock(s));
    else await removeBootRuleset(o.stateDir);
  }

  function targetFor(id: string): Target {
    const server = store.server(id);
    if (!server) throw new RpcError(ErrorCode.NotFound, `no server "${id}": list them with \`umbra servers\``);
    return { server, config: withUserDns(store.tunnelConfig(id), store.settings().dnsServers) };
  }

  // Trusted networks: this machine's links only, not with an injected runner (the tests' fakes).
  // Made before the resume, so a connection resumed on a network not identified yet is blocked.
  const networks = o.run === undefined ? networkGuard(store, driver, (id) => (store.server(id) ? targetFor(id) : undefined), run, log, emit, (s) => syncBootFile(s)) : undefined;
  late.networks = networks;

  // ---- what the kernel holds (a block left by a crash, or loaded at boot), then resume or hold
  const settings0 = store.settings();
  await syncBootFile(settings0);
  const desired = store.desired();
  const kernel = await owner.readKernel();
  const boot = await readBoot(o.stateDir, o.bootIdPath);
  const resumeId = desired.wantConnected ? desired.serverId : settings0.autoConnect ? settings0.lastServerId : undefined;
  const resume = resumeId !== undefined && store.server(resumeId) !== undefined;
  const plan = planStart({
    resume,
    killSwitchOnBoot: settings0.killSwitchOnBoot,
    newBoot: boot.newBoot,
    kernel,
    stateUnreadable: store.unreadableAtOpen.some((f) => f === STATE_FILE || f === SETTINGS_FILE),
  });
  if (plan.resume) {
    if (!desired.wantConnected) await store.setDesired({ wantConnected: true, serverId: resumeId! });
    if (kernel === 'block') log('found the kill switch in place; resuming the connection under it');
    await driver.dispatch({ type: 'connect', target: targetFor(resumeId!) });
  } else {
    if (plan.hold === 'boot') log('kill switch on boot: blocking traffic until you connect or turn it off');
    else if (plan.hold === 'unreadable-state') log('the state files were unreadable and a block was in place: it stays until you connect or disconnect');
    else if (settings0.lockdown) log('lockdown is on: blocking traffic outside the tunnel until you connect or turn it off');
    else if (networks && untrustedMayAppear(settings0)) log('network rules: blocking until this network is identified');
    else if (kernel !== 'none') log(`removing a firewall table no setting asks for (${kernel})`);
    // With network rules that may find this network untrusted, the block holds from the first
    // moment (a block found in the kernel is replaced, never lifted) until the guard has identified it.
    const hold = plan.hold ?? (networks && untrustedMayAppear(settings0) ? 'untrusted-network' : undefined);
    await driver.dispatch({ type: 'start', ...(hold ? { hold } : {}) });
  }
  await boot.record();
  await networks?.sync();

  const pollMs = o.watchdogMs ?? watchdogMsFromEnv(log);
  // nft monitor watches this machine's ruleset: only with this machine's nft, not an injected runner.
  const rulesetEvents = pollMs === undefined && o.run === undefined ? startRulesetMonitor({ log }) : undefined;
  const watchdog = startWatchdog(firewall, {
    intervalMs: pollMs ?? 1000,
    events: rulesetEvents,
    expected: () => owner.wanted,
    onRestore: (why) => {
      log(`firewall: ${why}; restored it`);
      leakHook.checker?.noteRestore(why);
    },
    onError: (e: Error) => log(`firewall watchdog: ${e.message}`),
    onPresence: (present: boolean) => owner.observe(present),
  });

  // Disconnected under a block of the boot block's shape: a hold, or lockdown.
  const held = () => driver.state.name === 'disconnected' && (driver.state.hold !== undefined || store.settings().lockdown === true);
  const leakChecker = new LeakChecker({
    run,
    status: () => driver.status(),
    settings: () => store.settings(),
    wantsConnection: () => driver.wantsConnection,
    firewall,
    expectedBlock: () => owner.wanted,
    expectedIsBoot: held,
    restoreNow: () => watchdog.checkNow(),
    dns: { backend: dns.name, resolvConfPath: o.resolvConfPath },
    isTunnelDevice: isTunnelDev,
    now: () => Date.now(),
    log,
    exitChanged: () => driver.emit(),
    progress: (progress) => emit({ type: 'leakCheck', progress }),
  });
  leakHook.checker = leakChecker;
  // A connection that came up before the checks existed is measured too.
  leakChecker.exit.onStatus(driver.status());
  // The address without the VPN: looked up now (in the background) when nothing blocks.
  const s0 = driver.status();
  if (s0.state === 'disconnected' && !s0.blocked && !driver.wantsConnection) leakChecker.preVpn.probeSoon();

  const one = serial();
  const handlers: Handlers = {
    version: async () => ({ version: packageVersion(), protocol: PROTOCOL_VERSION }),
    status: async () => driver.status(),
    connect: (p) =>
      one(async () => {
        // The server asked for, else the last one; never one the user did not choose.
        const id = p.serverId ?? store.settings().lastServerId;
        if (!id && store.servers().length === 0) throw new RpcError(ErrorCode.NotFound, 'no servers yet: import your provider\'s WireGuard config first (umbra import FILE)');
        if (!id) throw new RpcError(ErrorCode.NotFound, 'pick a server first: umbra connect SERVER (umbra servers lists them)');
        const target = targetFor(id);
        await driver.connect(target, async () => {
          await store.setDesired({ wantConnected: true, serverId: id });
          if (store.settings().lastServerId !== id) emit({ type: 'settings', settings: await store.updateSettings({ lastServerId: id }) });
        });
        return driver.status();
      }),
    disconnect: () =>
      one(async () => {
        await store.setDesired({ wantConnected: false });
        await driver.dispatch({ type: 'disconnect' });
        return driver.status();
      }),
    listServers: async () => ({ servers: store.servers() }),
    ...importHandlers({ store, emit, one }),
    removeServer: (p) =>
      one(async () => {
        if (driver.wantsConnection && driver.status().server?.id === p.id) {
          throw new RpcError(ErrorCode.Busy, `"${p.id}" is in use: disconnect or switch to another server first`);
        }
        const servers = await store.removeServer(p.id);
        emit({ type: 'servers', servers });
        return { servers };
      }),
    getSettings: async () => store.settings(),
    setSettings: (p) =>
      one(async () => {
        const before = store.settings();
        const refused = lanDnsRefusal(dns.name, p);
        if (refused) throw new RpcError(ErrorCode.Unavailable, refused);
        const after = await store.updateSettings(p);
        const lockdownChanged = Boolean(before.lockdown) !== Boolean(after.lockdown);
        if (before.killSwitchOnBoot !== after.killSwitchOnBoot || before.allowLan !== after.allowLan || lockdownChanged || untrustedMayAppear(before) !== untrustedMayAppear(after)) await syncBootFile(after);
        if (before.killSwitch !== after.killSwitch || before.allowLan !== after.allowLan || lockdownChanged) await driver.dispatch({ type: 'policyChanged' });
        // Other DNS servers: a wanted connection is made again with them (its block lets them through).
        const wanted = driver.state.name === 'disconnected' || driver.state.name === 'disconnecting' ? undefined : driver.state.target.server.id;
        if (wanted && userDnsChanged(before.dnsServers, after.dnsServers)) await driver.dispatch({ type: 'connect', target: targetFor(wanted) });
        // Local network domains leave the target as it was: made again as after a path change (the block held throughout).
        else if (wanted && lanDnsChanged(before.lanDns, after.lanDns)) await driver.dispatch({ type: 'pathChanged' });
        // Turning "on boot" off lifts the boot block it holds.
        if (before.killSwitchOnBoot && !after.killSwitchOnBoot && driver.state.name === 'disconnected' && driver.state.hold === 'boot') await driver.dispatch({ type: 'disconnect' });
        emit({ type: 'settings', settings: after });
        leakChecker.settingsChanged(before, after);
        await networks?.sync();
        return after;
      }),
    setNetwork: (p) =>
      one(async () => {
        if (!networks) throw new RpcError(ErrorCode.Unavailable, 'trusted networks are not available in this helper (it runs with a test runner)');
        return networks.setNetwork(p);
      }),
    // After the commands already queued (a connect still applying its block and DNS), without
    // holding the queue while the checks run.
    leakCheck: () => one(async () => undefined).then(() => leakChecker.run()),
    // Ordinary pings, never marked: the firewall and routes of the moment decide where they go.
    ...latencyHandler({ servers: () => store.servers(), status: () => driver.status(), run, resolve: resolveForPing, now: () => Date.now() }),
    ...serialized(split.handlers(), one),
    subscribe: async () => ({ status: driver.status(), settings: store.settings(), servers: store.servers() }),
  };

  const server = await startIpcServer({
    socketPath: o.socketPath,
    handlers,
    group: o.group,
    log,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    onSubscribers: (n) => driver.setWatched(n > 0),
  });
  // logind says the machine woke: the tunnel hand-shakes now (its clocks would show it at its next
  // tick too). Only the newest tunnel can be up; a stopped one ignores resumed(). Started last, so
  // a failed start leaves no monitor behind; this machine's bus only, not with an injected runner.
  const sleepSignal = o.run === undefined
    ? watchSleepSignal({
      onResume: () => {
        log('logind: resumed from sleep; handshaking now');
        newest.tunnel?.resumed();
      },
      log,
    })
    : undefined;
  late.sleepSignal = sleepSignal;
  log(`serving on ${o.socketPath} (state in ${o.stateDir}, DNS via ${dns.name})`);

  return {
    async stop() {
      sleepSignal?.stop();
      networks?.stop();
      watchdog.stop();
      rulesetEvents?.stop();
      await server.close();
      await driver.shutdown();
      await split.stop();
    },
  };
}

/** The trusted-networks guard over this machine's links, its bus and the state store. */
function networkGuard(
  store: StateStore,
  driver: TunnelDriver,
  targetFor: (id: string) => Target | undefined,
  run: CommandRunner,
  log: (line: string) => void,
  emit: (e: HelperEvent) => void,
  /** After the rules change: the boot block follows whether an untrusted network may appear. */
  rulesSaved: (s: Settings) => Promise<void>,
): NetworkGuard {
  const systemBus = !!process.env.DBUS_SYSTEM_BUS_ADDRESS || existsSync('/run/dbus/system_bus_socket');
  return new NetworkGuard({
    rules: () => store.settings().networks ?? undefined,
    saveRules: async (networks) => {
      const settings = await store.updateSettings({ networks });
      await rulesSaved(settings);
      emit({ type: 'settings', settings });
    },
    driver,
    userWants: () => store.desired().wantConnected,
    target: () => {
      const id = store.desired().serverId ?? store.settings().lastServerId;
      return id === undefined ? undefined : targetFor(id);
    },
    identify: () =>
      identifyNetwork(run, {
        systemBus,
        isTunnelDevice: isTunnelDev,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        leases: leaseFilesOnDisk,
        // A lab's DHCP client keeps its lease files under its own root.
        leaseRoot: process.env.UMBRA_LEASE_ROOT || '/',
      }),
    watch: (w) => watchLinks({ ...w, isTunnelDevice: isTunnelDev, log }),
    log,
  });
}
