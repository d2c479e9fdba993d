// A running tunnel: the WireGuard device wired to a TUN interface, UDP sockets, routes and a
// timer. Start makes every system change through a ChangeSet; stop (or a failed start) undoes
// them in reverse, so nothing Umbra added is left behind.
//
// The data path works in batches: a TUN read gives many packets (the kernel's TCP offloads hand
// over 64 KiB at a time, cut into segments by the addon), they are all encrypted, and the
// datagrams leave in one sendmmsg (with UDP GSO); received datagrams come in by recvmmsg, and
// their packets go to the TUN together (a TCP flow's segments joined into one). Start sends the
// handshake initiation while the routes are still being applied (by `ip` in another process),
// so the two overlap.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { WgQuickConfig } from '../config/wg-quick.js';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { addonIpLibrary, withIpLibrary } from '../platform/routing/ip-library.js';
import { EXCLUDED_FWMARK, UMBRA_FWMARK, UMBRA_TABLE } from '../platform/routing/constants.js';
import { carriesNoIpv6, kernelHasIpv6 } from '../platform/routing/ipv6-off.js';
import { applyTunnelRouting } from '../platform/routing/routes.js';
import { openTun as openSystemTun, type TunDevice } from '../platform/tun/tun-device.js';
import { openBatchUdpSocket, type BatchUdpSocket } from '../platform/udp/batch-socket.js';
import type { UdpSocketOptions } from '../platform/udp/udp-options.js';
import { ChangeSet } from '../platform/undo.js';
import { Device, type EngineEvent, type Endpoint } from '../wireguard/device.js';
import { type Aead } from '../wireguard/crypto/aead.js';
import type { Peer } from '../wireguard/peer.js';
import { resolveEndpoint, systemResolver, type Resolver } from './endpoints.js';
import { linkState } from './link-state.js';
import { pathMtuShortfall, type PathMtuShortfall } from './path-mtu.js';
import { bootClock, EpochOffset } from './clock.js';
import { SleepDetector } from './sleep-detector.js';
import { systemCurve } from './node-x25519.js';
import { systemAead } from './aead-choice.js';
import { AeadBatch, loadAeadBatchAddon } from './aead-batch.js';
import { ReceiveBatch } from './receive-batch.js';

const DEFAULT_MTU = 1420;
/**
 * The longest the tunnel sleeps when the engine has no deadline sooner: how soon the clocks alone
 * show a suspend (logind tells at once where it runs). Otherwise it wakes only when a protocol
 * timer is due, not on a fixed tick: a connected, idle laptop stays asleep.
 */
export const CLOCK_CHECK_MS = 1000;
/** Never re-armed sooner than this: a deadline that stays due cannot make the timer spin. */
const MIN_SLEEP_MS = 5;

export interface TunnelDeps {
  /** The data path's TUN, read and written in batches (with the kernel's TCP offloads). */
  openTun(name: string): TunDevice;
  /** The data path's batched UDP (native recvmmsg/sendmmsg, with GSO). */
  openUdpSocket(opts: UdpSocketOptions): BatchUdpSocket;
  /** The MTU and up state of an interface, read from the kernel (saves one `ip` process). */
  linkState?(name: string): { mtu: number; up: boolean };
  /** Whether the kernel has IPv6 (absent: a tunnel's TUN is left as the kernel makes it). */
  kernelHasIpv6?(): boolean;
  run: CommandRunner;
  resolve: Resolver;
  /** The protocol's clock in milliseconds: monotonic, and counting time suspended (CLOCK_BOOTTIME), so key ages are true after a sleep. */
  now(): number;
  /** A clock that stops while the machine sleeps (CLOCK_MONOTONIC); with it, a resume starts a handshake at once. */
  awake?(): number;
  /** Called once per tick before the clocks are read (the test seam re-reads its skew there; see clock.ts). */
  refreshClock?(): void;
  random(n: number): Uint8Array;
}

const protocolClock = bootClock();

const systemDeps: TunnelDeps = {
  openTun: (name) => openSystemTun(name),
  openUdpSocket: openBatchUdpSocket,
  linkState,
  kernelHasIpv6,
  // The routing's `ip` changes go through rtnetlink in this process (the first packet waits for them).
  run: withIpLibrary(systemRunner, addonIpLibrary(), (why) => console.error(`umbrad: running ip as a process: ${why}`)),
  resolve: systemResolver,
  now: () => protocolClock.now(),
  refreshClock: () => protocolClock.refresh(),
  awake: () => performance.now(),
  random: (n) => new Uint8Array(randomBytes(n)),
};

export interface TunnelOptions {
  /** Interface name or template; 'umbra%d' by default. */
  interfaceName?: string;
  fwmark?: number;
  table?: number;
  /** The native addon's (OpenSSL) by default, node:crypto's when the addon lacks it. */
  aead?: Aead;
  onEvent?: (e: EngineEvent) => void;
  /** Called when the data path hits an error it cannot recover from (e.g. the TUN went away). */
  onFatal?: (e: Error) => void;
  /**
   * The TUN exists (its name is known) and the handshake is out, the routes are still being made:
   * the caller's work for the interface (the firewall that lets it out) runs beside the routing,
   * and start() returns once both are done. It must not reject.
   */
  onInterface?: (name: string) => Promise<void>;
  /**
   * The longest sleep with no protocol deadline due (CLOCK_CHECK_MS by default): longer where
   * something else tells of a resume (logind, through `resumed()`), so an idle tunnel wakes less.
   */
  clockCheckMs?: number;
}

export class Tunnel {
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (the protocol's clock), Infinity when none is armed. */
  private wakeAt = Infinity;
  private stopped = false;
  private readonly sleep = new SleepDetector();
  private readonly epoch: EpochOffset;

  private constructor(
    readonly device: Device,
    readonly interfaceName: string,
    private readonly changes: ChangeSet,
    private readonly deps: TunnelDeps,
    private readonly sockets: readonly BatchUdpSocket[],
    private readonly clockCheckMs = CLOCK_CHECK_MS,
  ) {
    // The clocks' gap now, so a suspend before the first tick is seen by it.
    if (deps.awake) this.sleep.observe(deps.now(), deps.awake());
    this.epoch = new EpochOffset(() => Date.now(), () => deps.now());
  }

  static async start(cfg: WgQuickConfig, opts: TunnelOptions = {}, deps: TunnelDeps = systemDeps): Promise<Tunnel> {
    if (cfg.peers.length === 0) throw new Error('the config has no [Peer]: add the server\'s [Peer] section');
    const changes = new ChangeSet();
    try {
      return await Tunnel.build(cfg, opts, deps, changes);
    } catch (e) {
      await changes.undoAll();
      throw e;
    }
  }

  private static async build(cfg: WgQuickConfig, opts: TunnelOptions, deps: TunnelDeps, changes: ChangeSet): Promise<Tunnel> {
    const endpoints = await Promise.all(cfg.peers.map((p) => (p.endpoint ? resolveEndpoint(p.endpoint, deps.resolve) : undefined)));
    const mtu = cfg.interface.mtu ?? DEFAULT_MTU;
    const fwmark = opts.fwmark ?? cfg.interface.fwmark ?? UMBRA_FWMARK;
    const table = opts.table ?? UMBRA_TABLE;

    const name = opts.interfaceName ?? 'umbra%d';
    const tun = deps.openTun(name);
    changes.add(`TUN ${tun.name}`, () => tun.close());

    // Addresses, routes and rules are applied (through rtnetlink) from here on, while this process
    // computes and sends the handshake (the first packet through needs both). Whatever happens
    // below, the routing is waited for before returning or undoing.
    let before: { mtu: number; up: boolean } | undefined;
    try {
      before = deps.linkState?.(tun.name);
    } catch {
      before = undefined; // routing reads it with `ip` instead
    }
    const routing = applyTunnelRouting(deps.run, changes, {
      dev: tun.name,
      addresses: cfg.interface.addresses,
      mtu,
      allowedIPs: cfg.peers.flatMap((p) => p.allowedIPs),
      fwmark,
      table,
      // Split tunnelling's rule, always (without excluded apps nothing carries the mark): an app
      // excluded while connected needs no change to the routes.
      excludedMark: EXCLUDED_FWMARK,
      // An IPv4-only tunnel: no link-local address, so no solicitations into it.
      noLinkLocal: carriesNoIpv6(cfg.interface.addresses, cfg.peers.flatMap((p) => p.allowedIPs)) && (deps.kernelHasIpv6?.() ?? false),
    }, before).then(() => undefined, (e: unknown) => e as Error);
    // The handshake may complete before the routes are in place; its events are held back until
    // start() has returned, so that "handshake complete" still means "up", as it did.
    const held: EngineEvent[] = [];
    let holding = true;
    const onEvent = opts.onEvent && ((e: EngineEvent) => (holding ? held.push(e) : opts.onEvent!(e)));
    try {
      const tunnel = Tunnel.startDataPath(cfg, { ...opts, onEvent }, deps, changes, tun, endpoints, mtu, fwmark);
      const [failed] = await Promise.all([routing, opts.onInterface?.(tun.name)]);
      if (failed) throw failed;
      setImmediate(() => {
        holding = false;
        for (const e of held.splice(0)) opts.onEvent?.(e);
      });
      return tunnel;
    } catch (e) {
      await routing;
      throw e;
    }
  }

  private static startDataPath(
    cfg: WgQuickConfig,
    opts: TunnelOptions,
    deps: TunnelDeps,
    changes: ChangeSet,
    tun: TunDevice,
    endpoints: (Endpoint & { family: 4 | 6 } | undefined)[],
    mtu: number,
    fwmark: number,
  ): Tunnel {
    // One socket per family in use. A listening (responder) config takes both, on its port.
    const listenPort = cfg.interface.listenPort ?? 0;
    const families = new Set<4 | 6>(endpoints.filter((e) => e !== undefined).map((e) => e.family));
    if (cfg.interface.listenPort) families.add(4).add(6);
    families.add(4);
    const sockets = new Map<4 | 6, BatchUdpSocket>();
    for (const family of families) {
      try {
        const o = { family, mark: fwmark, port: listenPort };
        const s = deps.openUdpSocket(o);
        changes.add(`UDP socket (IPv${family})`, () => s.close());
        sockets.set(family, s);
      } catch (e) {
        // IPv6 may be off on this machine; that only matters when an endpoint needs it.
        if (family === 6 && !endpoints.some((x) => x?.family === 6)) continue;
        throw e;
      }
    }
    const s4 = sockets.get(4);
    const s6 = sockets.get(6);

    // Decrypted packets of one receive batch, written to the TUN together when it ends.
    const toTun: Uint8Array[] = [];
    let receiving = false;
    let batchTime = 0;
    const writeTun = (): void => {
      if (toTun.length === 0) return;
      try {
        if (!tun.closed) tun.writeBatch(toTun);
      } catch (e) {
        opts.onFatal?.(e as Error);
      }
      toTun.length = 0;
    };
    const io = {
      sendDatagram(data: Uint8Array, to: Endpoint) {
        (to.host.includes(':') ? s6 : s4)?.send(data, to);
      },
      datagram(size: number, to: Endpoint) {
        return (to.host.includes(':') ? s6 : s4)?.allocate(size) ?? new Uint8Array(size);
      },
      deliver(packet: Uint8Array) {
        toTun.push(packet);
        if (!receiving) writeTun();
      },
      onEvent: opts.onEvent,
    };
    // Transport crypto a batch at a time where the addon can (aead-batch.ts): the sockets run the
    // deferred seals before sending, and the receive path opens a batch's data in one call.
    const direct = opts.aead ?? systemAead().aead;
    const batchAddon = opts.aead === undefined && systemAead().backend === 'openssl' ? loadAeadBatchAddon() : undefined;
    const batchAead = batchAddon && new AeadBatch(batchAddon, direct);
    if (batchAead) {
      for (const s of sockets.values()) s.runBeforeFlush(() => batchAead.run());
      changes.add('batch AEAD', () => batchAead.discard());
    }
    const now = deps.now();
    const device = new Device({
      privateKey: cfg.interface.privateKey,
      io,
      random: deps.random,
      now,
      wallClockOffset: Date.now() - now,
      // The fastest backend this Node has (the one status and --version report).
      aead: batchAead?.aead ?? direct,
      curve: systemCurve(),
      mtu,
    });
    changes.add('WireGuard device', () => device.close());
    const peers: Peer[] = cfg.peers.map((p, i) =>
      device.addPeer({
        publicKey: p.publicKey,
        presharedKey: p.presharedKey,
        endpoint: endpoints[i] && { host: endpoints[i].host, port: endpoints[i].port },
        allowedIPs: p.allowedIPs,
        persistentKeepalive: p.persistentKeepalive,
      }, now),
    );

    const tunnel = new Tunnel(device, tun.name, changes, deps, [...sockets.values()], opts.clockCheckMs);
    tun.onError((e) => opts.onFatal?.(e));
    tun.onPackets((packets) => {
      const t = deps.now();
      for (const p of packets) device.send(p, t);
      tunnel.arm(); // sending may have set a timer (keepalive, a handshake, the quiet probe)
    });
    const held = batchAead && new ReceiveBatch(device, batchAead);
    for (const s of sockets.values()) {
      s.onDatagrams(
        (d, from) => {
          if (!receiving) {
            receiving = true;
            batchTime = deps.now();
          }
          // Handshake messages are only pre-checked here; their crypto waits for the batch's data.
          if (held) held.add(d, from);
          else device.receiveBatched(d, from, batchTime);
        },
        () => {
          held?.finish(batchTime);
          receiving = false;
          writeTun();
          device.runHandshakes(batchTime);
          tunnel.arm();
        },
      );
      s.onError((e) => opts.onFatal?.(e));
    }
    changes.add('timer', () => clearTimeout(tunnel.timer));
    for (const peer of peers) if (peer.endpoint) device.connect(peer, deps.now());
    tunnel.arm();
    return tunnel;
  }

  /** The system says it woke from a suspend (logind): what a tick does when the clocks show one. */
  resumed(): void {
    this.tick(true);
  }

  /** The protocol's timers; after a suspend (the clocks show it, or `resumed`), a handshake at once. */
  private tick(resumed = false): void {
    if (this.stopped) return;
    this.deps.refreshClock?.();
    const now = this.deps.now();
    const slept = this.deps.awake !== undefined && this.sleep.observe(now, this.deps.awake());
    // Timers first: after a long sleep they erase yesterday's keys, and with them any initiation
    // sent before in this same tick, whose answer would then be dropped.
    this.device.tick(now);
    // The server's session is likely gone (or a NAT forgot us): ask for a new one now.
    if (slept || resumed) for (const peer of this.device.peerList()) if (peer.endpoint) this.device.connect(peer, now);
    this.arm();
  }

  /** Arms the one timer for the engine's next deadline (at most CLOCK_CHECK_MS away), unless one as early is armed. */
  private arm(): void {
    if (this.stopped) return;
    const now = this.deps.now();
    const due = this.device.queuedHandshakes > 0 ? now : this.device.nextDeadline();
    const at = Math.min(due, now + this.clockCheckMs);
    if (this.timer !== undefined && this.wakeAt <= at) return;
    clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wakeAt = Infinity;
      this.tick();
    }, Math.max(MIN_SLEEP_MS, Math.ceil(at - now)));
  }

  /** Stops traffic and undoes every system change, newest first. Returns the undos that failed. */
  async stop(): Promise<Error[]> {
    if (this.stopped) return [];
    this.stopped = true;
    clearTimeout(this.timer);
    return this.changes.undoAll();
  }

  /** Traffic and handshake figures of the first peer (the server), with times as epoch ms. */
  peerStatus(): TunnelPeerStatus {
    const peer = this.device.peerList()[0];
    const toEpoch = (t: number | undefined) => (t === undefined ? undefined : this.epoch.toEpoch(t));
    return {
      rxBytes: peer?.stats.rxBytes ?? 0,
      txBytes: peer?.stats.txBytes ?? 0,
      lastHandshakeAt: toEpoch(peer?.stats.lastHandshakeAt),
      handshakeFailingSince: toEpoch(peer?.timers.handshakeAttemptSince),
      quietSince: toEpoch(peer?.timers.quietSince),
      pathMtuFragmented: this.sockets.reduce((n, s) => n + s.pathMtu().fragmented, 0),
      handshakeFloodDropped: this.device.handshakeFloodDrops,
    };
  }

  /**
   * What the kernel knows of the path to the server's endpoint, when it is below the tunnel's
   * packets. Apart from peerStatus(), which the health check reads often: this asks the kernel.
   */
  pathMtu(): PathMtuShortfall | undefined {
    const to = this.device.peerList()[0]?.endpoint;
    const family = to && (to.host.includes(':') ? 6 : 4);
    const socket = family && this.sockets.find((s) => s.family === family);
    let routeMtu = 0;
    try {
      routeMtu = socket ? socket.routeMtu(to) : 0;
    } catch {
      // Only a figure for the status line: status itself must always answer.
    }
    return family ? pathMtuShortfall(this.device.mtu, family, routeMtu) : undefined;
  }

  /** Starts a fresh handshake with every peer that has an endpoint (e.g. after giving up). */
  rehandshake(): void {
    for (const peer of this.device.peerList()) if (peer.endpoint) this.device.connect(peer, this.deps.now());
    this.arm();
  }
}

export interface TunnelPeerStatus {
  rxBytes: number;
  txBytes: number;
  lastHandshakeAt: number | undefined;
  /** Set while initiations go unanswered (since the first of the series). */
  handshakeFailingSince: number | undefined;
  /** Set while data we sent has had no reply (since the first such packet). */
  quietSince?: number | undefined;
  /** Datagrams sent one by one, fragmented, because the path MTU is below them (see PathMtuStats). */
  pathMtuFragmented?: number;
  /** Handshake messages dropped over the engine's handshake budget (a flood), since the tunnel started. */
  handshakeFloodDropped?: number;
}
