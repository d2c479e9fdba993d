// A running tunnel: the WireGuard device wired to a TUN interface, UDP sockets, routes and a
// timer. Start makes every system change through a ChangeSet; stop (or a failed start) undoes
// them in reverse, so nothing Umbra added is left behind.
import type dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { WgQuickConfig } from '../config/wg-quick.js';
import { systemRunner, type CommandRunner } from '../platform/exec.js';
import { UMBRA_FWMARK, UMBRA_TABLE } from '../platform/routing/constants.js';
import { applyTunnelRouting } from '../platform/routing/routes.js';
import { openTun as openSystemTun, type TunDevice } from '../platform/tun/tun-device.js';
import { openUdpSocket as openSystemUdp, type UdpSocketOptions } from '../platform/udp/marked-socket.js';
import { ChangeSet } from '../platform/undo.js';
import { Device, type EngineEvent, type Endpoint } from '../wireguard/device.js';
import type { Aead } from '../wireguard/crypto/aead.js';
import type { Peer } from '../wireguard/peer.js';
import { resolveEndpoint, systemResolver, type Resolver } from './endpoints.js';
import { nodeAead } from './node-aead.js';

export const DEFAULT_MTU = 1420;
/** How often the protocol's timers are checked; its finest deadline is REKEY_TIMEOUT's jitter. */
const TICK_MS = 50;

export interface TunnelDeps {
  openTun(name: string): TunDevice;
  openUdpSocket(opts: UdpSocketOptions): Promise<dgram.Socket>;
  run: CommandRunner;
  resolve: Resolver;
  /** A monotonic clock in milliseconds. */
  now(): number;
  random(n: number): Uint8Array;
}

export const systemDeps: TunnelDeps = {
  openTun: openSystemTun,
  openUdpSocket: openSystemUdp,
  run: systemRunner,
  resolve: systemResolver,
  now: () => performance.now(),
  random: (n) => new Uint8Array(randomBytes(n)),
};

export interface TunnelOptions {
  /** Interface name or template; 'umbra%d' by default. */
  interfaceName?: string;
  fwmark?: number;
  table?: number;
  aead?: Aead;
  onEvent?: (e: EngineEvent) => void;
  /** Called when the data path hits an error it cannot recover from (e.g. the TUN went away). */
  onFatal?: (e: Error) => void;
}

export class Tunnel {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    readonly device: Device,
    readonly interfaceName: string,
    private readonly changes: ChangeSet,
    private readonly deps: TunnelDeps,
  ) {}

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

    const tun = deps.openTun(opts.interfaceName ?? 'umbra%d');
    changes.add(`TUN ${tun.name}`, () => tun.close());

    // One socket per family in use. A listening (responder) config takes both, on its port.
    const listenPort = cfg.interface.listenPort ?? 0;
    const families = new Set<4 | 6>(endpoints.filter((e) => e !== undefined).map((e) => e.family));
    if (cfg.interface.listenPort) families.add(4).add(6);
    families.add(4);
    const sockets = new Map<4 | 6, dgram.Socket>();
    for (const family of families) {
      try {
        const s = await deps.openUdpSocket({ family, mark: fwmark, port: listenPort });
        changes.add(`UDP socket (IPv${family})`, () => new Promise<void>((r) => s.close(() => r())));
        sockets.set(family, s);
      } catch (e) {
        // IPv6 may be off on this machine; that only matters when an endpoint needs it.
        if (family === 6 && !endpoints.some((x) => x?.family === 6)) continue;
        throw e;
      }
    }

    const io = {
      sendDatagram(data: Uint8Array, to: Endpoint) {
        const s = sockets.get(to.host.includes(':') ? 6 : 4);
        s?.send(data, to.port, to.host);
      },
      deliver(packet: Uint8Array) {
        tun.write(packet);
      },
      onEvent: opts.onEvent,
    };
    const now = deps.now();
    const device = new Device({
      privateKey: cfg.interface.privateKey,
      io,
      random: deps.random,
      now,
      wallClockOffset: Date.now() - now,
      aead: opts.aead ?? nodeAead,
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

    await applyTunnelRouting(deps.run, changes, {
      dev: tun.name,
      addresses: cfg.interface.addresses,
      mtu,
      allowedIPs: cfg.peers.flatMap((p) => p.allowedIPs),
      fwmark,
      table,
    });

    const tunnel = new Tunnel(device, tun.name, changes, deps);
    tun.onError((e) => opts.onFatal?.(e));
    tun.onPackets((packets) => {
      const t = deps.now();
      for (const p of packets) device.send(p, t);
    });
    for (const s of sockets.values()) {
      s.on('message', (msg, rinfo) => device.receive(msg, { host: rinfo.address, port: rinfo.port }, deps.now()));
      s.on('error', (e) => opts.onFatal?.(e));
    }
    tunnel.timer = setInterval(() => device.tick(deps.now()), TICK_MS);
    for (const peer of peers) if (peer.endpoint) device.connect(peer, deps.now());
    return tunnel;
  }

  /** Stops traffic and undoes every system change, newest first. Returns the undos that failed. */
  async stop(): Promise<Error[]> {
    if (this.stopped) return [];
    this.stopped = true;
    clearInterval(this.timer);
    return this.changes.undoAll();
  }

  /** Traffic and handshake figures of the first peer (the server), with times as epoch ms. */
  peerStatus(): TunnelPeerStatus {
    const peer = this.device.peerList()[0];
    const toEpoch = (t: number | undefined) => (t === undefined ? undefined : t - this.deps.now() + Date.now());
    return {
      rxBytes: peer?.stats.rxBytes ?? 0,
      txBytes: peer?.stats.txBytes ?? 0,
      lastHandshakeAt: toEpoch(peer?.stats.lastHandshakeAt),
      handshakeFailingSince: toEpoch(peer?.timers.handshakeAttemptSince),
    };
  }

  /** Starts a fresh handshake with every peer that has an endpoint (e.g. after giving up). */
  rehandshake(): void {
    for (const peer of this.device.peerList()) if (peer.endpoint) this.device.connect(peer, this.deps.now());
  }
}

export interface TunnelPeerStatus {
  rxBytes: number;
  txBytes: number;
  lastHandshakeAt: number | undefined;
  /** Set while initiations go unanswered (since the first of the series). */
  handshakeFailingSince: number | undefined;
}
