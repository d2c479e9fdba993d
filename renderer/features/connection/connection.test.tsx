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
const banner = () => document.querySelector('.blocked-banner')?.textContent ?? null;

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

  it('says where Connect goes before it is pressed, and with nothing picked asks for a pick instead of choosing', async () => {
    const { m, store } = await renderPanel();
    const button = () => screen.getByRole('button', { name: 'Connect' });
    expect(button().getAttribute('aria-disabled')).toBe('true');
    expect(screen.getByText('Pick a location on the map or in the list first')).toBeTruthy();
    fireEvent.click(button());
    expect(m.pending).toHaveLength(0); // no server the user did not choose
    act(() => store.getState().select('es-mad-1'));
    expect(button().getAttribute('aria-disabled')).toBeNull();
    const hint = document.getElementById(button().getAttribute('aria-describedby')!);
    expect(hint?.textContent).toBe(`to ${SERVERS.find((s) => s.id === 'es-mad-1')!.name}`);
  });

  it('shows a refused connect in the helper’s words, and stops being busy', async () => {
    const { m, store } = await renderPanel();
    act(() => store.getState().select('es-mad-1'));
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
    const measuredExit = { state: 'measured' as const, ipv4: '203.0.113.5', at: now, matchesCatalog: true };
    await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: now - 65_000, rxBytes: 12_345_678, txBytes: 2_048, measuredExit }) }));
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

  it('the exit IP: measuring…, then what the helper measured; a catalog naming another is flagged', async () => {
    const sto = SERVERS[0]!; // the catalog says 203.0.113.5
    const up = status({ state: 'connected', server: sto, connectedSince: Date.now(), measuredExit: { state: 'measuring', matchesCatalog: null } });
    const { m } = await renderPanel(mockApi({ status: up }));
    const exitIp = () => document.querySelector('.stats .exit-ip');
    expect(exitIp()?.textContent).toBe('measuring…');
    expect(exitIp()?.getAttribute('aria-busy')).toBe('true');
    expect(screen.queryByText(/203\.0\.113\.5/)).toBeNull(); // not the catalog's word as if measured

    act(() => m.emit({ type: 'status', status: { ...up, measuredExit: { state: 'measured', ipv4: '203.0.113.5', at: Date.now(), matchesCatalog: true } } }));
    expect(exitIp()?.textContent).toBe('203.0.113.5');
    expect(document.querySelector('.exit-mismatch')).toBeNull();

    act(() => m.emit({ type: 'status', status: { ...up, measuredExit: { state: 'measured', ipv4: '203.0.113.66', at: Date.now(), matchesCatalog: false } } }));
    expect(exitIp()?.textContent).toBe('203.0.113.66');
    const warning = screen.getAllByRole('status').find((e) => e.classList.contains('exit-mismatch'));
    expect(warning?.textContent).toContain('The catalog says 203.0.113.5; the internet sees 203.0.113.66.');

    // The internet sees this computer's own address: an alert, not a figure to trust.
    act(() => m.emit({ type: 'status', status: { ...up, measuredExit: { state: 'measured', ipv4: '198.51.100.2', at: Date.now(), matchesCatalog: false, outsideTunnel: true } } }));
    expect(screen.getByRole('alert').textContent).toMatch(/Not through the tunnel: the internet sees 198\.51\.100\.2, this computer’s own address without the VPN/);
    expect(document.querySelector('.exit-mismatch')).toBeNull();

    // Disconnected: nothing measured is shown, and no warning stays behind.
    act(() => m.emit({ type: 'status', status: status() }));
    expect(exitIp()?.textContent).toBe('—');
    expect(document.querySelector('.exit-mismatch')).toBeNull();
  });

  it('the exit IP: "could not measure" when no echo service answered, the catalog\'s address only as the catalog\'s', async () => {
    const up = status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now(), measuredExit: { state: 'unmeasurable', at: Date.now(), matchesCatalog: null, error: 'timeout' } });
    await renderPanel(mockApi({ status: up }));
    expect(document.querySelector('.stats .exit-ip')?.textContent).toBe('could not measure');
    expect(document.querySelector('.exit-note')?.textContent).toBe('No IP-echo service answered through the tunnel; the catalog says 203.0.113.5, unconfirmed.');
    expect(document.querySelector('.exit-mismatch')).toBeNull();
  });

  it('names the state in words for each state', async () => {
    const { m } = await renderPanel();
    const words: [string, string][] = [
      ['connecting', 'Connecting…'],
      ['connected', 'Connected'],
      ['reconnecting', 'Reconnecting…'],
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

  it('connected, but the server has not answered for a few seconds: the panel says so', async () => {
    await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() - 60_000, noReplySince: Date.now() - 5_000 }) }));
    expect(stateWord()).toBe('Connected');
    const note = document.querySelector('.tunnel-error.reconnecting');
    expect(note?.textContent).toMatch(/^Waiting for the server: no reply from the server for [56] s; Umbra is asking it for a new handshake\.$/);
  });

  it('connected over a path smaller than the tunnel\'s packets: the panel names it and the MTU to set', async () => {
    await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() - 60_000, pathMtuFragmented: 12, pathMtu: { learnt: 1400, mtuThatFits: 1340 } }) }));
    expect(document.querySelector('.path-mtu')?.textContent).toBe(
      'Path MTU: the network carries at most 1400 bytes to the server, less than the tunnel\'s packets; 12 sent in fragments (set MTU = 1340 under [Interface] in the config to avoid it).',
    );
  });

  it('connected over a path that carries the packets: no path MTU note', async () => {
    await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() - 60_000, pathMtuFragmented: 0 }) }));
    expect(stateWord()).toBe('Connected');
    expect(document.querySelector('.path-mtu')).toBeNull();
  });

  it('reconnecting: the server stopped answering, the tunnel stays up, and Disconnect is the way out', async () => {
    const lost = status({
      state: 'reconnecting',
      server: SERVERS[0],
      attempt: 1,
      rxBytes: 5_000,
      error: { code: 'NO_HANDSHAKE', message: 'no answer from Stockholm 1 for 3 minutes' },
    });
    const { m } = await renderPanel(mockApi({ status: lost }));
    expect(stateWord()).toBe('Reconnecting…');
    expect(document.querySelector('.state-line')?.textContent).toContain('(attempt 2)');
    expect(screen.getByText('Reconnecting to')).toBeTruthy();
    const note = document.querySelector('.tunnel-error.reconnecting');
    expect(note?.textContent).toBe('Reconnecting: the server stopped answering. The tunnel stays up while Umbra waits for an answer.no answer from Stockholm 1 for 3 minutes');
    // Not a failure to connect: no alert.
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Connect' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Disconnect' }));
    expect(m.take('disconnect').params).toEqual({});
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], connectedSince: 1 }) }));
    expect(document.querySelector('.tunnel-error')).toBeNull();
  });

  it('shows a banner while the kernel blocks traffic outside a working tunnel, in words for each state', async () => {
    const { m } = await renderPanel(mockApi({ status: status({ state: 'error', server: SERVERS[0], blocked: true }) }));
    expect(banner()).toBe('Traffic blocked. Nothing leaves this computer outside the tunnel until it is up. Disconnect to lift the block.');
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], blocked: true }) }));
    expect(banner()).toBeNull();
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[0], blocked: true }) }));
    expect(banner()).toBe('Traffic blocked. Nothing leaves this computer outside the tunnel until the server answers again. Disconnect to lift the block.');
    // The guard alone (no kill switch) blocks nothing.
    act(() => m.emit({ type: 'status', status: status({ state: 'reconnecting', server: SERVERS[0], firewallActive: true }) }));
    expect(banner()).toBeNull();
  });

  it('a block held on boot: says why and the way out', async () => {
    await renderPanel(mockApi({ status: status({ blocked: true, hold: 'boot' }), settings: settings({ killSwitchOnBoot: true }) }));
    expect(banner()).toBe('Blocked: kill switch on boot — connect, or turn the setting off');
    expect(screen.queryByRole('button', { name: 'Lift the block' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Connect' })).toBeTruthy();
  });

  it('a block held after a crash with unreadable settings: says why, and Lift the block disconnects', async () => {
    const { m } = await renderPanel(mockApi({ status: status({ blocked: true, hold: 'unreadable-state' }) }));
    expect(banner()).toBe('Blocked: Umbra could not read its settings after a crash; connect, or disconnect to lift the blockLift the block');
    fireEvent.click(screen.getByRole('button', { name: 'Lift the block' }));
    const call = m.take('disconnect');
    expect(call.params).toEqual({});
    expect(screen.getByRole('button', { name: 'Lift the block' }).getAttribute('aria-busy')).toBe('true');
    await act(async () => call.resolve(status()));
    expect(banner()).toBeNull();
  });

  it('lockdown while disconnected: says so, Connect is there, and Turn lockdown off turns it off', async () => {
    const { m } = await renderPanel(mockApi({ status: status({ blocked: true, hold: 'lockdown' }), settings: settings({ lockdown: true }) }));
    expect(banner()).toBe('Blocked: lockdown is on — connect, or turn lockdown offTurn lockdown off');
    expect(screen.getByRole('button', { name: 'Connect' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Lift the block' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Turn lockdown off' }));
    const call = m.take('setSettings');
    expect(call.params).toEqual({ lockdown: false });
  });

  it('the banner follows the kernel: a hold whose block is not in the kernel shows none', async () => {
    await renderPanel(mockApi({ status: status({ hold: 'unreadable-state', firewall: { wanted: 'block', kernel: 'none' } }) }));
    expect(banner()).toBeNull();
  });
});
