// Leak capture on the lab router: tcpdump in the inet namespace on the client-facing veth (to-c)
// keeps every frame the client sends — selected by the client's MAC address, so a packet with any
// source address counts (a tunnel-inner 100.64.x.x sent in the clear is caught too) — written as
// pcap to a pipe and parsed by pcap.ts.
//
// Start: resolves once tcpdump has said "listening on" (the socket and its filter are in place).
// Flush: a marker — a UDP broadcast from the router (198.51.100.1 → 198.51.100.255:9, payload a
// random token) — goes out on to-c; the capture waits until it sees that marker, so everything the
// client sent before the call has been read. The client ignores the marker (no listener on port 9,
// and the kernel never answers a broadcast with an ICMP error), and it is not returned.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { onPath } from './probes.js';
import { nsArgv, sleep, terminate, type ProcessTracker } from './proc.js';
import { findLeaks, parsePcap, type AllowedEndpoint, type CapturedPacket } from './pcap.js';


export interface CaptureOptions {
  /** An extra pcap filter expression, ANDed with "sent by the client". */
  filter?: string;
  /** Bytes kept of each frame (headers suffice; default 256). */
  snaplen?: number;
}

export interface Capture {
  ns: string;
  interface: string;
  /** tcpdump's pid. */
  pid: number;
  readonly running: boolean;
  /** Everything the client sent so far, up to this call (waits for the flush marker). */
  snapshot(): Promise<CapturedPacket[]>;
  /** Flushes, stops tcpdump and returns every packet the client sent since startCapture. Idempotent. */
  stop(): Promise<CapturedPacket[]>;
  /**
   * The packets so far (all of them after stop()) that are leaks: not traffic to one of `allowed`
   * (UDP unless an endpoint says otherwise) and not link control (see isLinkControl in pcap.ts).
   */
  leaks(allowed: AllowedEndpoint[]): CapturedPacket[];
}

export interface CaptureContext {
  tracker: ProcessTracker;
  /** Where tcpdump runs (the router) and the interface facing the client there. */
  ns: string;
  iface: string;
  /** The client's namespace and interface: their MAC selects the client's frames. */
  clientNs: string;
  clientIface: string;
  /** The router's address on the client link and that link's broadcast address (for the marker). */
  markerFrom: string;
  markerTo: string;
}

const MARKER_PORT = 9;
const READY_TIMEOUT_MS = 5000;
const FLUSH_TIMEOUT_MS = 5000;

/** Whether startCapture can work here (tcpdump installed, root), and why not. */
export function captureAvailable(): { ok: true } | { ok: false; reason: string } {
  if (!onPath('tcpdump')) return { ok: false, reason: 'tcpdump is not installed (Debian package tcpdump)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root' };
  return { ok: true };
}

async function macOf(ctx: CaptureContext, ns: string, iface: string): Promise<string> {
  const r = await ctx.tracker.run(nsArgv(ns, ['ip', '-j', 'link', 'show', 'dev', iface]));
  const mac = r.code === 0 ? (JSON.parse(r.stdout) as { address?: string }[])[0]?.address : undefined;
  if (!mac || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw new Error(`no MAC address for ${iface} in ${ns}: ${r.stderr.trim()}`);
  return mac;
}

const SEND_MARKER = `
const s = require('node:dgram').createSocket('udp4');
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.bind({ address: process.argv[1] }, () => {
  s.setBroadcast(true);
  s.send(Buffer.from(process.argv[3]), ${MARKER_PORT}, process.argv[2], (e) => { if (e) { console.error(e.message); process.exit(1); } s.close(); });
});`;

export async function startCapture(ctx: CaptureContext, opts: CaptureOptions = {}): Promise<Capture> {
  const avail = captureAvailable();
  if (!avail.ok) throw new Error(`packet capture unavailable: ${avail.reason}`);
  const [clientMac, routerMac] = await Promise.all([macOf(ctx, ctx.clientNs, ctx.clientIface), macOf(ctx, ctx.ns, ctx.iface)]);
  const fromClient = opts.filter ? `(ether src ${clientMac} and (${opts.filter}))` : `(ether src ${clientMac})`;
  const marker = `(ether src ${routerMac} and udp dst port ${MARKER_PORT} and dst host ${ctx.markerTo})`;
  const snaplen = String(opts.snaplen ?? 256);
  // -p: leave the interface's promiscuous mode alone (a veth hands over every frame anyway);
  // -U with -w -: each packet is written to the pipe as it is captured; --immediate-mode: no batching.
  const child: ChildProcess = ctx.tracker.spawn(
    nsArgv(ctx.ns, ['tcpdump', '-i', ctx.iface, '-p', '-n', '-U', '--immediate-mode', '-s', snaplen, '-w', '-', `${fromClient} or ${marker}`]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The pcap stream, parsed as it arrives: the 24-byte file header, then records.
  let header: Buffer | undefined;
  let pending: Buffer = Buffer.alloc(0);
  // Each frame once, as the CapturedPacket every call returns (the same objects: leaks() results
  // can be compared with stop()'s), with the UDP payload kept aside for the marker.
  const frames: { packet: CapturedPacket; payload?: Buffer }[] = [];
  let streamError: Error | undefined;
  child.stdout?.on('data', (b: Buffer) => {
    if (streamError) return;
    pending = pending.length === 0 ? b : Buffer.concat([pending, b]);
    if (!header) {
      if (pending.length < 24) return;
      header = pending.subarray(0, 24);
      pending = pending.subarray(24);
    }
    try {
      const r = parsePcap(Buffer.concat([header, pending]));
      for (const { udpPayload, ...packet } of r.frames) frames.push({ packet, payload: udpPayload });
      pending = pending.subarray(r.consumed - 24);
    } catch (err) {
      streamError = err as Error;
    }
  });
  let errText = '';
  child.stderr?.on('data', (b: Buffer) => {
    errText = (errText + b.toString('utf8')).slice(-16_384);
  });
  const stderr = (): string => errText;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!/listening on/.test(stderr())) {
    if (exited() || child.pid === undefined) throw new Error(`tcpdump exited early: ${stderr().trim()}`);
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(`tcpdump did not start listening in ${READY_TIMEOUT_MS} ms: ${stderr().trim()}`);
    }
    await sleep(10);
  }
  const pid = child.pid;

  const parse = (): typeof frames => {
    if (streamError) throw new Error(`capture: unreadable tcpdump output: ${streamError.message}`);
    return frames;
  };
  const isMarker = (p: CapturedPacket): boolean =>
    p.protocol === 'udp' && p.dst === ctx.markerTo && p.dstPort === MARKER_PORT && p.src === ctx.markerFrom;
  const packets = (): CapturedPacket[] => parse().flatMap((f) => (isMarker(f.packet) ? [] : [f.packet]));

  const flush = async (): Promise<void> => {
    // A capture that died early must not pass for one that saw nothing.
    if (exited()) throw new Error(`capture: tcpdump exited before it was stopped: ${stderr().trim()}`);
    const token = `umbra-lab-capture-${randomBytes(8).toString('hex')}`;
    const sent = await ctx.tracker.run(nsArgv(ctx.ns, [process.execPath, '-e', SEND_MARKER, ctx.markerFrom, ctx.markerTo, token]), {
      timeoutMs: 10_000,
    });
    if (sent.code !== 0) throw new Error(`capture: cannot send the flush marker: ${sent.stderr.trim()}`);
    const until = Date.now() + FLUSH_TIMEOUT_MS;
    while (!parse().some((f) => isMarker(f.packet) && f.payload?.toString('latin1').includes(token))) {
      if (exited()) throw new Error(`tcpdump exited: ${stderr().trim()}`);
      if (Date.now() > until) throw new Error(`capture: the flush marker did not arrive in ${FLUSH_TIMEOUT_MS} ms`);
      await sleep(10);
    }
  };

  let stopped: Promise<CapturedPacket[]> | undefined;
  const stop = (): Promise<CapturedPacket[]> =>
    (stopped ??= (async () => {
      try {
        await flush();
      } finally {
        await terminate(child);
        await Promise.race([closed, sleep(2000)]);
      }
      return packets();
    })());

  return {
    ns: ctx.ns,
    interface: ctx.iface,
    pid: pid!,
    get running() {
      return !exited();
    },
    snapshot: async () => {
      if (stopped) return stopped;
      await flush();
      return packets();
    },
    stop,
    leaks: (allowed) => findLeaks(packets(), allowed),
  };
}
