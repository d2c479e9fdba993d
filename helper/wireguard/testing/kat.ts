// Known-answer scenarios: drives the Device through the exchanges frozen in
// testdata/kat/vectors.json, which an implementation no one here wrote computed
// (testdata/kat/reference.py, from the whitepaper), and lists every byte that differs. Two
// devices of ours always agree with each other; only vectors from outside catch a construction
// both sides get wrong the same way. Used by kat.test.ts, and by kat-mutations.test.ts, which
// runs kat-main.ts on copies of this folder with planted bugs.
import { fromHex, toHex, utf8 } from '../bytes.js';
import { Device, type DeviceIo } from '../device.js';
import type { Endpoint } from '../peer.js';
import vectors from '../testdata/kat/vectors.json' with { type: 'json' };
import { prefix } from './pair.js';

export type KatVectors = typeof vectors;

/** One compared value: equal when `actual === expected` (bytes as lowercase hex). */
export interface KatCheck {
  name: string;
  expected: string;
  actual: string;
}

const T0 = 1_000_000; // the device's monotonic clock; only differences matter
const SERVER: Endpoint = { host: '198.51.100.1', port: 51820 };

class Checks {
  readonly list: KatCheck[] = [];

  equal(name: string, actual: Uint8Array | string | number | undefined, expected: string | number): void {
    const a = actual === undefined ? '(nothing)' : actual instanceof Uint8Array ? toHex(actual) : String(actual);
    this.list.push({ name, expected: String(expected), actual: a });
  }
}

/**
 * Random bytes from a script: each call must ask for the length of the next entry. The device
 * takes its cookie secret, indices, ephemeral keys, cookie nonces and retransmit jitter from its
 * one `random`, so the script fixes all of them, and a change in what it asks for is a finding.
 */
function scripted(entries: [what: string, bytes: Uint8Array][]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const entry = entries[i++];
    if (!entry) throw new Error(`random(${n}) called after the script's ${entries.length} entries`);
    const [what, bytes] = entry;
    if (bytes.length !== n) throw new Error(`random call ${i} asked for ${n} bytes; the script has the ${what} (${bytes.length})`);
    return bytes.slice();
  };
}

const le32 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
const wallClockMs = (t: { unixSeconds: number; nanoseconds: number }): number => t.unixSeconds * 1000 + t.nanoseconds / 1e6;

interface Recorder extends DeviceIo {
  sent: Uint8Array[];
  delivered: Uint8Array[];
}

function recorder(): Recorder {
  const io: Recorder = {
    sent: [],
    delivered: [],
    sendDatagram: (d) => io.sent.push(d.slice()),
    deliver: (p) => io.delivered.push(p.slice()),
  };
  return io;
}

/** Ticks at each deadline until the device sends something (at most `steps` deadlines). */
function tickUntilSent(device: Device, io: Recorder, steps = 5): Uint8Array | undefined {
  for (let i = 0; i < steps && io.sent.length === 0; i++) {
    const t = device.nextDeadline();
    if (!Number.isFinite(t)) break;
    device.tick(t);
  }
  return io.sent.shift();
}

function transportOf(v: KatVectors, from: 'initiator' | 'responder', counter: number) {
  const t = v.transport.find((x) => x.from === from && x.counter === counter);
  if (!t) throw new Error(`vectors.json has no transport packet ${from} #${counter}`);
  return { message: fromHex(t.message), plaintext: fromHex(t.plaintext), expected: t.message };
}

function initiatorDevice(v: KatVectors, script: [string, Uint8Array][], io: Recorder) {
  const wall = wallClockMs(v.inputs.timestamp);
  const device = new Device({
    privateKey: fromHex(v.inputs.initiatorStaticPrivate),
    io,
    random: scripted([['cookie secret (unused by a client)', new Uint8Array(32)], ...script]),
    now: T0,
    wallClockOffset: wall - T0,
    mtu: v.inputs.mtu,
  });
  const peer = device.addPeer({
    publicKey: fromHex(v.inputs.responderStaticPublic),
    presharedKey: fromHex(v.inputs.presharedKey),
    allowedIPs: [prefix('100.64.0.0/24')],
    endpoint: SERVER,
  }, T0);
  return { device, peer };
}

const firstInitiation = (v: KatVectors): [string, Uint8Array][] => [
  ['initiator index', le32(v.inputs.initiatorIndex)],
  ['initiator ephemeral key', fromHex(v.inputs.initiatorEphemeralPrivate)],
  ['retransmit jitter', new Uint8Array(2)],
];

/** Our device as the initiator: initiation, the reference's response, keys, transport. */
function asInitiator(c: Checks, v: KatVectors): void {
  const io = recorder();
  const { device, peer } = initiatorDevice(v, firstInitiation(v), io);
  c.equal('initiator public key', device.publicKey, v.inputs.initiatorStaticPublic);
  const ping = transportOf(v, 'initiator', 0);
  device.send(ping.plaintext, T0); // queued; starts the handshake
  c.equal('initiation', io.sent.shift(), v.initiation.message);
  device.receive(fromHex(v.response.message), SERVER, T0);
  c.equal('initiator send key', peer.current?.keys.sendKey, v.transportKeys.initiatorSend);
  c.equal('initiator receive key', peer.current?.keys.receiveKey, v.transportKeys.initiatorReceive);
  c.equal('initiator transport #0 (the queued packet)', io.sent.shift(), ping.expected);
  const pong = transportOf(v, 'responder', 0);
  device.receive(pong.message, SERVER, T0);
  c.equal('initiator delivers responder #0', io.delivered.shift(), toHex(pong.plaintext));
  c.equal('initiator transport #1 (keepalive)', tickUntilSent(device, io), transportOf(v, 'initiator', 1).expected);
  device.receive(transportOf(v, 'responder', 1).message, SERVER, T0 + 20_000);
  c.equal('initiator drops', JSON.stringify([...device.drops]), '[]');
}

function responderDevice(v: KatVectors, script: [string, Uint8Array][], io: Recorder, forceUnderLoad: boolean) {
  const device = new Device({
    privateKey: fromHex(v.inputs.responderStaticPrivate),
    io,
    random: scripted(script),
    now: T0,
    wallClockOffset: 0, // a responder never stamps a timestamp
    mtu: v.inputs.mtu,
    forceUnderLoad,
  });
  const peer = device.addPeer({
    publicKey: fromHex(v.inputs.initiatorStaticPublic),
    presharedKey: fromHex(v.inputs.presharedKey),
    allowedIPs: [prefix('100.64.0.2/32')],
    persistentKeepalive: 25, // how this responder comes to send a keepalive
  }, T0);
  const client: Endpoint = { host: v.cookie.sourceAddress, port: v.cookie.sourcePort };
  return { device, peer, client };
}

/** Our device as the responder: the reference's initiation, response, keys, transport. */
function asResponder(c: Checks, v: KatVectors): void {
  const io = recorder();
  const { device, peer, client } = responderDevice(v, [
    ['cookie secret (unused: not under load)', new Uint8Array(32)],
    ['responder index', le32(v.inputs.responderIndex)],
    ['responder ephemeral key', fromHex(v.inputs.responderEphemeralPrivate)],
  ], io, false);
  c.equal('responder public key', device.publicKey, v.inputs.responderStaticPublic);
  device.receive(fromHex(v.initiation.message), client, T0);
  c.equal('response', io.sent.shift(), v.response.message);
  c.equal('responder send key', peer.next?.keys.sendKey, v.transportKeys.responderSend);
  c.equal('responder receive key', peer.next?.keys.receiveKey, v.transportKeys.responderReceive);
  const ping = transportOf(v, 'initiator', 0);
  device.receive(ping.message, client, T0);
  c.equal('responder delivers initiator #0', io.delivered.shift(), toHex(ping.plaintext));
  const pong = transportOf(v, 'responder', 0);
  device.send(pong.plaintext, T0);
  c.equal('responder transport #0', io.sent.shift(), pong.expected);
  device.receive(transportOf(v, 'initiator', 1).message, client, T0 + 10_000);
  c.equal('responder transport #1 (keepalive)', tickUntilSent(device, io), transportOf(v, 'responder', 1).expected);
  c.equal('responder drops', JSON.stringify([...device.drops]), '[]');
}

/** Our responder under load: the cookie reply to the reference's initiation, then its mac2. */
function cookieReplyUnderLoad(c: Checks, v: KatVectors): void {
  const io = recorder();
  const { device, client } = responderDevice(v, [
    ['cookie secret', fromHex(v.cookie.secret)],
    ['cookie reply nonce', fromHex(v.cookie.nonce)],
    ['responder index', le32(v.inputs.responderIndex)],
    ['responder ephemeral key', fromHex(v.inputs.responderEphemeralPrivate)],
  ], io, true);
  c.equal('cookie source bytes', utf8(`${client.host}|${client.port}`), v.cookie.sourceBytes);
  device.receive(fromHex(v.initiation.message), client, T0);
  c.equal('cookie reply', io.sent.shift(), v.cookie.reply);
  // The retry carries mac2 under that cookie: the loaded responder now answers it.
  device.receive(fromHex(v.initiationWithCookie.message), client, T0 + 5_000);
  c.equal('answer to the initiation with mac2 (message type)', io.sent.shift()?.[0], 2);
  c.equal('responder drops under load', JSON.stringify([...device.drops]), JSON.stringify([['cookie-sent', 1]]));
}

/** Our initiator takes the reference's cookie reply and retransmits with mac2. */
function initiationWithCookie(c: Checks, v: KatVectors): void {
  const io = recorder();
  const w = v.initiationWithCookie;
  const { device } = initiatorDevice(v, [
    ...firstInitiation(v),
    ['initiator index of the retry', le32(w.initiatorIndex)],
    ['initiator ephemeral key of the retry', fromHex(w.ephemeralPrivate)],
    ['retransmit jitter', new Uint8Array(2)],
  ], io);
  device.connect(device.peerList()[0]!, T0);
  c.equal('initiation', io.sent.shift(), v.initiation.message);
  device.receive(fromHex(v.cookie.reply), SERVER, T0);
  const retryAt = T0 + wallClockMs(w.timestamp) - wallClockMs(v.inputs.timestamp);
  c.equal('retransmission time (REKEY_TIMEOUT, no jitter)', device.nextDeadline(), retryAt);
  device.tick(retryAt);
  c.equal('initiation with mac2', io.sent.shift(), w.message);
  c.equal('initiator drops', JSON.stringify([...device.drops]), '[]');
}

const SCENARIOS = { asInitiator, asResponder, cookieReplyUnderLoad, initiationWithCookie } as const;
export type KatScenario = keyof typeof SCENARIOS;
const KAT_SCENARIOS = Object.keys(SCENARIOS) as KatScenario[];

/**
 * The checks of one scenario, named `scenario: check`. One that throws keeps the checks made
 * before and adds a failed "threw" check: a broken engine often ends up asking the random script
 * for more than the scenario planned.
 */
export function runScenario(name: KatScenario, v: KatVectors = vectors): KatCheck[] {
  const c = new Checks();
  try {
    SCENARIOS[name](c, v);
  } catch (e) {
    c.equal('threw', e instanceof Error ? e.message : String(e), 'no exception');
  }
  return c.list.map((k) => ({ ...k, name: `${name}: ${k.name}` }));
}

/** Every check that does not hold, over all scenarios. */
export function katMismatches(v: KatVectors = vectors): KatCheck[] {
  return KAT_SCENARIOS.flatMap((name) => runScenario(name, v)).filter((k) => k.actual !== k.expected);
}
