// The helper daemon: the one owner of the tunnel, the firewall, DNS and the settings that affect
// them. It composes the state store, the connection state machine, the kill switch and DNS, and
// serves them over the IPC socket. Every state change is pushed to subscribers as it happens.
import { readFileSync } from 'node:fs';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { UMBRA_FWMARK, UMBRA_TABLE } from '../platform/routing/constants.js';
import { Firewall, startWatchdog, type KillSwitchSpec } from '../platform/firewall/firewall.js';
import { bootSpec, writeBootRuleset, removeBootRuleset } from '../platform/firewall/boot.js';
import { chooseDnsBackend } from '../platform/dns/choose.js';
import { StateStore } from './store/state-store.js';
import { Connection, type ConnectTarget } from './connection.js';
import { lanPrefixes, PRIVATE_PREFIXES } from './lan.js';
import { removeStaleRules } from './cleanup.js';
import { startIpcServer } from '../ipc/server.js';
import { ErrorCode, PROTOCOL_VERSION, RpcError, type Handlers, type HelperEvent, type Settings } from '../ipc/schema.js';
import { resolveEndpoint } from '../tunnel/endpoints.js';
import { Tunnel } from '../tunnel/tunnel.js';
import { LeakChecker } from '../leakcheck/leak-check.js';

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  resolvConfPath: string;
  dnsMode: 'auto' | 'resolv-conf' | 'resolved';
  /** The group whose members may use the socket. */
  group: string;
  log: (line: string) => void;
  run?: CommandRunner;
  /** The kill-switch watchdog's interval; default env UMBRA_WATCHDOG_MS, else 1000 ms (tests set it high to catch a tampered table). */
  watchdogMs?: number;
}

export interface Daemon {
  /** Stops serving; the tunnel goes, a kill-switch block stays (fail closed). */
  stop(): Promise<void>;
}

const isTunnelDev = (dev: string) => dev.startsWith('umbra');

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Runs one task at a time, in order: the user's commands must not interleave. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const next = tail.then(task, task);
    tail = next.catch(() => undefined);
    return next;
  };
}

/** UMBRA_WATCHDOG_MS, when it is a positive number; else 1000. */
function watchdogMsFromEnv(log: (line: string) => void): number {
  const raw = process.env.UMBRA_WATCHDOG_MS;
  if (raw === undefined || raw === '') return 1000;
  const ms = Number(raw);
  if (Number.isFinite(ms) && ms > 0) {
    log(`kill switch watchdog: every ${ms} ms (UMBRA_WATCHDOG_MS)`);
    return ms;
  }
  log(`ignoring UMBRA_WATCHDOG_MS=${raw}: not a positive number of milliseconds`);
  return 1000;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const run = o.run ?? systemRunner;
  const log = o.log;
  const store = await StateStore.open(o.stateDir, log);
  const dns = await chooseDnsBackend({ mode: o.dnsMode, resolvConfPath: o.resolvConfPath, stateDir: o.stateDir, run });
  if ('recover' in dns && typeof dns.recover === 'function' && (await dns.recover())) log(`restored ${o.resolvConfPath} left behind by an earlier run`);
  const stale = await removeStaleRules(run, UMBRA_FWMARK, UMBRA_TABLE);
  if (stale > 0) log(`removed ${stale} routing rule(s) left behind by an earlier run`);

  const listeners = new Set<(e: HelperEvent) => void>();
  const emit = (e: HelperEvent) => {
    for (const l of listeners) l(e);
  };
  const firewall = new Firewall(run);
  /** The block we last put in the kernel; the watchdog restores exactly this. */
  let expectedBlock: KillSwitchSpec | undefined;
  /** The leak checks, once they exist: told every status (they look up the address without the VPN) and every repair. */
  const leakHook: { checker?: LeakChecker } = {};

  const connection = new Connection(
    {
      resolve: (ep) => resolveEndpoint(ep),
      startTunnel: (cfg, hooks) =>
        Tunnel.start(cfg, {
          onEvent: (e) => {
            if (e.type === 'handshake-complete') hooks.onHandshake();
            else if (e.type === 'handshake-failed') hooks.onGiveUp();
          },
          onFatal: hooks.onFatal,
        }),
      applyBlock: async (spec) => {
        await firewall.apply(spec);
        expectedBlock = spec;
      },
      removeBlock: async () => {
        expectedBlock = undefined;
        await firewall.remove();
      },
      applyDns: (cfg) => dns.apply(cfg),
      lanPrefixes: () => lanPrefixes(run, isTunnelDev),
      fwmark: UMBRA_FWMARK,
      log,
      now: () => Date.now(),
    },
    () => ({ killSwitch: store.settings().killSwitch, allowLan: store.settings().allowLan }),
    (status) => {
      emit({ type: 'status', status });
      leakHook.checker?.onStatus(status);
    },
  );

  const bootBlock = (s: Settings): KillSwitchSpec => bootSpec({ fwmark: UMBRA_FWMARK, lanPrefixes: s.allowLan ? PRIVATE_PREFIXES : [] });
  async function syncBootFile(s: Settings): Promise<void> {
    if (s.killSwitchOnBoot) await writeBootRuleset(o.stateDir, bootBlock(s));
    else await removeBootRuleset(o.stateDir);
  }

  async function targetFor(id: string): Promise<ConnectTarget> {
    const server = store.server(id);
    if (!server) throw new RpcError(ErrorCode.NotFound, `no server "${id}": list them with \`umbra servers\``);
    return { server, config: store.tunnelConfig(id) };
  }

  // ---- adopt what the kernel holds (fail closed after a crash; the boot block), then resume
  const settings0 = store.settings();
  await syncBootFile(settings0);
  const desired = store.desired();
  if (await firewall.isPresent()) {
    if (desired.wantConnected || settings0.killSwitchOnBoot) {
      connection.adoptBlock();
      expectedBlock = settings0.killSwitchOnBoot && !desired.wantConnected ? bootBlock(settings0) : undefined;
      log(desired.wantConnected ? 'found the kill switch in place; resuming the connection' : 'kill switch on boot is blocking traffic until you connect or turn it off');
    } else {
      await firewall.remove();
      log('removed a kill-switch table no setting asks for');
    }
  }
  const resumeId = desired.wantConnected ? desired.serverId : settings0.autoConnect ? settings0.lastServerId : undefined;
  if (resumeId && store.server(resumeId)) {
    if (!desired.wantConnected) await store.setDesired({ wantConnected: true, serverId: resumeId });
    await connection.connect(await targetFor(resumeId));
  }

  const watchdog = startWatchdog(firewall, {
    intervalMs: o.watchdogMs ?? watchdogMsFromEnv(log),
    expected: () => expectedBlock,
    onRestore: (why) => {
      log(`kill switch: ${why}; restored it`);
      leakHook.checker?.noteRestore(why);
    },
    onError: (e: Error) => log(`kill switch watchdog: ${e.message}`),
    onPresence: (present: boolean) => connection.setFirewallPresent(present),
  });

  const leakChecker = new LeakChecker({
    run,
    status: () => connection.status(),
    settings: () => store.settings(),
    wantsConnection: () => connection.wantsConnection,
    firewall,
    expectedBlock: () => expectedBlock,
    expectedIsBoot: () => expectedBlock !== undefined && !connection.wantsConnection,
    restoreNow: () => watchdog.checkNow(),
    dns: { backend: dns.name, resolvConfPath: o.resolvConfPath },
    isTunnelDevice: isTunnelDev,
    now: () => Date.now(),
    log,
  });
  leakHook.checker = leakChecker;
  // The address without the VPN: looked up now (in the background) when nothing blocks.
  const s0 = connection.status();
  if (s0.state === 'disconnected' && !s0.blocked && !connection.wantsConnection) leakChecker.preVpn.probeSoon();

  const one = serial();
  const handlers: Handlers = {
    version: async () => ({ version: packageVersion(), protocol: PROTOCOL_VERSION }),
    status: async () => connection.status(),
    connect: (p) =>
      one(async () => {
        const id = p.serverId ?? store.settings().lastServerId ?? store.servers()[0]?.id;
        if (!id) throw new RpcError(ErrorCode.NotFound, 'no servers yet: import your provider\'s WireGuard config first (umbra import FILE)');
        const target = await targetFor(id);
        await store.setDesired({ wantConnected: true, serverId: id });
        if (store.settings().lastServerId !== id) emit({ type: 'settings', settings: await store.updateSettings({ lastServerId: id }) });
        await connection.connect(target);
        return connection.status();
      }),
    disconnect: () =>
      one(async () => {
        await store.setDesired({ wantConnected: false });
        await connection.disconnect();
        expectedBlock = undefined;
        return connection.status();
      }),
    listServers: async () => ({ servers: store.servers() }),
    importConfig: (p) =>
      one(async () => {
        const server = await store.importConfig(p.text, p.name);
        emit({ type: 'servers', servers: store.servers() });
        return { server };
      }),
    removeServer: (p) =>
      one(async () => {
        if (connection.wantsConnection && connection.status().server?.id === p.id) {
          throw new RpcError(ErrorCode.Busy, `"${p.id}" is in use: disconnect or switch to another server first`);
        }
        const servers = await store.removeServer(p.id);
        emit({ type: 'servers', servers });
        return { servers };
      }),
    loadCatalog: (p) =>
      one(async () => {
        await store.loadCatalogFrom(p);
        const servers = store.servers();
        emit({ type: 'servers', servers });
        return { servers };
      }),
    getSettings: async () => store.settings(),
    setSettings: (p) =>
      one(async () => {
        const before = store.settings();
        const after = await store.updateSettings(p);
        if (before.killSwitchOnBoot !== after.killSwitchOnBoot || before.allowLan !== after.allowLan) await syncBootFile(after);
        if (before.killSwitch !== after.killSwitch || before.allowLan !== after.allowLan) await connection.policyChanged();
        // Turning "on boot" off lifts a boot block when the user is not connecting.
        if (before.killSwitchOnBoot && !after.killSwitchOnBoot && !connection.wantsConnection && connection.hasBlock) {
          expectedBlock = undefined;
          await connection.disconnect();
        }
        emit({ type: 'settings', settings: after });
        leakChecker.settingsChanged(before, after);
        return after;
      }),
    // After the commands already queued (a connect still applying its block and DNS), without
    // holding the queue while the checks run.
    leakCheck: () => one(async () => undefined).then(() => leakChecker.run()),
    subscribe: async () => ({ status: connection.status(), settings: store.settings(), servers: store.servers() }),
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
  });
  log(`serving on ${o.socketPath} (state in ${o.stateDir}, DNS via ${dns.name})`);

  return {
    async stop() {
      watchdog.stop();
      await server.close();
      await connection.shutdown();
    },
  };
}
