// The cases of issue 10, as far as the state machine decides them: what the firewall is in each
// step, and in which order the step asks for it and for everything else.
import { describe, expect, it } from 'vitest';
import { BACKOFF_MS, CONNECT_TIMEOUT_MS } from './common.js';
import { transition } from './transition.js';
import type { Event, State, Step } from './types.js';
import {
  checkStep, ctxOf, DUAL, EP, HOST, IP, KS_OFF, KS_ON, LOCKDOWN, NO_ENDPOINT, PARTIAL_V6, RESOLVED, RESOLVERS, run, settle, SETTINGS, specOf, stateOf, TOKEN, types,
  type Settings,
} from './testing/fixtures.js';

const on = ctxOf(KS_ON);
const off = ctxOf(KS_OFF);

/** Steps `s` through `events` (each checked against the contract), the tokens as the driver counts them. */
function walk(s: State, list: Event[], settings: Settings = KS_ON): Step[] {
  const steps: Step[] = [];
  let token = 100;
  for (const e of list) {
    const ctx = ctxOf(settings, token++);
    const step = run(s, e, ctx);
    checkStep(s, e, step, ctx);
    steps.push(step);
    s = step.state;
  }
  return steps;
}

const connecting = (target = HOST): State => run({ name: 'disconnected' }, { type: 'connect', target }, on).state;

describe('1. a connect that fails before the tunnel exists fails closed', () => {
  it('a hostname endpoint with the kill switch on: the block comes before the lookup, and lets only the lookup out', () => {
    const step = run({ name: 'disconnected' }, { type: 'connect', target: HOST }, on);
    expect(types(step)).toEqual(['firewall', 'cancelTimers', 'resolve']);
    expect(specOf(step)).toMatchObject({ block: true, endpoints: [], lookupResolvers: RESOLVERS, dnsServers: ['100.64.0.53'] });
    expect(specOf(step)!.tunnelInterface).toBeUndefined();
    expect(step.effects[2]).toEqual({ type: 'resolve', token: 100, host: 'vpn.example.test', port: 51820 });
  });

  it('an unresolvable name: error ENDPOINT_UNRESOLVABLE, the block held, a retry that looks again under it', () => {
    const [, failed, retried] = walk({ name: 'disconnected' }, [
      { type: 'connect', target: HOST },
      { type: 'unresolvable', token: 100, message: 'vpn.example.test: no answer from 203.0.113.251.' },
      { type: 'retry', token: 100 },
    ]);
    expect(failed!.state).toMatchObject({ name: 'error', attempt: 1, error: { code: 'ENDPOINT_UNRESOLVABLE' } });
    expect((failed!.state as { error: { message: string } }).error.message).toContain('vpn.example.test');
    expect(specOf(failed!)).toMatchObject({ block: true, endpoints: [] });
    expect(failed!.effects).toContainEqual({ type: 'timer', name: 'retry', token: 100, ms: BACKOFF_MS[0] });
    expect(types(retried!)).toEqual(['firewall', 'resolve']);
    expect(specOf(retried!)).toMatchObject({ block: true, endpoints: [] });
  });

  it('without the kill switch nothing is blocked before the tunnel exists (the user chose so)', () => {
    const step = run({ name: 'disconnected' }, { type: 'connect', target: HOST }, off);
    expect(types(step)).toEqual(['firewall', 'cancelTimers', 'resolve']);
    expect(specOf(step)).toBeUndefined();
  });

  it('a config with no endpoint says so as ENDPOINT_UNRESOLVABLE, under the block', () => {
    const steps = settle({ name: 'disconnected' }, { type: 'connect', target: NO_ENDPOINT }, KS_ON);
    expect(steps.map((s) => s.state.name)).toEqual(['connecting', 'error']);
    expect(steps[1]!.state).toMatchObject({ error: { code: 'ENDPOINT_UNRESOLVABLE', message: expect.stringContaining('import its config again') } });
    for (const s of steps) expect(specOf(s)?.block).toBe(true);
  });

  it('a firewall that cannot be set: error FIREWALL_FAILED, nothing fed back, a later retry, no loop', () => {
    const s = connecting(IP);
    const failed = run(s, { type: 'firewallFailed', message: 'nft: Operation not permitted' }, on);
    expect(failed.state).toMatchObject({ name: 'error', attempt: 1, error: { code: 'FIREWALL_FAILED', message: expect.stringContaining('Operation not permitted') } });
    expect(types(failed)).toEqual(['firewall', 'cancelTimers', 'timer']);
    expect(failed.effects[2]).toMatchObject({ name: 'retry', ms: BACKOFF_MS[0] });
    // Failing again (the driver reports it once per failing step) backs off further, still without feedback.
    const again = run(failed.state, { type: 'firewallFailed', message: 'nft: Operation not permitted' }, on);
    expect(again.state).toMatchObject({ name: 'error', attempt: 2 });
    expect(types(again)).toEqual(['firewall', 'cancelTimers', 'timer']);
    expect(again.effects[2]).toMatchObject({ name: 'retry', ms: BACKOFF_MS[1] });
  });
});

describe('3, 4. connected has a policy of its own, whatever the kill switch says', () => {
  const up: State = { name: 'connecting', target: IP, token: 100, attempt: 0, endpoint: EP, tunnel: 'umbra0' };

  it('kill switch off: the guard, with the inner address guarded and IPv6 refused outside an IPv4-only tunnel', () => {
    const step = run(up, { type: 'handshake', token: 100 }, off);
    expect(step.state).toMatchObject({ name: 'connected', since: off.now, attempt: 0 });
    expect(specOf(step)).toMatchObject({ block: false, tunnelInterface: 'umbra0', tunnelAddresses: ['100.64.1.2'], tunnelsIpv6: false, endpoints: [EP] });
  });

  it('kill switch on: the block with the same guards', () => {
    expect(specOf(run(up, { type: 'handshake', token: 100 }, on))).toMatchObject({ block: true, tunnelInterface: 'umbra0', tunnelAddresses: ['100.64.1.2'] });
  });

  it('IPv6 counts as tunnelled only when all of it goes in (::/0); every inner address is guarded', () => {
    const dual = stateOf('connected, dual stack');
    expect(specOf(run(dual, { type: 'policyChanged' }, off))).toMatchObject({ tunnelsIpv6: true, tunnelAddresses: ['100.64.1.3', 'fd00:64::3'] });
    const partial: State = { ...up, target: PARTIAL_V6, endpoint: { address: '203.0.113.4', port: 51820 } };
    expect(specOf(run(partial, { type: 'policyChanged' }, off))).toMatchObject({ tunnelsIpv6: false });
  });

  it('the guard is there as soon as the tunnel is, before the first handshake', () => {
    const starting = stateOf('connecting, starting');
    const step = run(starting, { type: 'tunnelUp', token: TOKEN, interfaceName: 'umbra3' }, off);
    expect(types(step)).toEqual(['firewall', 'timer']);
    expect(specOf(step)).toMatchObject({ block: false, tunnelInterface: 'umbra3', tunnelAddresses: ['100.64.1.2'] });
    expect(step.effects[1]).toEqual({ type: 'timer', name: 'timeout', token: TOKEN, ms: CONNECT_TIMEOUT_MS });
  });
});

describe('5, 6. a block held while disconnected', () => {
  for (const hold of ['boot', 'unreadable-state'] as const) {
    it(`start with hold '${hold}': blocked until the user connects or disconnects`, () => {
      for (const settings of SETTINGS) {
        const ctx = ctxOf(settings);
        const held = run({ name: 'disconnected' }, { type: 'start', hold }, ctx);
        expect(held.state).toEqual({ name: 'disconnected', hold });
        expect(types(held)).toEqual(['firewall']);
        // A hold blocks whatever the kill switch says (it is what was found, or what "on boot" asks for).
        expect(specOf(held)).toMatchObject({ block: true, endpoints: [], dnsServers: [], lookupResolvers: [], allowLan: settings.allowLan });
        expect(specOf(held)!.tunnelInterface).toBeUndefined();
        // Settings changes keep it; nothing the machine does on its own lifts it.
        expect(specOf(run(held.state, { type: 'policyChanged' }, ctxOf({ ...settings, allowLan: !settings.allowLan })))).toMatchObject({ block: true, allowLan: !settings.allowLan });
        for (const e of [{ type: 'tornDown' }, { type: 'firewallFailed', message: 'x' }, { type: 'retry', token: 100 }] as Event[]) expect(transition(held.state, e, ctx)).toBeUndefined();
        // The user's disconnect lifts it; the user's connect replaces it by connecting's policy.
        // (Under lockdown the block stays after it; see below.)
        const lifted = run(held.state, { type: 'disconnect' }, ctx);
        expect(lifted.state).toEqual({ name: 'disconnected' });
        expect(specOf(lifted)).toEqual(settings.lockdown ? expect.objectContaining({ block: true, endpoints: [] }) : undefined);
        const connect = run(held.state, { type: 'connect', target: IP }, ctx);
        expect(specOf(connect)).toEqual(settings.killSwitch || settings.lockdown ? expect.objectContaining({ block: true, endpoints: [EP] }) : undefined);
      }
    });
  }

  it('resuming after a crash under the block found: the connect blocks first, then starts the tunnel', () => {
    // The driver starts in disconnected; the kernel still holds the adopted block, which the
    // connect's block replaces in one transaction before anything else runs.
    const step = run({ name: 'disconnected' }, { type: 'connect', target: IP }, on);
    expect(types(step)).toEqual(['firewall', 'cancelTimers', 'startTunnel']);
    expect(specOf(step)).toMatchObject({ block: true, endpoints: [EP] });
  });

  it('a plain start holds nothing', () => {
    expect(run({ name: 'disconnected', hold: 'boot' }, { type: 'start' }, on)).toEqual({ state: { name: 'disconnected' }, effects: [{ type: 'firewall', spec: undefined }] });
  });

  it('connecting from a boot hold to a hostname server: the block stays up and lets the lookup out', () => {
    const step = run({ name: 'disconnected', hold: 'boot' }, { type: 'connect', target: HOST }, on);
    expect(types(step)).toEqual(['firewall', 'cancelTimers', 'resolve']);
    expect(specOf(step)).toMatchObject({ block: true, lookupResolvers: RESOLVERS });
  });
});

describe('7. the block lets out exactly the endpoint in use', () => {
  it('a resolved name: the block allows that address only, then the tunnel starts towards it', () => {
    const step = run(connecting(), { type: 'resolved', token: 100, endpoint: RESOLVED }, on);
    expect(types(step)).toEqual(['firewall', 'startTunnel']);
    expect(specOf(step)!.endpoints).toEqual([RESOLVED]);
    expect(step.effects[1]).toMatchObject({ endpoint: RESOLVED, target: HOST });
  });

  it("a switch drops the old server's endpoint and tunnel from the block", () => {
    const step = run(stateOf('connected'), { type: 'connect', target: DUAL }, on);
    expect(specOf(step)!.endpoints).toEqual([{ address: '2001:db8::3', port: 51820 }]);
    expect(specOf(step)!.tunnelInterface).toBeUndefined();
  });
});

describe('8. hostname endpoints under a block: resolved once per connect, never through the old tunnel', () => {
  it('a switch from an IP server to a hostname server: the old tunnel goes before the lookup, the block holds throughout', () => {
    const steps = walk(stateOf('connected'), [
      { type: 'connect', target: HOST },
      { type: 'resolved', token: 100, endpoint: RESOLVED },
      { type: 'tunnelUp', token: 100, interfaceName: 'umbra1' },
      { type: 'handshake', token: 100 },
    ]);
    expect(types(steps[0]!)).toEqual(['firewall', 'cancelTimers', 'stopTunnel', 'resolve']);
    expect(steps.map((s) => specOf(s)!.block)).toEqual([true, true, true, true]);
    expect(steps.at(-1)!.state).toMatchObject({ name: 'connected', target: HOST, endpoint: RESOLVED, tunnel: 'umbra1' });
    expect(steps.flatMap(types).filter((t) => t === 'resolve')).toHaveLength(1);
  });

  it('retries keep the answer: no second lookup after the tunnel failed or went unanswered', () => {
    const s = run(connecting(), { type: 'resolved', token: 100, endpoint: RESOLVED }, on).state;
    const afterStartFailed = retryOf(run(s, { type: 'tunnelFailed', token: 100, message: 'no TUN', started: false }, on).state);
    expect(types(afterStartFailed)).toEqual(['firewall', 'startTunnel']);
    expect(afterStartFailed.effects[1]).toMatchObject({ endpoint: RESOLVED });
    const up = run(s, { type: 'tunnelUp', token: 100, interfaceName: 'umbra0' }, on).state;
    const afterTimeout = retryOf(run(up, { type: 'timeout', token: 100 }, on).state);
    expect(types(afterTimeout)).toEqual(['firewall', 'rehandshake', 'timer']);
    expect(specOf(afterTimeout)!.endpoints).toEqual([RESOLVED]);
  });

  it('an answer from an earlier round of the same attempt changes nothing once the endpoint is known', () => {
    // resolving → (the firewall failed on a settings change) error → retry → resolving again:
    // two lookups are out with the same token; the first answer wins, the second is dropped.
    const [, , retried, first, up] = walk(connecting(), [
      { type: 'policyChanged' },
      { type: 'firewallFailed', message: 'nft refused' },
      { type: 'retry', token: 100 },
      { type: 'resolved', token: 100, endpoint: RESOLVED },
      { type: 'tunnelUp', token: 100, interfaceName: 'umbra0' },
    ]);
    expect(types(retried!)).toEqual(['firewall', 'resolve']);
    expect(types(first!)).toEqual(['firewall', 'startTunnel']);
    const other = { address: '203.0.113.10', port: 51820 };
    expect(transition(up!.state, { type: 'resolved', token: 100, endpoint: other }, on), 'a second answer').toBeUndefined();
    expect(transition(up!.state, { type: 'unresolvable', token: 100, message: 'SERVFAIL' }, on), 'a late failure').toBeUndefined();
    expect(transition(first!.state, { type: 'resolved', token: 100, endpoint: other }, on), 'before the tunnel is up').toBeUndefined();
  });
});

function retryOf(s: State): Step {
  expect(s.name).toBe('error');
  return run(s, { type: 'retry', token: 100 }, on);
}

describe('the server stops answering while connected', () => {
  for (const settings of [KS_ON, KS_OFF]) {
    it(`kill switch ${settings.killSwitch ? 'on' : 'off'}: reconnecting with the tunnel up and the same firewall; back when it answers`, () => {
      const s = stateOf('connected');
      const ctx = ctxOf(settings);
      const lost = run(s, { type: 'handshakeLost', token: TOKEN }, ctx);
      checkStep(s, { type: 'handshakeLost', token: TOKEN }, lost, ctx);
      expect(lost.state).toMatchObject({ name: 'reconnecting', tunnel: 'umbra0', endpoint: EP, error: { code: 'NO_HANDSHAKE' } });
      expect(types(lost)).toEqual(['firewall', 'rehandshake']);
      expect(specOf(lost)).toEqual(specOf(run(s, { type: 'policyChanged' }, ctx)));
      expect(specOf(lost)).toMatchObject({ block: settings.killSwitch, tunnelInterface: 'umbra0' });
      const back = run(lost.state, { type: 'handshake', token: TOKEN }, ctx);
      expect(back.state).toMatchObject({ name: 'connected', attempt: 0, since: ctx.now });
      expect('error' in back.state).toBe(false);
    });
  }

  it('the engine gives up: error, the tunnel kept up and the block held, retries back off', () => {
    const reconnecting = stateOf('reconnecting');
    const gaveUp = run(reconnecting, { type: 'giveUp', token: TOKEN }, on);
    expect(gaveUp.state).toMatchObject({ name: 'error', tunnel: 'umbra0', error: { code: 'NO_HANDSHAKE' } });
    expect(specOf(gaveUp)).toMatchObject({ block: true, tunnelInterface: 'umbra0' });
    expect(types(gaveUp)).toEqual(['firewall', 'cancelTimers', 'timer']);
  });

  it('the tunnel dies: error TUNNEL_FAILED, the tunnel stopped under the block, the next attempt starts a new one', () => {
    const died = run(stateOf('connected'), { type: 'tunnelFailed', token: TOKEN, message: 'TUN gone', started: true }, on);
    expect(died.state).toMatchObject({ name: 'error', endpoint: EP, error: { code: 'TUNNEL_FAILED' } });
    expect(types(died)).toEqual(['firewall', 'cancelTimers', 'stopTunnel', 'timer']);
    expect(specOf(died)).toMatchObject({ block: true, endpoints: [EP] });
    expect(specOf(died)!.tunnelInterface).toBeUndefined();
    expect(types(run(died.state, { type: 'retry', token: TOKEN }, on))).toEqual(['firewall', 'startTunnel']);
  });
});

describe('a server switch while connected keeps the block throughout', () => {
  it('from connect to connected, every step blocks, and only the new endpoint is let out', () => {
    const steps = walk(stateOf('connected'), [
      { type: 'connect', target: DUAL },
      { type: 'tunnelUp', token: 100, interfaceName: 'umbra1' },
      { type: 'handshake', token: 100 },
    ]);
    expect(types(steps[0]!)).toEqual(['firewall', 'cancelTimers', 'stopTunnel', 'startTunnel']);
    for (const s of steps) expect(specOf(s)).toMatchObject({ block: true, endpoints: [{ address: '2001:db8::3', port: 51820 }] });
    expect(steps.at(-1)!.state).toMatchObject({ name: 'connected', target: DUAL, token: 100 });
    // The old attempt's results are stale now.
    expect(transition(steps[0]!.state, { type: 'handshake', token: TOKEN }, on)).toBeUndefined();
  });
});

describe('policyChanged: the kill switch decides what the states that want a connection hold', () => {
  it('turning it off while connected turns the block into the guard; off while resolving lifts it', () => {
    expect(specOf(run(stateOf('connected'), { type: 'policyChanged' }, off))).toMatchObject({ block: false, tunnelInterface: 'umbra0' });
    expect(specOf(run(stateOf('connecting, resolving'), { type: 'policyChanged' }, off))).toBeUndefined();
    expect(specOf(run(stateOf('error, unresolved'), { type: 'policyChanged' }, on))).toMatchObject({ block: true });
  });

  it('allow LAN is a flag for the fixed ranges: nothing else of the block changes', () => {
    const s = stateOf('connected');
    const { allowLan: a, ...lan } = specOf(run(s, { type: 'policyChanged' }, ctxOf({ killSwitch: true, lockdown: false, allowLan: true })))!;
    const { allowLan: b, ...noLan } = specOf(run(s, { type: 'policyChanged' }, on))!;
    expect([a, b]).toEqual([true, false]);
    expect(lan).toEqual(noLan);
  });
});

describe('connect again to the server in use', () => {
  it('connected or connecting to it: nothing happens; another server, or its re-imported config: a new connect', () => {
    const connected = stateOf('connected');
    const same = { type: 'connect', target: IP } as const;
    expect(transition(connected, same, on)).toBeUndefined();
    expect(transition(stateOf('connecting, tunnel up'), same, on)).toBeUndefined();
    const reimported = { ...IP, config: { ...IP.config, interface: { ...IP.config.interface, mtu: 1280 } } };
    expect(run(connected, { type: 'connect', target: reimported }, on).state.name).toBe('connecting');
    expect(run(connected, { type: 'connect', target: HOST }, on).state.name).toBe('connecting');
    // In error, a connect is the user's "try now".
    expect(run(stateOf('error, tunnel up'), same, on).state.name).toBe('connecting');
  });
});

describe('lockdown: nothing leaves outside the tunnel in any state, until it is turned off', () => {
  const locked = ctxOf(LOCKDOWN);

  it('disconnected blocks under lockdown, with or without a hold; turning it off lifts it', () => {
    for (const s of [stateOf('disconnected'), stateOf('disconnected, boot hold')]) {
      const step = run(s, { type: 'policyChanged' }, locked);
      checkStep(s, { type: 'policyChanged' }, step, locked);
      expect(specOf(step)).toMatchObject({ block: true, endpoints: [], dnsServers: [] });
    }
    expect(specOf(run(stateOf('disconnected'), { type: 'policyChanged' }, off))).toBeUndefined();
  });

  it('the user\'s disconnect keeps the block to the end and in disconnected (a hold it lifts, lockdown not)', () => {
    const steps = walk(stateOf('connected'), [{ type: 'disconnect' }, { type: 'tornDown' }], LOCKDOWN);
    expect(steps.map((x) => x.state.name)).toEqual(['disconnecting', 'disconnected']);
    expect(steps.map((x) => specOf(x)?.block)).toEqual([true, true]);
    const fromHold = walk(stateOf('disconnected, boot hold'), [{ type: 'disconnect' }], LOCKDOWN)[0]!;
    expect(fromHold.state).toEqual({ name: 'disconnected' });
    expect(specOf(fromHold)).toMatchObject({ block: true });
  });

  it('connecting and connected block as with the kill switch, kill switch off', () => {
    const steps = walk({ name: 'disconnected' }, [{ type: 'connect', target: HOST }, { type: 'resolved', token: 100, endpoint: EP }], LOCKDOWN);
    expect(steps.map((x) => specOf(x)?.block)).toEqual([true, true]);
    expect(specOf(run(stateOf('connected'), { type: 'policyChanged' }, locked))).toMatchObject({ block: true, tunnelInterface: 'umbra0' });
  });
});

describe('no handshake in time: error, then retries with backoff', () => {
  it('the delays grow to the last one and stay there; every retry waits for a handshake again', () => {
    let s: State = stateOf('connecting, tunnel up');
    const delays: number[] = [];
    for (let i = 0; i < BACKOFF_MS.length + 2; i++) {
      const [failed, retried] = walk(s, [
        { type: 'timeout', token: TOKEN },
        { type: 'retry', token: TOKEN },
      ]);
      expect(failed!.state).toMatchObject({ name: 'error', error: { code: 'NO_HANDSHAKE' } });
      const timer = failed!.effects.find((x) => x.type === 'timer');
      expect(timer).toMatchObject({ name: 'retry', token: TOKEN });
      delays.push((timer as { ms: number }).ms);
      expect(retried!.effects).toContainEqual({ type: 'timer', name: 'timeout', token: TOKEN, ms: CONNECT_TIMEOUT_MS });
      expect(retried!.state).toMatchObject({ name: 'connecting', error: { code: 'NO_HANDSHAKE' } });
      s = retried!.state;
    }
    const start = (stateOf('connecting, tunnel up') as { attempt: number }).attempt;
    expect(delays).toEqual(Array.from({ length: delays.length }, (_, i) => BACKOFF_MS[Math.min(start + i, BACKOFF_MS.length - 1)]));
    expect(delays.at(-1)).toBe(BACKOFF_MS.at(-1));
  });

  it('a handshake while waiting to retry connects at once', () => {
    const step = run(stateOf('error, tunnel up'), { type: 'handshake', token: TOKEN }, on);
    expect(step.state).toMatchObject({ name: 'connected', attempt: 0 });
    expect(types(step)).toEqual(['firewall', 'cancelTimers']);
  });
});
