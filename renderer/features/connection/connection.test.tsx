import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flush, mockApi, renderWith, SERVERS, settings, status } from '../../test/support.js';
import { ConnectionPanel } from './ConnectionPanel.js';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

async function renderPanel(m = mockApi()) {
  const r = renderWith(<ConnectionPanel />, m.api);
  await act(flush);
  return { ...r, m };
}

const stateWord = () => document.querySelector('.state-word')?.textContent;

describe('the connect button', () => {
  it('is named exactly "Connect" when disconnected, and busy until the helper says connecting', async () => {
    const { m, store } = await renderPanel();
    act(() => store.getState().select('es-mad-1'));
    const button = screen.getByRole('button', { name: 'Connect' });
    expect(button.getAttribute('aria-busy')).toBeNull();
    expect(stateWord()).toBe('Disconnected');

    fireEvent.click(button);
    expect(screen.getByRole('button', { name: 'Connect' }).getAttribute('aria-busy')).toBe('true');
    expect(stateWord()).toBe('Disconnected');
    expect(m.take('connect').params).toEqual({ serverId: 'es-mad-1' });

    // A second press while busy does not send another call.
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(m.pending).toHaveLength(0);

    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[3] }) }));
    expect(stateWord()).toBe('Connecting…');
    expect(screen.getByRole('button', { name: 'Disconnect' }).getAttribute('aria-busy')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Connect' })).toBeNull();
  });

  it('offers "Switch to" another picked place while connected, and goes straight there', async () => {
    const { m, store } = await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() }) }));
    expect(screen.queryByRole('button', { name: /^Switch to/ })).toBeNull();
    act(() => store.getState().select(SERVERS[0]!.id));
    expect(screen.queryByRole('button', { name: /^Switch to/ })).toBeNull(); // the place we are at
    act(() => store.getState().select('es-mad-1'));
    fireEvent.click(screen.getByRole('button', { name: /^Switch to .*Madrid/ }));
    expect(m.take('connect').params).toEqual({ serverId: 'es-mad-1' });
    expect(screen.getByRole('button', { name: 'Disconnect' })).toBeTruthy();
  });

  it('is "Disconnect" while connected, and busy while disconnecting', async () => {
    const { m } = await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() }) }));
    fireEvent.click(screen.getByRole('button', { name: 'Disconnect' }));
    expect(m.take('disconnect').params).toEqual({});
    expect(screen.getByRole('button', { name: 'Disconnect' }).getAttribute('aria-busy')).toBe('true');
    act(() => m.emit({ type: 'status', status: status({ state: 'disconnecting', server: SERVERS[0] }) }));
    expect(stateWord()).toBe('Disconnecting…');
    expect(screen.getByRole('button', { name: 'Disconnect' }).getAttribute('aria-busy')).toBe('true');
    act(() => m.emit({ type: 'status', status: status() }));
    expect(stateWord()).toBe('Disconnected');
    expect(screen.getByRole('button', { name: 'Connect' })).toBeTruthy();
  });

  it('shows a refused connect in the helper’s words, and stops being busy', async () => {
    const { m } = await renderPanel();
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    await act(async () => m.take('connect').reject({ code: -32002, message: "no servers yet: import your provider's WireGuard config first (umbra import FILE)" }));
    expect(screen.getByRole('alert').textContent).toContain("No servers yet: import your provider's WireGuard config first");
    expect(screen.getByRole('button', { name: 'Connect' }).getAttribute('aria-busy')).toBeNull();
  });
});

describe('the connection as the helper reports it', () => {
  it('shows where, the exit IP, a ticking time and the traffic in human units', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const now = new Date('2030-01-01T12:00:00Z').getTime();
    vi.setSystemTime(now);
    await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: now - 65_000, rxBytes: 12_345_678, txBytes: 2_048 }) }));
    expect(stateWord()).toBe('Connected');
    const panel = screen.getByRole('region', { name: 'Connection' });
    expect(panel.className).toContain('state-connected');
    expect(within(panel).getByText('Stockholm, Sweden')).toBeTruthy();
    expect(within(panel).getByText('203.0.113.5')).toBeTruthy();
    expect(within(panel).getByText('12 MB')).toBeTruthy();
    expect(within(panel).getByText('2.0 kB')).toBeTruthy();
    expect(within(panel).getByText('1:05')).toBeTruthy();
    act(() => vi.advanceTimersByTime(3000));
    expect(within(panel).getByText('1:08')).toBeTruthy();
  });

  it('names the state in words for each state', async () => {
    const { m } = await renderPanel();
    const words: [string, string][] = [
      ['connecting', 'Connecting…'],
      ['connected', 'Connected'],
      ['disconnecting', 'Disconnecting…'],
      ['error', 'Error'],
      ['disconnected', 'Disconnected'],
    ];
    for (const [state, word] of words) {
      act(() => m.emit({ type: 'status', status: status({ state: state as never, server: SERVERS[0] }) }));
      expect(stateWord()).toBe(word);
      expect(screen.getByRole('region', { name: 'Connection' }).className).toContain(`state-${state}`);
    }
  });

  it('in error, says what went wrong and what to do', async () => {
    await renderPanel(
      mockApi({
        status: status({ state: 'error', server: SERVERS[0], attempt: 2, error: { code: 'NO_HANDSHAKE', message: 'no answer from Stockholm 1 after 10 s. Umbra keeps trying; check your internet connection or pick another server.' } }),
      }),
    );
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('The tunnel is not up: no answer from Stockholm 1 after 10 s. Umbra keeps trying; check your internet connection or pick another server.');
    expect(alert.textContent).toContain('Press Disconnect to stop trying.');
    expect(screen.getByRole('button', { name: 'Disconnect' })).toBeTruthy();
  });

  it('shows a banner while traffic is blocked outside a connection', async () => {
    const { m } = await renderPanel(mockApi({ status: status({ blocked: true, firewallActive: true }), settings: settings({ killSwitchOnBoot: true }) }));
    expect(screen.getByText(/Traffic blocked\./).parentElement?.textContent).toContain('kill switch on boot');
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], blocked: true, firewallActive: true }) }));
    expect(screen.queryByText(/Traffic blocked\./)).toBeNull();
    act(() => m.emit({ type: 'status', status: status({ state: 'error', server: SERVERS[0], blocked: true, firewallActive: true }) }));
    expect(screen.getByText(/Traffic blocked\./)).toBeTruthy();
  });
});
