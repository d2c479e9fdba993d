// Every state × every event × every (kill switch, allow LAN): where each step goes, and that it
// keeps the contract (testing/fixtures.ts, checkStep). No timers, no I/O.
import { describe, expect, it } from 'vitest';
import { transition } from './transition.js';
import type { StateName } from './types.js';
import { checkPolicy, checkStep, ctxOf, events, SETTINGS, settle, specOf, STATES, TOKEN, tunnelOf, types } from './testing/fixtures.js';

const wanting = {
  connect: 'connecting',
  disconnect: 'disconnecting',
  'tunnelFailed (running)': 'error',
  'tunnelFailed (starting)': 'error',
  firewallFailed: 'error',
} as const;
const disconnected = { connect: 'connecting', disconnect: 'disconnected', 'start (boot)': 'disconnected', start: 'disconnected', policyChanged: 'disconnected' } as const;

/** Where each event (with the state's token) leads; an event not named changes nothing. */
const NEXT: Record<string, Record<string, StateName | undefined>> = {
  disconnected,
  'disconnected, boot hold': disconnected,
  'disconnected, unreadable-state hold': disconnected,
  'connecting, resolving': { ...wanting, resolved: 'connecting', unresolvable: 'error', timeout: 'error', giveUp: 'error', policyChanged: 'connecting' },
  'connecting, starting': { ...wanting, tunnelUp: 'connecting', timeout: 'error', giveUp: 'error', policyChanged: 'connecting' },
  'connecting, tunnel up': { ...wanting, handshake: 'connected', timeout: 'error', giveUp: 'error', policyChanged: 'connecting', pathChanged: 'connecting' },
  connected: { ...wanting, handshakeLost: 'reconnecting', giveUp: 'error', policyChanged: 'connected', pathChanged: 'connecting' },
  // The events' connect asks for DUAL, the server this state is already connected to: nothing to redo.
  'connected, dual stack': { ...wanting, connect: undefined, handshakeLost: 'reconnecting', giveUp: 'error', policyChanged: 'connected', pathChanged: 'connecting' },
  reconnecting: { ...wanting, handshake: 'connected', giveUp: 'error', policyChanged: 'reconnecting', pathChanged: 'connecting' },
  'error, unresolved': { ...wanting, retry: 'connecting', policyChanged: 'error', pathChanged: 'connecting' },
  'error, no tunnel': { ...wanting, retry: 'connecting', policyChanged: 'error', pathChanged: 'connecting' },
  'error, tunnel up': { ...wanting, retry: 'connecting', handshake: 'connected', policyChanged: 'error', pathChanged: 'connecting' },
  'disconnecting, no table kept': { connect: 'connecting', tornDown: 'disconnected' },
  'disconnecting, block kept': { connect: 'connecting', tornDown: 'disconnected' },
};

describe('transition: every state × every event × every setting', () => {
  it('the table names every representative state', () => {
    expect(Object.keys(NEXT).sort()).toEqual(STATES.map((x) => x.label).sort());
  });

  for (const settings of SETTINGS) {
    for (const { label, state } of STATES) {
      it(`${label}, ${JSON.stringify(settings)}`, () => {
        const ctx = ctxOf(settings);
        for (const { label: event, event: e } of events(TOKEN)) {
          const step = transition(state, e, ctx);
          // Lockdown blocks at once while the tunnel goes (the other settings wait for disconnected).
          const next = state.name === 'disconnecting' && event === 'policyChanged' && settings.lockdown ? 'disconnecting' : NEXT[label]![event];
          expect(step?.state.name, `${label} + ${event}`).toBe(next);
          if (step) checkStep(state, e, step, ctx);
        }
        // A result of an attempt that is not the state's (older or newer) changes nothing.
        for (const token of [TOKEN - 1, TOKEN + 1]) {
          for (const { event: e } of events(token)) if ('token' in e) expect(transition(state, e, ctx), `${label} + stale ${e.type}`).toBeUndefined();
        }
      });
    }
  }
});

describe("transition: the user's disconnect, from every state", () => {
  for (const settings of SETTINGS) {
    for (const { label, state } of STATES) {
      it(`${label}, ${JSON.stringify(settings)}: ends in disconnected with ${settings.lockdown ? 'the block (lockdown)' : 'no table'}, lifted last`, () => {
        const steps = settle(state, { type: 'disconnect' }, settings);
        if (state.name === 'disconnecting') return void expect(steps, 'already on its way').toEqual([]);
        const last = steps.at(-1)!;
        expect(last.state).toEqual({ name: 'disconnected' });
        if (settings.lockdown) expect(specOf(last), 'lockdown: the block stays').toMatchObject({ block: true, endpoints: [] });
        else expect(specOf(last), 'no table in the end').toBeUndefined();
        if (state.name === 'disconnected') return void expect(steps).toHaveLength(1);
        // The tunnel and its DNS go under the firewall the state held; the lift is a later step.
        const [down, lifted] = steps;
        checkPolicy(state, specOf(down!), ctxOf(settings), 'while the tunnel goes');
        expect(types(down!)).toEqual(['firewall', 'cancelTimers', 'stopTunnel', 'then']);
        expect(down!.state.name).toBe('disconnecting');
        expect(types(lifted!), 'the lift does nothing else').toEqual(['firewall']);
        expect(steps).toHaveLength(2);
        if (tunnelOf(state) && settings.killSwitch) expect(specOf(down!)).toMatchObject({ block: true, tunnelInterface: tunnelOf(state) });
      });
    }
  }
});

describe('transition: policyChanged recomputes the policy and nothing else', () => {
  for (const { label, state } of STATES) {
    it(label, () => {
      for (const after of SETTINGS) {
        const step = transition(state, { type: 'policyChanged' }, ctxOf(after));
        if (state.name === 'disconnecting' && !after.lockdown) {
          expect(step, 'the tunnel is going; its table stays until it is gone').toBeUndefined();
          continue;
        }
        if (state.name === 'disconnecting') {
          expect(step!.state, 'lockdown: the block, at once').toEqual({ ...state, keep: specOf(step!) });
          expect(types(step!)).toEqual(['firewall']);
          expect(specOf(step!)).toMatchObject({ block: true, endpoints: [], allowLan: after.allowLan });
          continue;
        }
        expect(step!.state, `${JSON.stringify(after)}: the same state`).toEqual(state);
        expect(types(step!)).toEqual(['firewall']);
        checkPolicy(state, specOf(step!), ctxOf(after), `${label} under ${JSON.stringify(after)}`);
      }
    });
  }
});
