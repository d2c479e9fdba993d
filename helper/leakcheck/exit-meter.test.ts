// The measured exit: asked once per connection, kept only for that connection, compared with the
// catalog's exit, and "could not measure" when no echo service answers.
import { describe, expect, it, vi } from 'vitest';
import type { TunnelStatus } from '../ipc/schema.js';
import { connectionKey, ExitMeter, matchesCatalog, measuredExit, sightingOf } from './exit-meter.js';
import type { EchoOutcome } from './verdicts.js';

const SERVER = { id: 'lab-0', name: 'lab 0', endpoint: '203.0.113.2:51820', publicKey: `${'A'.repeat(43)}=`, exitIp: '203.0.113.11', source: 'catalog' as const };

function status(o: Partial<TunnelStatus> = {}): TunnelStatus {
  return { state: 'disconnected', blocked: false, firewallActive: false, firewall: { wanted: 'none', kernel: 'none' }, addresses: [], dns: [], rxBytes: 0, txBytes: 0, attempt: 0, ...o };
}
const connected = (since: number, server = SERVER) => status({ state: 'connected', server, connectedSince: since });

const seen = (url: string, address: string): EchoOutcome => ({ url, address });
const failed = (url: string, error: string): EchoOutcome => ({ url, error });

type Answer = (outcomes: EchoOutcome[]) => void;

/** A meter whose echo answers the test releases by hand, per family. */
function meter() {
  const pending: { v4: Answer; v6: Answer }[] = [];
  let now = 1_000;
  const changed = vi.fn();
  const m = new ExitMeter({
    measure: () => {
      const ask: Partial<{ v4: Answer; v6: Answer }> = {};
      const v4 = new Promise<EchoOutcome[]>((resolve) => (ask.v4 = resolve));
      const v6 = new Promise<EchoOutcome[]>((resolve) => (ask.v6 = resolve));
      pending.push(ask as { v4: Answer; v6: Answer });
      return { v4, v6 };
    },
    now: () => now,
    changed,
    log: () => {},
  });
  const settle = () => new Promise((r) => setImmediate(r));
  const answerOne = async (i: number, family: 'v4' | 'v6', outcomes: EchoOutcome[]) => {
    now += 10;
    pending[i]![family](outcomes);
    await settle();
  };
  const answer = async (i: number, v4: EchoOutcome[], v6: EchoOutcome[] = []) => {
    await answerOne(i, 'v4', v4);
    await answerOne(i, 'v6', v6);
  };
  return { m, pending, changed, answer, answerOne, tick: (ms: number) => (now += ms) };
}

describe('the pure pieces', () => {
  it('a connection is the server and when it connected; nothing but connected has one', () => {
    expect(connectionKey(connected(5))).toBe('lab-0@5');
    expect(connectionKey(connected(6))).not.toBe(connectionKey(connected(5)));
    for (const state of ['connecting', 'reconnecting', 'disconnecting', 'disconnected', 'error'] as const) {
      expect(connectionKey(status({ state, server: SERVER, connectedSince: 5 }))).toBeUndefined();
    }
  });

  it('the first address each family answered; the errors when none did', () => {
    expect(sightingOf([failed('a', 'timeout'), seen('b', '203.0.113.50')], [seen('c', '2001:db8::50')], 7)).toEqual({ ipv4: '203.0.113.50', ipv6: '2001:db8::50', at: 7 });
    expect(sightingOf([failed('http://e/', 'no answer within 3000 ms')], [failed('http://e6/', 'ENETUNREACH')], 7)).toEqual({
      at: 7,
      error: 'http://e/: no answer within 3000 ms; http://e6/: ENETUNREACH',
    });
    expect(sightingOf([], [], 7).error).toMatch(/no IP-echo service/);
  });

  it('compares the catalog exit with the address of its own family, in any spelling', () => {
    expect(matchesCatalog('203.0.113.11', { ipv4: '203.0.113.11' })).toBe(true);
    expect(matchesCatalog('203.0.113.11', { ipv4: '203.0.113.50' })).toBe(false);
    expect(matchesCatalog('2001:DB8:0::11', { ipv4: '203.0.113.11', ipv6: '2001:db8::11' })).toBe(true);
    expect(matchesCatalog('2001:db8::11', { ipv4: '203.0.113.11' })).toBeNull(); // IPv6 not measured
    expect(matchesCatalog(undefined, { ipv4: '203.0.113.11' })).toBeNull();
  });

  it('never turns "no answer" into an address', () => {
    expect(measuredExit(undefined, '203.0.113.11')).toEqual({ state: 'measuring', matchesCatalog: null });
    const none = measuredExit({ at: 9, error: 'http://e/: timeout' }, '203.0.113.11');
    expect(none).toEqual({ state: 'unmeasurable', at: 9, matchesCatalog: null, error: 'http://e/: timeout' });
    expect(JSON.stringify(none)).not.toContain('203.0.113.11');
  });

  it('an "exit" that is the address seen without the VPN is said to be outside the tunnel', () => {
    expect(measuredExit({ ipv4: '198.51.100.2', at: 9 }, undefined, ['198.51.100.2'])).toEqual({ state: 'measured', ipv4: '198.51.100.2', at: 9, matchesCatalog: null, outsideTunnel: true });
    expect(measuredExit({ ipv6: '2001:DB8::2', at: 9 }, undefined, ['2001:db8::2']).outsideTunnel).toBe(true);
    expect(measuredExit({ ipv4: '203.0.113.2', at: 9 }, '203.0.113.2', ['198.51.100.2']).outsideTunnel).toBeUndefined();
  });
});

describe('ExitMeter', () => {
  it('measures once when a connection comes up: measuring, then what the internet saw and the mismatch', async () => {
    const { m, pending, answer } = meter();
    const s = connected(100);
    m.onStatus(s);
    expect(m.decorate(s).measuredExit).toEqual({ state: 'measuring', matchesCatalog: null });
    // The same connection's later statuses (byte counters) ask nothing more.
    m.onStatus({ ...s, rxBytes: 500 });
    m.onStatus(s);
    expect(pending).toHaveLength(1);
    await answer(0, [seen('http://e/', '203.0.113.50')]);
    expect(m.decorate(s).measuredExit).toEqual({ state: 'measured', ipv4: '203.0.113.50', at: 1_020, matchesCatalog: false });
  });

  it('shows each family as it answers: an IPv6 echo still waiting does not hold IPv4 back', async () => {
    const { m, changed, answerOne } = meter();
    const s = connected(100);
    m.onStatus(s);
    await answerOne(0, 'v4', [seen('http://e/', '203.0.113.11')]);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(m.decorate(s).measuredExit).toEqual({ state: 'measured', ipv4: '203.0.113.11', at: 1_010, matchesCatalog: true });
    await answerOne(0, 'v6', [seen('http://e6/', '2001:db8::11')]);
    expect(m.decorate(s).measuredExit).toMatchObject({ state: 'measured', ipv4: '203.0.113.11', ipv6: '2001:db8::11' });
  });

  it('IPv4 failed, IPv6 still asking: measuring until both have answered', async () => {
    const { m, changed, answerOne } = meter();
    const s = connected(100);
    m.onStatus(s);
    await answerOne(0, 'v4', [failed('http://e/', 'ECONNREFUSED')]);
    expect(changed).not.toHaveBeenCalled();
    expect(m.decorate(s).measuredExit?.state).toBe('measuring');
    await answerOne(0, 'v6', [failed('http://e6/', 'no answer within 3000 ms')]);
    expect(m.decorate(s).measuredExit).toMatchObject({ state: 'unmeasurable', error: 'http://e/: ECONNREFUSED; http://e6/: no answer within 3000 ms' });
  });

  it('no echo service answered: could not measure, with why', async () => {
    const { m, answer } = meter();
    const s = connected(100);
    m.onStatus(s);
    await answer(0, [failed('http://e/', 'no answer within 3000 ms')]);
    expect(m.decorate(s).measuredExit).toMatchObject({ state: 'unmeasurable', error: 'http://e/: no answer within 3000 ms', matchesCatalog: null });
  });

  it('leaving connected forgets it; the next connection (even to the same server) is measured anew', async () => {
    const { m, pending, answer, tick } = meter();
    const first = connected(100);
    m.onStatus(first);
    await answer(0, [seen('http://e/', '203.0.113.11')]);
    expect(m.decorate(first).measuredExit?.matchesCatalog).toBe(true);
    for (const state of ['reconnecting', 'disconnecting', 'disconnected'] as const) {
      const away = status({ state, server: SERVER });
      m.onStatus(away);
      expect(m.decorate(away).measuredExit).toBeUndefined();
    }
    tick(1000);
    const again = connected(2_000);
    m.onStatus(again);
    expect(pending).toHaveLength(2);
    expect(m.decorate(again).measuredExit?.state).toBe('measuring');
    // And another server shows measuring, not the first one's address.
    const other = connected(2_000, { ...SERVER, id: 'lab-1', exitIp: '203.0.113.12' });
    expect(m.decorate(other).measuredExit?.state).toBe('measuring');
  });

  it('a push that throws is logged, not left as an unhandled rejection', async () => {
    const log: string[] = [];
    let answer!: (o: EchoOutcome[]) => void;
    const m = new ExitMeter({
      measure: () => ({ v4: new Promise((r) => (answer = r)), v6: Promise.resolve([]) }),
      now: () => 1,
      changed: () => {
        throw new Error('socket gone');
      },
      log: (l) => log.push(l),
    });
    const s = connected(100);
    m.onStatus(s);
    answer([seen('http://e/', '203.0.113.11')]);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['pushing the measured exit failed: socket gone']);
    expect(m.decorate(s).measuredExit?.state).toBe('measured');
  });

  it('an answer that arrives after its connection ended is dropped', async () => {
    const { m, changed, answer } = meter();
    const first = connected(100);
    m.onStatus(first);
    const second = connected(200, { ...SERVER, id: 'lab-1' });
    m.onStatus(second);
    await answer(0, [seen('http://e/', '203.0.113.11')]);
    expect(changed).not.toHaveBeenCalled();
    expect(m.decorate(second).measuredExit?.state).toBe('measuring');
    await answer(1, [seen('http://e/', '203.0.113.12')]);
    expect(m.decorate(second).measuredExit).toMatchObject({ state: 'measured', ipv4: '203.0.113.12' });
  });

  it('a leak check on the same connection measures again; one begun earlier does not replace a newer answer', async () => {
    const { m, answer, tick } = meter();
    const s = connected(100);
    m.onStatus(s); // asked at 1000
    tick(50);
    m.observe(s, 1_050, [seen('http://e/', '203.0.113.60')], [seen('http://e6/', '2001:db8::60')]);
    expect(m.decorate(s).measuredExit).toMatchObject({ state: 'measured', ipv4: '203.0.113.60', ipv6: '2001:db8::60' });
    await answer(0, [seen('http://e/', '203.0.113.50')]); // asked before the check: older
    expect(m.decorate(s).measuredExit?.ipv4).toBe('203.0.113.60');
    // A check of another connection changes nothing here.
    m.observe(connected(5), 2_000, [seen('http://e/', '203.0.113.99')], []);
    expect(m.decorate(s).measuredExit?.ipv4).toBe('203.0.113.60');
  });
});
