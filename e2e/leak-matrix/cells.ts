// The leak matrix's table — which state is walked for which (kill switch, allow LAN) combination
// and what may leave the client outside the tunnel there — and the verdict on one cell from what
// the router captured. Pure.
import type { CapturedPacket } from '../lab/lab.js';
import { BlockList } from 'node:net';
import { PRIVATE_PREFIXES } from '../../helper/platform/firewall/lan-ranges.js';
import { isDns, matchesProbe, type Probe } from './probe-plan.js';
import type { ProbeOutcome } from './run-probes.js';

export interface Combo {
  killSwitch: boolean;
  allowLan: boolean;
  /**
   * An extra address with a wide mask on the client's link, as a hostile DHCP lease hands out:
   * its subnet holds the internet probe addresses (203.0.113.250/.251), which must still count as
   * internet, not LAN (a TunnelVision-style leak). It must not hold a server endpoint.
   */
  handedOut?: string;
}

/** Covers 203.0.113.128-255 (the echo/DNS host, the ISP resolver), not the servers (203.0.113.2, .18). */
export const WIDE_LEASE = '203.0.113.200/25';

export const COMBOS: readonly Combo[] = [
  { killSwitch: true, allowLan: false },
  // With the kill switch off nothing is filtered but the tunnel's guards, so a wide lease only
  // matters here.
  { killSwitch: true, allowLan: true, handedOut: WIDE_LEASE },
  { killSwitch: false, allowLan: false },
  { killSwitch: false, allowLan: true },
];

export function comboName(c: Combo): string {
  const lease = c.handedOut ? ` (the network hands out ${c.handedOut})` : '';
  return `kill switch ${c.killSwitch ? 'on' : 'off'}, allow LAN ${c.allowLan ? 'on' : 'off'}${lease}`;
}

/** Whether an IPv4 address lies in a prefix (a.b.c.d/n). */
export function inPrefix(address: string, prefix: string): boolean {
  const [net, len] = prefix.split('/');
  const bits = Number(len);
  const n = (a: string): number => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  if (address.includes(':') || !net || net.includes(':') || !(bits >= 0 && bits <= 32)) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(n(address) / size) === Math.floor(n(net) / size);
}

/** The states in the order a combination's walk visits them (each starts where the last ended). */
export const STATES = ['disconnected', 'connecting', 'error', 'connected', 'switching', 'reconnecting', 'adopted', 'boot'] as const;
export type CellState = (typeof STATES)[number];

export const STATE_TITLES: Record<CellState, string> = {
  disconnected: 'disconnected (no hold): the probes are seen, so the capture can see a leak',
  connecting: 'connecting to a server that never answers (stopped)',
  error: 'error after the server died (no handshake)',
  connected: 'connected',
  switching: 'switching from server 0 to server 1, probed during the switch',
  reconnecting: 'reconnecting: the server stopped answering while connected',
  adopted: 'helper SIGKILLed while connected, probed while down and while it comes back (adopted block)',
  boot: 'kill switch on boot after a simulated reboot, disconnected (boot hold)',
};

export type Expectation =
  /** Every probe must show up outside the tunnel (proves the capture sees leaks). */
  | { kind: 'seen' }
  /** Nothing but the encrypted UDP to the endpoints; with `lanOpen`, non-DNS to the LAN gateway may pass if it is in allow LAN's fixed ranges. */
  | { kind: 'blocked'; lanOpen: boolean }
  /** Tunnel up, routes into it: nothing to the internet outside it; anything to the LAN gateway may pass. */
  | { kind: 'tunnelled' }
  /** Walked and reported as skipped: nothing to assert. */
  | { kind: 'skip'; why: string }
  /** Not part of this combination's walk. */
  | { kind: 'absent' };

const USERS_CHOICE =
  'kill switch off while no tunnel is up: traffic may leave directly, which is what the user chose by turning the kill switch off';

export function expectationFor(state: CellState, c: Combo): Expectation {
  switch (state) {
    case 'disconnected':
      return { kind: 'seen' };
    case 'connecting':
    case 'error':
    case 'switching':
      // A switch passes through connecting (the new tunnel is not up yet).
      return c.killSwitch ? { kind: 'blocked', lanOpen: c.allowLan } : { kind: 'skip', why: USERS_CHOICE };
    case 'connected':
    case 'reconnecting':
      return c.killSwitch ? { kind: 'blocked', lanOpen: c.allowLan } : { kind: 'tunnelled' };
    case 'adopted':
      // Only a kill switch leaves a block behind to adopt.
      return c.killSwitch ? { kind: 'blocked', lanOpen: c.allowLan } : { kind: 'absent' };
    case 'boot':
      // The boot block does not depend on the kill switch setting; it is walked in the kill-switch-off
      // combinations (their walks are the shorter ones), once per allow-LAN value.
      return c.killSwitch ? { kind: 'absent' } : { kind: 'blocked', lanOpen: c.allowLan };
  }
}

export interface CellEvidence {
  /** capture.leaks(endpoints): everything the client sent outside the tunnel but the UDP to the endpoints. */
  leaks: CapturedPacket[];
  probes: Probe[];
  /** Each probe round's outcomes, in order. */
  rounds: ProbeOutcome[][];
  gateway: string;
  /** What else went wrong in the cell (the helper not in the state the cell is about, …). */
  problems: string[];
  /** The helper's status as seen during the cell, one line each, for the report. */
  statuses: string[];
  /** The excluded app's column (split tunnelling): its rounds ran beside the ordinary ones. */
  excluded?: ExcludedEvidence;
}

/**
 * What an excluded app sent: its probes (TCP and UDP, from known source ports), the ports each
 * round used, and the captured packets from those ports (left out of `leaks`).
 */
export interface ExcludedEvidence {
  probes: Probe[];
  /** Round r's probe n sent from bases[r] + n. */
  bases: number[];
  rounds: ProbeOutcome[][];
  packets: CapturedPacket[];
  /** The client's own addresses: an excluded packet leaves with one of them, never the tunnel's. */
  ownAddresses: string[];
}

/**
 * The excluded column: in every state, every probe of the excluded app left the client directly
 * (seen on the router, from its own address) — DNS included, whatever resolver the helper sent
 * it to. Returns what failed, one line each.
 */
export function judgeExcluded(ex: ExcludedEvidence): string[] {
  const lines: string[] = [];
  if (ex.bases.length === 0) return ['the excluded app ran no probe round'];
  const missing = ex.probes.filter((_, n) => !ex.packets.some((p) => ex.bases.some((b) => p.srcPort === b + n)));
  if (missing.length > 0) {
    lines.push(`excluded app: ${missing.length}/${ex.probes.length} probe(s) did not leave directly:`);
    for (const pr of missing) lines.push(`  ${pr.id} (probe saw: ${ex.rounds.map((r) => r.find((o) => o.id === pr.id)?.outcome ?? '—').join(' / ')})`);
  }
  const foreign = ex.packets.filter((p) => !ex.ownAddresses.includes(p.src));
  if (foreign.length > 0) lines.push(`excluded app: ${foreign.length} packet(s) left with an address not the client's own:`, ...packetLines(foreign));
  return lines;
}

export interface Verdict {
  ok: boolean;
  message: string;
}

/** Packets the cell's expectation lets through besides the endpoint traffic (already left out of leaks). */
function permitted(exp: Expectation, p: CapturedPacket, gateway: string): boolean {
  if (p.dst !== gateway) return false;
  if (exp.kind === 'tunnelled') return true;
  // Allow LAN opens the fixed ranges only: the lab's gateway sits in the public subnet the lease
  // hands out, so under a block nothing to it may pass.
  return exp.kind === 'blocked' && exp.lanOpen && inFixedLan(p.dst) && !isDns(p);
}

const FIXED_LAN = new BlockList();
for (const prefix of PRIVATE_PREFIXES) {
  const [address, length] = prefix.split('/') as [string, string];
  FIXED_LAN.addSubnet(address, Number(length), address.includes(':') ? 'ipv6' : 'ipv4');
}
const inFixedLan = (ip: string) => FIXED_LAN.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');

const MAX_LINES = 40;

function packetLines(packets: CapturedPacket[]): string[] {
  const counts = new Map<string, number>();
  for (const p of packets) {
    // Ports of the client's side vary per connection; the rest says what left.
    const key = p.summary.replace(/^(\S+ [0-9a-f.:[\]]+?):\d+ >/, '$1:* >');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const lines = [...counts].map(([s, n]) => `  ${s}${n > 1 ? `  (×${n})` : ''}`);
  return lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES), `  … ${lines.length - MAX_LINES} more`] : lines;
}

function outcomesOf(ev: CellEvidence, id: string): string {
  return ev.rounds.map((r) => r.find((o) => o.id === id)?.outcome ?? '—').join(' / ');
}

export function judge(exp: Expectation, ev: CellEvidence): Verdict {
  const lines: string[] = [];
  if (exp.kind === 'skip' || exp.kind === 'absent') return { ok: true, message: '' };
  if (exp.kind === 'seen') {
    const missing = ev.probes.filter((pr) => !ev.leaks.some((p) => matchesProbe(p, pr)));
    if (missing.length > 0) {
      lines.push(`the capture did not see ${missing.length} probe(s) that nothing blocks, so it cannot prove the other cells:`);
      for (const pr of missing) lines.push(`  ${pr.id} (probe saw: ${outcomesOf(ev, pr.id)})`);
    }
  } else {
    const out = ev.leaks.filter((p) => !permitted(exp, p, ev.gateway));
    if (out.length > 0) {
      const leaked = ev.probes.filter((pr) => out.some((p) => matchesProbe(p, pr)));
      const other = out.filter((p) => !ev.probes.some((pr) => matchesProbe(p, pr)));
      lines.push(`${out.length} packet(s) left the client outside the tunnel`);
      if (leaked.length > 0) {
        lines.push(`probes that leaked (${leaked.length}/${ev.probes.length}):`);
        for (const pr of leaked) lines.push(`  ${pr.id} (probe saw: ${outcomesOf(ev, pr.id)})`);
      }
      if (other.length > 0) lines.push(`and ${other.length} packet(s) no probe sent`);
      lines.push('captured on the router:', ...packetLines(out));
    }
  }
  if (ev.excluded) lines.push(...judgeExcluded(ev.excluded));
  lines.push(...ev.problems);
  const ok = lines.length === 0;
  if (!ok && ev.statuses.length > 0) lines.push('helper status during the cell:', ...ev.statuses.map((s) => `  ${s}`));
  return { ok, message: lines.join('\n') };
}
