// The WireGuard device: a static identity, its peers, and the rules that move packets between
// the tunnel side (plain IP packets) and the network side (datagrams). Pure: every input comes
// with the time, every output goes through the injected `io`; nothing thrown by bad input
// escapes, and a packet that does not authenticate changes nothing.
import type { PrefixBits } from '../net/ip.js';
import { AllowedIps } from './allowed-ips.js';
import { constantTimeEqual, readU32LE, toBase64 } from './bytes.js';
import {
  FLOOD_REPORT_EVERY,
  HANDSHAKES_PER_BATCH,
  HANDSHAKES_PER_SOURCE_PER_SECOND,
  MAX_QUEUED_HANDSHAKES,
  MAX_QUEUED_PACKETS,
  REKEY_ON_RECEIVE_AGE,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  UNDER_LOAD_AFTER,
  UNDER_LOAD_HANDSHAKES_PER_SECOND,
} from './constants.js';
import { CookieChecker } from './cookie/cookie-checker.js';
import { nobleAead, type Aead, AEAD_TAG_LENGTH } from './crypto/aead.js';
import { FloodReport, HandshakeBudget, type HandshakeBudgetLimits, type HandshakeLane } from './handshake-budget.js';
import { assertKey, generateKeyPair, nobleCurve, publicKeyOf, type Curve25519 } from './crypto/primitives.js';
import { ipInfo } from './ip-packet.js';
import { COOKIE_REPLY_SIZE, parseCookieReply } from './messages/cookie-reply.js';
import { INITIATION_SIZE, parseInitiation } from './messages/handshake-initiation.js';
import { RESPONSE_SIZE, parseResponse } from './messages/handshake-response.js';
import { TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE, parseTransportHeader, transportSize, writeTransportHeader } from './messages/transport-data.js';
import { MessageType, messageTypeOf } from './messages/types.js';
import { consumeInitiation, consumeResponse, createInitiation, createResponse } from './noise/handshake.js';
import { isAfter, tai64n } from './noise/tai64n.js';
import { Peer, type Endpoint, type PeerOptions } from './peer.js';
import { Keypair } from './session/keypair.js';
import type { TimerAction } from './timers/peer-timers.js';

export type { Endpoint, PeerOptions } from './peer.js';

export type EngineEvent =
  | { type: 'handshake-initiated'; peer: Peer }
  | { type: 'handshake-complete'; peer: Peer; role: 'initiator' | 'responder' }
  | { type: 'handshake-failed'; peer: Peer; reason: string }
  | { type: 'keys-zeroed'; peer: Peer }
  /** Handshake messages dropped over the handshake budget (a flood) since the last such event. */
  | { type: 'handshake-flood'; dropped: number; seconds: number };

export interface DeviceIo {
  /** Sends a datagram to a peer's endpoint. */
  sendDatagram(data: Uint8Array, to: Endpoint): void;
  /**
   * Optional: memory for a transport datagram of `size` bytes about to be sent to `to` (e.g. a
   * slice of the send batch's buffer, valid until that batch is sent). The device writes every
   * byte of it. Without it, each datagram is a new array.
   */
  datagram?(size: number, to: Endpoint): Uint8Array;
  /** Hands a decrypted IP packet to the tunnel interface. */
  deliver(packet: Uint8Array): void;
  onEvent?(event: EngineEvent): void;
}

export interface DeviceOptions {
  privateKey: Uint8Array;
  io: DeviceIo;
  /** Cryptographically secure random bytes. */
  random: (n: number) => Uint8Array;
  /** The device's clock at creation (any monotonic millisecond clock). */
  now: number;
  /** Wall-clock milliseconds minus the monotonic clock, for TAI64N timestamps. */
  wallClockOffset: number;
  aead?: Aead;
  /** X25519 (noble unless a faster one is given). */
  curve?: Curve25519;
  mtu?: number;
  /** Forces "under load" (cookie replies) regardless of the handshake rate; for tests and ops. */
  forceUnderLoad?: boolean;
  /** The handshake budget's rates (handshake-budget.ts); the defaults suit a client. */
  handshakeLimits?: HandshakeBudgetLimits;
}

/** Why a datagram was dropped; counted, never thrown. */
export type DropReason =
  | 'malformed' | 'bad-mac1' | 'cookie-sent' | 'unauthenticated' | 'replay' | 'stale-timestamp'
  | 'unknown-index' | 'expired' | 'not-allowed-ip' | 'no-route' | 'no-endpoint' | 'rate-limited' | 'bad-inner-packet'
  /** A handshake message over the handshake budget, dropped before any crypto. */
  | 'handshake-flood';

/** A handshake message that passed the cheap checks and waits for its turn (see receiveBatched). */
interface QueuedHandshake {
  type: MessageType;
  lane: HandshakeLane;
  d: Uint8Array;
  from: Endpoint;
}

export class Device {
  readonly publicKey: Uint8Array;
  readonly mtu: number;
  readonly drops = new Map<DropReason, number>();
  private readonly privateKey: Uint8Array;
  private readonly io: DeviceIo;
  private readonly random: (n: number) => Uint8Array;
  private readonly aead: Aead;
  private readonly curve: Curve25519;
  private readonly wallClockOffset: number;
  private readonly cookies: CookieChecker;
  private readonly peers = new Map<string, Peer>();
  private readonly routes = new AllowedIps<Peer>();
  /** Local index → the peer, and the keypair when the index belongs to a session. */
  private readonly indices = new Map<number, { peer: Peer; keypair?: Keypair }>();
  private handshakeTimes: number[] = [];
  private underLoadUntil = -Infinity;
  private readonly forceUnderLoad: boolean;
  private readonly sourceHandshakes = new Map<string, { at: number; count: number }>();
  private readonly budget: HandshakeBudget;
  private readonly floodReport = new FloodReport(FLOOD_REPORT_EVERY);
  /** Waiting handshake messages: the server's (expected, cookie, peer lanes) go before strangers'. */
  private ownQueue: QueuedHandshake[] = [];
  private strangerQueue: QueuedHandshake[] = [];

  constructor(o: DeviceOptions) {
    assertKey(o.privateKey, 'private key');
    this.privateKey = o.privateKey.slice();
    this.curve = o.curve ?? nobleCurve;
    this.publicKey = publicKeyOf(this.privateKey, this.curve);
    this.io = o.io;
    this.random = o.random;
    this.aead = o.aead ?? nobleAead;
    this.mtu = o.mtu ?? 1420;
    this.wallClockOffset = o.wallClockOffset;
    this.forceUnderLoad = o.forceUnderLoad ?? false;
    this.cookies = new CookieChecker(this.publicKey, o.random, o.now);
    this.budget = new HandshakeBudget(o.now, o.handshakeLimits);
  }

  // ---------------------------------------------------------------- peers

  addPeer(opts: PeerOptions, now: number): Peer {
    assertKey(opts.publicKey, 'peer public key');
    if (opts.presharedKey) assertKey(opts.presharedKey, 'preshared key');
    const id = toBase64(opts.publicKey);
    if (this.peers.has(id)) throw new Error(`peer ${id} is already configured`);
    if (constantTimeEqual(opts.publicKey, this.publicKey)) throw new Error('a peer cannot have the device\'s own public key');
    const ss = this.curve.dh(this.privateKey, opts.publicKey);
    if (!ss) throw new Error(`peer ${id} has an invalid public key`);
    const peer = new Peer(opts, ss);
    for (const p of opts.allowedIPs) this.routes.insert(p, peer);
    peer.timers.setPersistentKeepalive(opts.persistentKeepalive ?? 0, now);
    this.peers.set(id, peer);
    return peer;
  }

  removePeer(peer: Peer): void {
    this.peers.delete(toBase64(peer.publicKey));
    this.routes.removeValue(peer);
    for (const [i, e] of this.indices) if (e.peer === peer) this.indices.delete(i);
    peer.timers.stop();
    peer.wipeAll();
  }

  peerList(): Peer[] {
    return [...this.peers.values()];
  }

  allowedIpsOf(peer: Peer): PrefixBits[] {
    return this.routes.entriesOf(peer);
  }

  /** Starts a handshake now (e.g. at connect), instead of waiting for the first packet. */
  connect(peer: Peer, now: number): void {
    this.initiate(peer, now, false);
  }

  /** Erases every key and forgets every peer. */
  close(): void {
    for (const p of this.peers.values()) this.removePeer(p);
    this.privateKey.fill(0);
  }

  // ---------------------------------------------------------------- tunnel side

  /** An IP packet read from the tunnel interface, to encrypt and send to its peer. */
  send(packet: Uint8Array, now: number): void {
    const info = ipInfo(packet);
    if (!info) return this.drop('bad-inner-packet');
    const peer = this.routes.lookup(info.family, packet, info.dstOffset);
    if (!peer) return this.drop('no-route');
    if (!peer.endpoint) return this.drop('no-endpoint');
    const kp = peer.current;
    if (kp && kp.canSend(now) && peer.queue.length === 0) {
      this.sendTransport(peer, kp, packet, now);
      if (kp.needsRekeyAfterSend(now)) this.initiate(peer, now, false);
      return;
    }
    this.enqueue(peer, packet);
    if (kp && kp.canSend(now)) this.flush(peer, now);
    else this.initiate(peer, now, false);
  }

  // ---------------------------------------------------------------- network side

  /**
   * A datagram received from `from`. Never throws. Transport data may be decrypted in place (see
   * Aead.openInPlace): `d` is not kept, but its bytes may be overwritten.
   */
  receive(d: Uint8Array, from: Endpoint, now: number): void {
    this.take(d, from, now, false);
  }

  /**
   * As receive, for a datagram of a receive batch: transport data is handled at once, a handshake
   * message only checked cheaply (type, size, index, budget), copied and queued; runHandshakes()
   * after the batch's transport data does the crypto. So handshakes never delay data.
   */
  receiveBatched(d: Uint8Array, from: Endpoint, now: number, openedWith?: Uint8Array, authentic = false): void {
    this.take(d, from, now, true, openedWith, authentic);
  }

  /**
   * For opening a receive batch's transport data in one go before receiveBatched: the key that
   * transport datagram `d` would be opened with now, or undefined where receive would drop it
   * unopened (not transport data, unknown index, expired, replayed). Changes nothing. The caller
   * opens the payload (after the 16-byte header) in place with this key and the header's counter,
   * then passes the key as `openedWith` and whether it authenticated as `authentic`.
   */
  openingKey(d: Uint8Array, now: number): Uint8Array | undefined {
    if (messageTypeOf(d) !== MessageType.TransportData || d.length < TRANSPORT_MIN_SIZE) return undefined;
    const { receiver, counter } = parseTransportHeader(d);
    const kp = this.indices.get(receiver)?.keypair;
    if (!kp || kp.isExpired(now) || !kp.replay.check(counter)) return undefined;
    return kp.keys.receiveKey;
  }

  /** Handles queued handshake messages, at most `max` of them (the rest wait for the next call). */
  runHandshakes(now: number, max = HANDSHAKES_PER_BATCH): void {
    let left = max;
    for (const which of ['ownQueue', 'strangerQueue'] as const) {
      const q = this[which];
      if (q.length === 0 || left === 0) continue;
      const batch = q.length <= left ? q : q.slice(0, left);
      this[which] = batch === q ? [] : q.slice(left);
      left -= batch.length;
      for (const h of batch) this.guarded(() => this.handshake(h.type, h.lane, h.d, h.from, now));
    }
  }

  /** Handshake messages dropped over the handshake budget so far (for status: "N dropped (flood)"). */
  get handshakeFloodDrops(): number {
    return this.drops.get('handshake-flood') ?? 0;
  }

  /** Handshake messages waiting for runHandshakes. */
  get queuedHandshakes(): number {
    return this.ownQueue.length + this.strangerQueue.length;
  }

  private take(d: Uint8Array, from: Endpoint, now: number, defer: boolean, openedWith?: Uint8Array, authentic = false): void {
    this.guarded(() => {
      const type = messageTypeOf(d);
      if (type === MessageType.TransportData) return this.receiveTransport(d, from, now, openedWith, authentic);
      if (type === 0) return this.drop('malformed');
      const lane = this.laneOf(type, d, from);
      if (lane === undefined) return;
      // Strangers' queue is bounded here; the other lanes' by their buckets.
      if (defer && lane === 'stranger' && this.strangerQueue.length >= MAX_QUEUED_HANDSHAKES) return this.dropFlood(now);
      // Before any crypto: a flood costs its own lane's tokens and then nothing but this check.
      if (!this.budget.admit(lane, now)) return this.dropFlood(now);
      if (!defer) return this.handshake(type, lane, d, from, now);
      (lane === 'stranger' ? this.strangerQueue : this.ownQueue).push({ type, lane, d: d.slice(), from });
    });
  }

  private guarded(f: () => void): void {
    try {
      f();
    } catch {
      // Parsers throw only on lengths checked before; anything else is a bug we refuse to let a
      // remote sender turn into a crash.
      this.drop('malformed');
    }
  }

  /**
   * The lane of a handshake message from what costs nothing to read (its size and indices), or
   * undefined when that alone rules it out (then it is counted as dropped).
   */
  private laneOf(type: MessageType, d: Uint8Array, from: Endpoint): HandshakeLane | undefined {
    switch (type) {
      case MessageType.HandshakeInitiation:
        if (d.length !== INITIATION_SIZE) return this.dropped('malformed');
        return this.isPeerEndpoint(from) ? 'peer' : 'stranger';
      case MessageType.HandshakeResponse: {
        if (d.length !== RESPONSE_SIZE) return this.dropped('malformed');
        // Only an answer to our pending initiation is worth a look.
        const receiver = parseResponse(d).receiver;
        const entry = this.indices.get(receiver);
        if (!entry || entry.keypair || entry.peer.pendingInitiation?.localIndex !== receiver) return this.dropped('unknown-index');
        return 'expected';
      }
      case MessageType.CookieReply:
        if (d.length !== COOKIE_REPLY_SIZE) return this.dropped('malformed');
        if (!this.awaitingCookie(parseCookieReply(d).receiver)) return this.dropped('unknown-index');
        return 'cookie';
      default:
        return this.dropped('malformed');
    }
  }

  private handshake(type: MessageType, lane: HandshakeLane, d: Uint8Array, from: Endpoint, now: number): void {
    switch (type) {
      case MessageType.HandshakeInitiation:
        return this.receiveInitiation(d, from, now, lane);
      case MessageType.HandshakeResponse:
        return this.receiveResponse(d, from, now);
      case MessageType.CookieReply:
        return this.receiveCookieReply(d, now);
      default:
        return this.drop('malformed');
    }
  }

  private isPeerEndpoint(from: Endpoint): boolean {
    for (const p of this.peers.values()) if (p.endpoint && p.endpoint.port === from.port && p.endpoint.host === from.host) return true;
    return false;
  }

  // ---------------------------------------------------------------- timers

  tick(now: number): void {
    this.runHandshakes(now);
    for (const peer of this.peers.values()) {
      for (const action of peer.timers.due(now)) this.onTimer(peer, action, now);
    }
  }

  /** The earliest time `tick` has something to do. */
  nextDeadline(): number {
    let t = Infinity;
    for (const p of this.peers.values()) t = Math.min(t, p.timers.nextDeadline());
    return t;
  }

  private onTimer(peer: Peer, action: TimerAction, now: number): void {
    switch (action) {
      case 'retransmit-handshake':
        return this.initiate(peer, now, true);
      case 'give-up-handshake':
        peer.queue = [];
        peer.dropPendingInitiation();
        this.io.onEvent?.({ type: 'handshake-failed', peer, reason: 'no response from the peer' });
        return;
      case 'send-keepalive':
      case 'persistent-keepalive':
        return this.sendKeepalive(peer, now);
      case 'new-handshake':
        return this.initiate(peer, now, false);
      case 'probe-handshake':
        this.initiate(peer, now, false);
        // Too soon after the last initiation: probe again once one is allowed (a handshake under
        // way has its own retries).
        if (!peer.timers.handshakeInProgress) peer.timers.probeAgainAt(peer.lastInitiationSentAt + REKEY_TIMEOUT);
        return;
      case 'zero-keys': {
        // An initiation sent within REKEY_TIMEOUT is not the old session's: after a long sleep a
        // packet can start one before the first tick erases the old keys. Keep it (and its index),
        // or its answer would be dropped and the handshake wait for the retransmit.
        const fresh = peer.pendingInitiation !== undefined && now - peer.lastInitiationSentAt < REKEY_TIMEOUT;
        this.forgetIndices(peer, fresh ? peer.pendingInitiation!.localIndex : undefined);
        peer.wipeKeys(fresh);
        this.io.onEvent?.({ type: 'keys-zeroed', peer });
        return;
      }
    }
  }

  // ---------------------------------------------------------------- handshake

  /** Sends an initiation, at most one per REKEY_TIMEOUT unless it is the timer's retry. */
  private initiate(peer: Peer, now: number, retry: boolean): void {
    if (!peer.endpoint) return;
    if (!retry && (peer.timers.handshakeInProgress || now - peer.lastInitiationSentAt < REKEY_TIMEOUT)) return;
    if (peer.pendingInitiation) this.indices.delete(peer.pendingInitiation.localIndex);
    peer.dropPendingInitiation(); // the one it replaces: its secrets go now, not at GC
    const localIndex = this.newIndex(peer);
    const created = createInitiation({
      local: { privateKey: this.privateKey, publicKey: this.publicKey },
      peerPublicKey: peer.publicKey,
      staticShared: peer.staticShared,
      localIndex,
      ephemeral: generateKeyPair(this.random, this.curve),
      timestamp: tai64n(now + this.wallClockOffset),
      aead: this.aead,
      curve: this.curve,
    });
    if (!created) return;
    peer.pendingInitiation = created.state;
    peer.cookieJar.stamp(created.message, now);
    peer.lastInitiationSentAt = now;
    const r = this.random(2);
    peer.timers.handshakeInitiated(now, ((r[0]! << 8) | r[1]!) % (REKEY_TIMEOUT_JITTER_MAX + 1));
    this.io.sendDatagram(created.message, peer.endpoint);
    peer.timers.anyAuthenticatedSent(now);
    this.io.onEvent?.({ type: 'handshake-initiated', peer });
  }

  /**
   * mac1 always; when under load also mac2 on an initiation, answering a missing one with a cookie
   * reply (at a capped rate). A response to our own pending initiation is let through without
   * mac2: its lane is budgeted on its own, and a cookie round trip would cost a REKEY_TIMEOUT.
   */
  private admitHandshake(d: Uint8Array, sender: number, from: Endpoint, now: number, lane: HandshakeLane): boolean {
    if (!this.cookies.checkMac1(d)) {
      this.drop('bad-mac1');
      return false;
    }
    if (!this.isUnderLoad(now) || lane === 'expected') return true;
    const source = `${from.host}|${from.port}`;
    if (!this.cookies.checkMac2(d, source, now)) {
      if (!this.budget.cookieReply(lane, now)) {
        this.dropFlood(now);
        return false;
      }
      this.io.sendDatagram(this.cookies.reply(d, sender, source, now), from);
      this.drop('cookie-sent');
      return false;
    }
    // With a valid cookie the source address is real; still cap how often it may make us work.
    const s = this.sourceHandshakes.get(from.host);
    if (s && now - s.at < 1000) {
      if (++s.count > HANDSHAKES_PER_SOURCE_PER_SECOND) {
        this.drop('rate-limited');
        return false;
      }
    } else {
      this.sourceHandshakes.set(from.host, { at: now, count: 1 });
    }
    return true;
  }

  private isUnderLoad(now: number): boolean {
    if (this.forceUnderLoad) return true;
    this.handshakeTimes.push(now);
    while (this.handshakeTimes.length > 0 && now - this.handshakeTimes[0]! > 1000) this.handshakeTimes.shift();
    if (this.handshakeTimes.length > UNDER_LOAD_HANDSHAKES_PER_SECOND) this.underLoadUntil = now + UNDER_LOAD_AFTER;
    if (this.sourceHandshakes.size > 4096) this.sourceHandshakes.clear();
    return now < this.underLoadUntil;
  }

  private receiveInitiation(d: Uint8Array, from: Endpoint, now: number, lane: HandshakeLane): void {
    if (d.length !== INITIATION_SIZE) return this.drop('malformed');
    const sender = parseInitiation(d).sender;
    if (!this.admitHandshake(d, sender, from, now, lane)) return;
    const local = { privateKey: this.privateKey, publicKey: this.publicKey };
    const consumed = consumeInitiation(local, d, (pk) => this.peers.get(toBase64(pk))?.staticShared, this.aead, this.curve);
    if (!consumed) return this.drop('unauthenticated');
    const peer = this.peers.get(toBase64(consumed.peerPublicKey))!;
    if (!isAfter(consumed.timestamp, peer.greatestTimestamp)) return this.drop('stale-timestamp');
    // A flood of valid but replayed-in-order initiations still must not make us spin (§5.1).
    if (now - peer.lastInitiationConsumedAt < 20) return this.drop('rate-limited');

    const localIndex = this.newIndex(peer);
    const response = createResponse({
      initiation: consumed,
      localIndex,
      ephemeral: generateKeyPair(this.random, this.curve),
      presharedKey: peer.presharedKey,
      aead: this.aead,
      curve: this.curve,
    });
    if (!response) {
      this.indices.delete(localIndex);
      return this.drop('unauthenticated');
    }
    peer.greatestTimestamp = consumed.timestamp;
    peer.lastInitiationConsumedAt = now;
    peer.endpoint = from;
    const kp = new Keypair(response.keys, localIndex, consumed.remoteIndex, false, now);
    if (peer.next) this.retire(peer.next);
    peer.next = kp;
    this.indices.set(localIndex, { peer, keypair: kp });
    peer.cookieJar.stamp(response.message, now);
    this.io.sendDatagram(response.message, from);
    peer.timers.anyAuthenticatedReceived(now);
    peer.timers.anyAuthenticatedSent(now);
    peer.timers.handshakeComplete(now);
    peer.stats.lastHandshakeAt = now;
    this.io.onEvent?.({ type: 'handshake-complete', peer, role: 'responder' });
  }

  private receiveResponse(d: Uint8Array, from: Endpoint, now: number): void {
    if (d.length !== RESPONSE_SIZE) return this.drop('malformed');
    const m = parseResponse(d);
    if (!this.admitHandshake(d, m.sender, from, now, 'expected')) return;
    const entry = this.indices.get(m.receiver);
    const peer = entry?.peer;
    const state = peer?.pendingInitiation;
    if (!peer || entry.keypair || !state || state.localIndex !== m.receiver) return this.drop('unknown-index');
    const done = consumeResponse(state, this.privateKey, peer.presharedKey, d, this.aead, this.curve);
    if (!done) return this.drop('unauthenticated');
    const kp = new Keypair(done.keys, state.localIndex, done.remoteIndex, true, now);
    peer.dropPendingInitiation();
    this.indices.set(state.localIndex, { peer, keypair: kp });
    // The initiator uses its new keypair at once; the old current becomes previous.
    if (peer.next) this.retire(peer.next);
    peer.next = undefined;
    if (peer.previous) this.retire(peer.previous);
    peer.previous = peer.current;
    peer.current = kp;
    peer.endpoint = from;
    peer.timers.anyAuthenticatedReceived(now);
    peer.timers.handshakeComplete(now);
    peer.stats.lastHandshakeAt = now;
    this.io.onEvent?.({ type: 'handshake-complete', peer, role: 'initiator' });
    // Confirm the session to the responder: with queued data if any, else a keepalive.
    if (peer.queue.length > 0) this.flush(peer, now);
    else this.sendKeepalive(peer, now);
  }

  private receiveCookieReply(d: Uint8Array, now: number): void {
    if (d.length !== COOKIE_REPLY_SIZE) return this.drop('malformed');
    const m = parseCookieReply(d);
    // Again: a queued reply may have waited past its handshake's answer, or behind its twin.
    const peer = this.awaitingCookie(m.receiver);
    if (!peer) return this.drop('unknown-index');
    if (!peer.cookieJar.consume(m, now)) this.drop('unauthenticated');
  }

  /**
   * The peer a cookie reply to local index `receiver` may be for, or undefined. A cookie reply
   * answers a handshake message we sent that was refused under load (§5.4.7), so only the index of
   * one still awaiting its answer qualifies: our pending initiation's, or that of a response whose
   * session the initiator has not yet confirmed. A session's index is on every transport packet,
   * so an on-path sender knows it; replies to it would otherwise each cost an open.
   */
  private awaitingCookie(receiver: number): Peer | undefined {
    const entry = this.indices.get(receiver);
    if (!entry) return undefined;
    const { peer, keypair } = entry;
    const awaited = keypair ? keypair === peer.next : peer.pendingInitiation?.localIndex === receiver;
    return awaited && peer.cookieJar.awaitsReplyTo(receiver) ? peer : undefined;
  }

  // ---------------------------------------------------------------- transport

  private receiveTransport(d: Uint8Array, from: Endpoint, now: number, openedWith: Uint8Array | undefined, authentic: boolean): void {
    if (d.length < TRANSPORT_MIN_SIZE) return this.drop('malformed');
    const { receiver, counter } = parseTransportHeader(d);
    const entry = this.indices.get(receiver);
    const kp = entry?.keypair;
    if (!entry || !kp) return this.drop('unknown-index');
    if (kp.isExpired(now)) return this.drop('expired');
    if (!kp.replay.check(counter)) return this.drop('replay');
    // In place where the backend can: the datagram is not needed once it has authenticated.
    const sealed = d.subarray(TRANSPORT_HEADER_SIZE);
    let plain: Uint8Array | null;
    if (openedWith === undefined) {
      plain = this.aead.openInPlace ? this.aead.openInPlace(kp.keys.receiveKey, counter, sealed) : this.aead.open(kp.keys.receiveKey, counter, sealed, undefined);
    } else {
      // Opened ahead (see openingKey). Only with this index's key now counts: the batch may have
      // retired that session since, and the bytes cannot be opened twice.
      plain = authentic && openedWith === kp.keys.receiveKey ? sealed.subarray(0, sealed.length - AEAD_TAG_LENGTH) : null;
    }
    if (!plain) return this.drop('unauthenticated');
    if (!kp.replay.accept(counter)) return this.drop('replay');
    const peer = entry.peer;
    if (kp === peer.next) {
      // The initiator's first data confirms the responder's new session (§5.4.6).
      if (peer.previous) this.retire(peer.previous);
      peer.previous = peer.current;
      peer.current = kp;
      peer.next = undefined;
      if (peer.queue.length > 0) this.flush(peer, now);
    }
    peer.endpoint = from;
    peer.stats.rxBytes += d.length;
    peer.timers.anyAuthenticatedReceived(now);
    if (kp.initiator && kp === peer.current && now - kp.createdAt >= REKEY_ON_RECEIVE_AGE) this.initiate(peer, now, false);
    if (plain.length === 0) return; // keepalive
    const info = ipInfo(plain);
    if (!info) return this.drop('bad-inner-packet');
    if (this.routes.lookup(info.family, plain, info.srcOffset) !== peer) return this.drop('not-allowed-ip');
    peer.timers.dataReceived(now);
    this.io.deliver(info.length === plain.length ? plain : plain.subarray(0, info.length));
  }

  private sendTransport(peer: Peer, kp: Keypair, packet: Uint8Array, now: number): void {
    const size = transportSize(packet.length, this.mtu);
    const out = this.io.datagram ? this.io.datagram(size, peer.endpoint!) : new Uint8Array(size);
    const counter = kp.sendCounter++;
    writeTransportHeader(out, kp.remoteIndex, counter);
    this.aead.seal(kp.keys.sendKey, counter, packet, size - TRANSPORT_HEADER_SIZE - AEAD_TAG_LENGTH, undefined, out, TRANSPORT_HEADER_SIZE);
    this.io.sendDatagram(out, peer.endpoint!);
    peer.stats.txBytes += size;
    peer.timers.anyAuthenticatedSent(now);
    if (packet.length > 0) peer.timers.dataSent(now);
  }

  private sendKeepalive(peer: Peer, now: number): void {
    const kp = peer.current;
    if (!peer.endpoint) return;
    if (kp && kp.canSend(now)) {
      this.sendTransport(peer, kp, new Uint8Array(0), now);
      // Keepalives keep keys fresh too, so a tunnel idle but for keepalives rekeys on time.
      if (kp.needsRekeyAfterSend(now)) this.initiate(peer, now, false);
    } else {
      this.initiate(peer, now, false);
    }
  }

  private enqueue(peer: Peer, packet: Uint8Array): void {
    if (peer.queue.length >= MAX_QUEUED_PACKETS) peer.queue.shift();
    peer.queue.push(packet.slice());
  }

  private flush(peer: Peer, now: number): void {
    const kp = peer.current;
    if (!kp) return;
    const queue = peer.queue;
    peer.queue = [];
    for (const p of queue) {
      if (!kp.canSend(now)) {
        peer.queue.push(p);
        continue;
      }
      this.sendTransport(peer, kp, p, now);
    }
    if (kp.needsRekeyAfterSend(now) || peer.queue.length > 0) this.initiate(peer, now, false);
  }

  // ---------------------------------------------------------------- bookkeeping

  private newIndex(peer: Peer): number {
    for (;;) {
      const i = readU32LE(this.random(4), 0);
      if (!this.indices.has(i)) {
        this.indices.set(i, { peer });
        return i;
      }
    }
  }

  private retire(kp: Keypair): void {
    this.indices.delete(kp.localIndex);
    kp.wipe();
  }

  private forgetIndices(peer: Peer, keep?: number): void {
    for (const [i, e] of this.indices) if (e.peer === peer && i !== keep) this.indices.delete(i);
  }

  private drop(reason: DropReason): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  /** drop() for laneOf, which says "ruled out" by returning undefined. */
  private dropped(reason: DropReason): undefined {
    this.drop(reason);
    return undefined;
  }

  /** A handshake message over the budget; now and then the io hears how many there were. */
  private dropFlood(now: number): void {
    this.drop('handshake-flood');
    const r = this.floodReport.drop(now);
    if (r) this.io.onEvent?.({ type: 'handshake-flood', dropped: r.dropped, seconds: r.seconds });
  }
}
