// pathChanged in each state that wants a connection: a fresh attempt over the new path, with the
// state's own firewall first (the block when the kill switch is on, from the old tunnel to the new).
import { describe, expect, it } from 'vitest';
import { transition } from './transition.js';
import { ctxOf, specOf, stateOf, TOKEN } from './testing/fixtures.js';

const on = { ...ctxOf({ killSwitch: true, lockdown: false, allowLan: false }), token: TOKEN + 1 };

describe('pathChanged', () => {
  for (const label of ['connected', 'reconnecting', 'error, tunnel up', 'connecting, tunnel up']) {
    it(`${label}: the tunnel goes and a new attempt starts, under the block`, () => {
      const step = transition(stateOf(label), { type: 'pathChanged' }, on)!;
      expect(step.state).toMatchObject({ name: 'connecting', token: TOKEN + 1, attempt: 0 });
      expect('tunnel' in step.state && step.state.tunnel).toBeFalsy();
      expect(step.effects.map((e) => e.type).slice(0, 3)).toEqual(['firewall', 'cancelTimers', 'stopTunnel']);
      expect(specOf(step)).toMatchObject({ block: true });
    });
  }

  it('error without a tunnel: tries again now instead of after the backoff', () => {
    const step = transition(stateOf('error, no tunnel'), { type: 'pathChanged' }, on)!;
    expect(step.state.name).toBe('connecting');
    expect(step.effects.map((e) => e.type)).not.toContain('stopTunnel');
  });

  it('connecting before the tunnel exists, disconnected, disconnecting: nothing to do', () => {
    expect(transition(stateOf('connecting, resolving'), { type: 'pathChanged' }, on)).toBeUndefined();
    expect(transition(stateOf('disconnected'), { type: 'pathChanged' }, on)).toBeUndefined();
    expect(transition(stateOf('disconnecting, block kept'), { type: 'pathChanged' }, on)).toBeUndefined();
  });
});
