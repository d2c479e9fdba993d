// The leak matrix's table and verdicts on hand-built packets: a verdict that cannot fail would let
// the whole matrix pass on a helper that leaks.
import { describe, expect, it } from 'vitest';
import type { CapturedPacket } from '../lab/lab.js';
import { COMBOS, expectationFor, inPrefix, judge, judgeExcluded, STATES, WIDE_LEASE, type CellEvidence, type Expectation } from './cells.js';
import { matchesProbe, probePlan } from './probe-plan.js';

const GW = '198.51.100.1';
const probes = probePlan({ internet: ['203.0.113.250', '203.0.113.251'], internet6: '2001:db8:f::250', gateway: GW, icmp: true });

function pkt(protocol: string, dst: string, dstPort?: number, icmpType?: number): CapturedPacket {
  const src = dst.includes(':') ? '2001:db8:c::2' : '198.51.100.2';
  return {
    time: 0, ethSrc: '', ethDst: '', family: dst.includes(':') ? 'ipv6' : 'ipv4', protocol, src, dst, length: 60,
    ...(dstPort === undefined ? {} : { srcPort: 40000, dstPort }),
    ...(icmpType === undefined ? {} : { icmpType, icmpCode: 0 }),
    summary: `${protocol} ${src}${dstPort === undefined ? '' : ':40000'} > ${dst}${dstPort === undefined ? '' : `:${dstPort}`}`,
  };
}

/** What each probe puts on the wire first. */
function sent(id: string): CapturedPacket {
  const p = probes.find((x) => x.id === id)!;
  if (p.kind === 'icmp') return pkt('icmp', p.address, undefined, 8);
  return pkt(p.kind === 'udp' || p.kind === 'dns-udp' ? 'udp' : 'tcp', p.address, p.port);
}

const evidence = (leaks: CapturedPacket[]): CellEvidence => ({ leaks, probes, rounds: [], gateway: GW, problems: [], statuses: [] });
const blocked = (lanOpen: boolean): Expectation => ({ kind: 'blocked', lanOpen });

describe('probePlan', () => {
  it('covers TCP, UDP, ICMP and DNS over UDP and TCP to each address, and TCP over IPv6', () => {
    expect(probes.map((p) => p.id)).toEqual([
      'tcp 203.0.113.250:80', 'udp 203.0.113.250:3478', 'icmp 203.0.113.250', 'dns-udp 203.0.113.250:53', 'dns-tcp 203.0.113.250:53',
      'tcp 203.0.113.251:80', 'udp 203.0.113.251:3478', 'icmp 203.0.113.251', 'dns-udp 203.0.113.251:53', 'dns-tcp 203.0.113.251:53',
      'tcp 198.51.100.1:8080', 'udp 198.51.100.1:3478', 'icmp 198.51.100.1', 'dns-udp 198.51.100.1:53', 'dns-tcp 198.51.100.1:53',
      'tcp [2001:db8:f::250]:80',
    ]);
    expect(probes.filter((p) => p.lan).every((p) => p.address === GW)).toBe(true);
  });

  it('leaves ICMP out without a ping binary', () => {
    expect(probePlan({ internet: ['203.0.113.250'], gateway: GW, icmp: false }).some((p) => p.kind === 'icmp')).toBe(false);
  });

  it('tells DNS over TCP from the TCP probe, and an echo reply from a request', () => {
    const dnsTcp = probes.find((p) => p.id === 'dns-tcp 203.0.113.250:53')!;
    const tcp = probes.find((p) => p.id === 'tcp 203.0.113.250:80')!;
    expect(matchesProbe(pkt('tcp', '203.0.113.250', 53), dnsTcp)).toBe(true);
    expect(matchesProbe(pkt('tcp', '203.0.113.250', 53), tcp)).toBe(false);
    const icmp = probes.find((p) => p.id === 'icmp 203.0.113.250')!;
    expect(matchesProbe(pkt('icmp', '203.0.113.250', undefined, 8), icmp)).toBe(true);
    expect(matchesProbe(pkt('icmp', '203.0.113.250', undefined, 0), icmp)).toBe(false);
  });
});

describe('the table', () => {
  it('asserts every state the user wants a connection in with the kill switch on', () => {
    for (const c of COMBOS.filter((x) => x.killSwitch)) {
      for (const s of ['connecting', 'error', 'connected', 'switching', 'reconnecting', 'adopted'] as const) {
        expect(expectationFor(s, c)).toEqual(blocked(c.allowLan));
      }
    }
  });

  it('with the kill switch off: tunnelled when the tunnel is up, skipped before it exists', () => {
    for (const c of COMBOS.filter((x) => !x.killSwitch)) {
      expect(expectationFor('connected', c).kind).toBe('tunnelled');
      expect(expectationFor('reconnecting', c).kind).toBe('tunnelled');
      for (const s of ['connecting', 'error', 'switching'] as const) expect(expectationFor(s, c).kind).toBe('skip');
      expect(expectationFor('adopted', c).kind).toBe('absent');
    }
  });

  it('walks the boot block once per allow-LAN value and disconnected everywhere', () => {
    const boot = COMBOS.filter((c) => expectationFor('boot', c).kind !== 'absent');
    expect(boot.map((c) => c.allowLan).sort()).toEqual([false, true]);
    for (const c of COMBOS) expect(expectationFor('disconnected', c).kind).toBe('seen');
    expect(STATES[0]).toBe('disconnected');
  });
});

describe('judge', () => {
  const all = probes.map((p) => sent(p.id));

  it('seen: passes when every probe shows up, names the ones that did not', () => {
    expect(judge({ kind: 'seen' }, evidence(all)).ok).toBe(true);
    const v = judge({ kind: 'seen' }, evidence(all.filter((p) => p.dst !== '203.0.113.251')));
    expect(v.ok).toBe(false);
    expect(v.message).toContain('dns-udp 203.0.113.251:53');
    expect(v.message).not.toContain('tcp 203.0.113.250:80');
  });

  it('blocked: nothing may leave; the report lists the probes and the packets', () => {
    expect(judge(blocked(false), evidence([])).ok).toBe(true);
    const v = judge(blocked(false), evidence([sent('tcp 203.0.113.250:80'), sent('tcp 203.0.113.250:80'), pkt('udp', '203.0.113.99', 123)]));
    expect(v.ok).toBe(false);
    expect(v.message).toContain('3 packet(s) left');
    expect(v.message).toContain('tcp 203.0.113.250:80');
    expect(v.message).toContain('(×2)');
    expect(v.message).toContain('1 packet(s) no probe sent');
    expect(v.message).toContain('udp 198.51.100.2:* > 203.0.113.99:123');
  });

  it('blocked with allow LAN: a gateway in the fixed ranges may get TCP, UDP and ICMP, never DNS', () => {
    // Only data in a unit test: no packet goes to 192.168.1.1.
    const PRIVATE_GW = '192.168.1.1';
    const lan = [pkt('tcp', PRIVATE_GW, 8080), pkt('udp', PRIVATE_GW, 3478), pkt('icmp', PRIVATE_GW, undefined, 8)];
    const at = (leaks: CapturedPacket[]) => ({ ...evidence(leaks), gateway: PRIVATE_GW });
    expect(judge(blocked(true), at(lan)).ok).toBe(true);
    expect(judge(blocked(false), at(lan)).ok).toBe(false);
    for (const dns of [pkt('udp', PRIVATE_GW, 53), pkt('tcp', PRIVATE_GW, 53)]) {
      const v = judge(blocked(true), at([...lan, dns]));
      expect(v.ok).toBe(false);
      expect(v.message).toMatch(/192\.168\.1\.1\S*53/);
    }
    expect(judge(blocked(true), at([sent('icmp 203.0.113.250')])).ok).toBe(false);
  });

  it('blocked with allow LAN: the lab gateway, in the public subnet the lease hands out, is not LAN', () => {
    const lan = ['tcp 198.51.100.1:8080', 'udp 198.51.100.1:3478', 'icmp 198.51.100.1'].map(sent);
    const v = judge(blocked(true), evidence(lan));
    expect(v.ok).toBe(false);
    expect(v.message).toContain('198.51.100.1');
  });

  it('tunnelled: anything to the gateway may pass, nothing to the internet (IPv6 included)', () => {
    const lan = probes.filter((p) => p.lan).map((p) => sent(p.id));
    expect(judge({ kind: 'tunnelled' }, evidence(lan)).ok).toBe(true);
    expect(judge({ kind: 'tunnelled' }, evidence([sent('tcp [2001:db8:f::250]:80')])).ok).toBe(false);
    expect(judge({ kind: 'tunnelled' }, evidence([sent('dns-udp 203.0.113.251:53')])).ok).toBe(false);
  });

  it('a problem beside the capture fails the cell and shows the status', () => {
    const ev = { ...evidence([]), problems: ['probed x, but the helper said state=connecting'], statuses: ['state=connecting blocked=true'] };
    const v = judge(blocked(false), ev);
    expect(v.ok).toBe(false);
    expect(v.message).toContain('state=connecting blocked=true');
  });
});

describe('the wide lease', () => {
  it('holds the internet probe addresses and no server endpoint', () => {
    expect(inPrefix('203.0.113.250', WIDE_LEASE)).toBe(true);
    expect(inPrefix('203.0.113.251', WIDE_LEASE)).toBe(true);
    expect(inPrefix('203.0.113.2', WIDE_LEASE)).toBe(false);
    expect(inPrefix('203.0.113.18', WIDE_LEASE)).toBe(false);
    expect(inPrefix('2001:db8::1', WIDE_LEASE)).toBe(false);
  });

  it('is handed out only where the kill switch and allow LAN are on', () => {
    for (const c of COMBOS) expect(c.handedOut !== undefined).toBe(c.killSwitch && c.allowLan);
  });
});

describe('judgeExcluded (the excluded app column)', () => {
  const exProbes = probePlan({ internet: ['203.0.113.250'], gateway: GW, icmp: false });
  const from = (port: number, src = '198.51.100.2'): CapturedPacket => ({ ...pkt('udp', '203.0.113.251', 53), srcPort: port, src });
  const base = { probes: exProbes, bases: [20000, 20100], rounds: [[], []], ownAddresses: ['198.51.100.2'] };

  it('passes when each probe left directly in some round, whatever address DNS went to', () => {
    const packets = exProbes.map((_, n) => from((n % 2 === 0 ? 20000 : 20100) + n));
    expect(judgeExcluded({ ...base, packets })).toEqual([]);
    expect(judge({ kind: 'blocked', lanOpen: false }, { ...evidence([]), excluded: { ...base, packets } }).ok).toBe(true);
  });

  it('names the probes that never left, and fails the cell', () => {
    const packets = exProbes.slice(1).map((_, n) => from(20000 + n + 1));
    const lines = judgeExcluded({ ...base, packets });
    expect(lines[0]).toMatch(/1\/\d+ probe\(s\) did not leave directly/);
    expect(lines[1]).toContain(exProbes[0]!.id);
    expect(judge({ kind: 'seen' }, { ...evidence(probes.map((p) => sent(p.id))), excluded: { ...base, packets } }).ok).toBe(false);
  });

  it('fails a packet that left with the tunnel\'s address (no masquerade)', () => {
    const packets = exProbes.map((_, n) => from(20000 + n, n === 0 ? '100.64.1.2' : '198.51.100.2'));
    expect(judgeExcluded({ ...base, packets }).join('\n')).toMatch(/1 packet\(s\) left with an address not the client's own/);
  });

  it('fails a cell whose excluded app ran no round', () => {
    expect(judgeExcluded({ ...base, bases: [], rounds: [], packets: [] })).toEqual(['the excluded app ran no probe round']);
  });
});
