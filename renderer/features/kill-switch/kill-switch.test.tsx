import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { flush, mockApi, renderWith, SERVERS, settings, status } from '../../test/support.js';
import { BLOCKING_TEXT, KillSwitch } from './KillSwitch.js';

afterEach(cleanup);

async function renderSwitch(m = mockApi()) {
  renderWith(<KillSwitch />, m.api);
  await act(flush);
  return m;
}

const killSwitch = () => screen.getByRole('switch', { name: 'Kill switch' });

describe('the kill switch switch', () => {
  it('shows the helper’s setting, not the click, until the helper confirms', async () => {
    const m = await renderSwitch();
    expect(killSwitch().getAttribute('aria-checked')).toBe('false');
    fireEvent.click(killSwitch());
    expect(m.take('setSettings').params).toEqual({ killSwitch: true });
    expect(killSwitch().getAttribute('aria-checked')).toBe('false');
    expect(killSwitch().getAttribute('aria-busy')).toBe('true');
    act(() => m.emit({ type: 'settings', settings: settings({ killSwitch: true }) }));
    expect(killSwitch().getAttribute('aria-checked')).toBe('true');
  });

  it('says "blocking" only when the helper reports its rules in the kernel', async () => {
    const m = await renderSwitch(mockApi({ settings: settings({ killSwitch: true }), status: status({ state: 'connecting', server: SERVERS[0] }) }));
    expect(killSwitch().getAttribute('aria-checked')).toBe('true');
    expect(screen.queryByText(BLOCKING_TEXT)).toBeNull();
    expect(screen.getByText('On, but the helper reports no blocking rules in the kernel')).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[0], blocked: true, firewallActive: true }) }));
    expect(screen.getByText(BLOCKING_TEXT)).toBeTruthy();
    // Its description is tied to the switch for screen readers.
    const desc = document.getElementById(killSwitch().getAttribute('aria-describedby')!);
    expect(desc?.textContent).toBe(BLOCKING_TEXT);
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], blocked: false, firewallActive: false }) }));
    expect(screen.queryByText(BLOCKING_TEXT)).toBeNull();
  });

  it('the guard alone is no kill switch; a reconnecting tunnel wants the block too', async () => {
    const m = await renderSwitch(mockApi({ settings: settings({ killSwitch: true }), status: status({ state: 'connected', server: SERVERS[0], firewallActive: true }) }));
    expect(screen.getByText('On, but the helper reports no blocking rules in the kernel')).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[0], firewallActive: true }) }));
    expect(screen.getByText('On, but the helper reports no blocking rules in the kernel')).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[0], blocked: true }) }));
    expect(screen.getByText(BLOCKING_TEXT)).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[0], firewall: { wanted: 'block', kernel: 'foreign' } }) }));
    expect(screen.getByText('On, but another program’s table holds Umbra’s place in the kernel: nothing is blocked')).toBeTruthy();
  });

  it('off: says when traffic is blocked anyway, or a block the helper wants is missing', async () => {
    const m = await renderSwitch(mockApi({ status: status({ blocked: true, hold: 'boot' }) }));
    expect(killSwitch().getAttribute('aria-checked')).toBe('false');
    expect(screen.getByText('Off, but traffic is blocked for another reason (see above)')).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status({ hold: 'boot', firewall: { wanted: 'block', kernel: 'none' } }) }));
    expect(screen.getByText('Off; the helper wants a block, but reports none in the kernel')).toBeTruthy();
    act(() => m.emit({ type: 'status', status: status() }));
    expect(screen.getByText('Off: if the tunnel drops, traffic goes out unprotected')).toBeTruthy();
  });

  it('a refused change shows the helper’s message and the switch stays', async () => {
    const m = await renderSwitch();
    fireEvent.click(killSwitch());
    await act(async () => m.take('setSettings').reject({ code: -32005, message: 'nft is not installed: sudo apt install nftables' }));
    expect(killSwitch().getAttribute('aria-checked')).toBe('false');
    expect(screen.getByRole('alert').textContent).toContain('The kill switch did not change: nft is not installed: sudo apt install nftables');
  });

  it('is a keyboard-reachable button', async () => {
    await renderSwitch();
    expect(killSwitch().tagName).toBe('BUTTON');
    expect(killSwitch().tabIndex).toBe(0);
  });
});
