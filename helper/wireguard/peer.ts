// Everything the device keeps about one peer. Logic lives in device.ts; this is the state.
import type { PrefixBits } from '../net/ip.js';
import { wipe } from './bytes.js';
import { CookieJar } from './cookie/cookie-jar.js';
import type { InitiatorState } from './noise/handshake.js';
import type { Keypair } from './session/keypair.js';
import { PeerTimers } from './timers/peer-timers.js';

/** Where a peer is reached: opaque to the protocol, compared by host and port. */
export interface Endpoint {
  host: string;
  port: number;
}

export interface PeerOptions {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  allowedIPs: PrefixBits[];
  /** Seconds; 0 or absent: off. */
  persistentKeepalive?: number;
}

export interface PeerStats {
  rxBytes: number;
  txBytes: number;
  /** Time (the device's clock) of the last completed handshake, or undefined. */
  lastHandshakeAt: number | undefined;
}

export class Peer {
  readonly publicKey: Uint8Array;
  readonly presharedKey: Uint8Array | undefined;
  readonly cookieJar: CookieJar;
  readonly timers: PeerTimers;
  endpoint: Endpoint | undefined;
  /** DH(our static private, peer static public), fixed for the peer's lifetime. */
  staticShared: Uint8Array;

  /** Our initiation waiting for its response. */
  pendingInitiation: InitiatorState | undefined;
  lastInitiationSentAt = -Infinity;
  /** The greatest TAI64N accepted from this peer's initiations (replay protection, §5.1). */
  greatestTimestamp: Uint8Array = new Uint8Array(12);
  lastInitiationConsumedAt = -Infinity;

  previous: Keypair | undefined;
  current: Keypair | undefined;
  /** The responder's new keypair, used once the initiator's first data confirms it (§5.4.6). */
  next: Keypair | undefined;

  /** Packets waiting for a session. */
  queue: Uint8Array[] = [];
  readonly stats: PeerStats = { rxBytes: 0, txBytes: 0, lastHandshakeAt: undefined };

  constructor(opts: PeerOptions, staticShared: Uint8Array) {
    this.publicKey = opts.publicKey.slice();
    this.presharedKey = opts.presharedKey?.slice();
    this.endpoint = opts.endpoint;
    this.staticShared = staticShared;
    this.cookieJar = new CookieJar(opts.publicKey);
    this.timers = new PeerTimers(opts.persistentKeepalive ?? 0);
  }

  keypairs(): Keypair[] {
    return [this.previous, this.current, this.next].filter((k): k is Keypair => k !== undefined);
  }

  /** Erases the handshake in flight and every session key. */
  /** Erases the session keys, and the pending initiation's unless `keepPending` (one just sent). */
  wipeKeys(keepPending = false): void {
    for (const k of this.keypairs()) k.wipe();
    this.previous = this.current = this.next = undefined;
    if (!keepPending) this.dropPendingInitiation();
  }

  /** Forgets the initiation in flight, zeroing its ephemeral private key and chaining key first. */
  dropPendingInitiation(): void {
    if (this.pendingInitiation) wipe(this.pendingInitiation.ephemeralPrivate, this.pendingInitiation.chainingKey);
    this.pendingInitiation = undefined;
  }

  wipeAll(): void {
    this.wipeKeys();
    wipe(this.staticShared, this.presharedKey);
    this.queue = [];
  }
}
