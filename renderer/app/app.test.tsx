import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { CITIES } from '../dev/cities.js';
import { createFakeUmbra, makeServers } from '../dev/fake-umbra.js';
import { StoreProvider } from '../store/context.js';
import { createUmbraStore } from '../store/store.js';
import { flush, memoryStorage, mockApi, status, SERVERS } from '../test/support.js';
import { App } from './App.js';

afterEach(cleanup);

function renderApp(api = mockApi().api, launchAtLoginOffered = false) {
  const store = createUmbraStore(api, { storage: memoryStorage() });
  render(
    <StoreProvider store={store}>
      <App launchAtLoginOffered={launchAtLoginOffered} />
    </StoreProvider>,
  );
  return store;
}

/** What the browser's Tab does: focus the next element in the tab order (document order, tabindex ≥ 0). */
function tab(): Element {
  const all = [...document.querySelectorAll<HTMLElement | SVGElement>('a[href], button, input, select, textarea, [tabindex]')].filter(
    (el) => el.tabIndex >= 0 && !(el as HTMLButtonElement).disabled,
  );
  const next = all[(all.indexOf(document.activeElement as HTMLElement) + 1) % all.length]!;
  act(() => next.focus());
  return next;
}

describe('the app', () => {
  it('says so plainly when the helper is not running, and how to start it', async () => {
    const m = mockApi();
    m.subscribeError = { code: 'not-running', message: 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)' };
    renderApp(m.api, true);
    expect(screen.getByText('Reaching the Umbra helper…')).toBeTruthy();
    await act(flush);
    expect(screen.getByRole('heading', { name: 'The Umbra helper is not running' })).toBeTruthy();
    // Never seen: no claim either way.
    expect(screen.getByRole('heading', { name: 'Umbra cannot tell whether your traffic is blocked' })).toBeTruthy();
    expect(screen.getByText('sudo systemctl restart umbrad')).toBeTruthy();
    // Not knowing how this copy was installed, it names no checkout's command.
    expect(screen.queryByText(/npx umbrad/)).toBeNull();
    expect(screen.getByText(/no socket at \/run\/umbra\/umbrad.sock/)).toBeTruthy();

    // It comes back: the app shows the helper's picture.
    m.subscribeError = undefined;
    m.snapshot = { ...m.snapshot, status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() }) };
    m.setReachable(true);
    await act(flush);
    expect(screen.getByRole('button', { name: 'Disconnect' })).toBeTruthy();

    // And goes away again: the tunnel had no block, so nothing is protected now.
    act(() => m.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)'));
    expect(screen.getByRole('heading', { name: 'The Umbra helper is not running' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'You are not protected' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Disconnect' })).toBeNull();
  });

  it('with the kill switch’s block in the kernel when the helper went: says traffic is blocked', async () => {
    const m = mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now(), blocked: true, firewallActive: true, firewall: { wanted: 'block', kernel: 'block' } }) });
    renderApp(m.api, true);
    await act(flush);
    act(() => m.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)'));
    expect(screen.getByRole('heading', { name: 'Your traffic is blocked by the kill switch' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toMatch(/nothing leaves this computer until the helper is back/);
    expect(screen.queryByRole('heading', { name: 'You are not protected' })).toBeNull();
  });

  it('gives the command for how this copy was installed', async () => {
    const m = mockApi();
    m.subscribeError = { code: 'not-running', message: 'the Umbra helper is not running (no socket at /tmp/x.sock)' };
    renderApp(m.api, false);
    await act(flush);
    act(() => m.setReachable(false, 'the Umbra helper is not running (no socket at /tmp/x.sock)', { install: 'demo' }));
    expect(screen.getByText(/In the demo/).textContent).toMatch(/starts again by itself within seconds\. If it does not, stop the demo with Ctrl-C and start it again/);
    expect(screen.queryByText(/systemctl/)).toBeNull();

    // A checkout: serve from the checkout, on the socket this window uses.
    act(() => m.setReachable(false, 'the Umbra helper is not running (no socket at /tmp/x.sock)', { install: 'checkout', socket: '/tmp/x.sock' }));
    expect(screen.getByText('sudo npx umbrad serve --socket /tmp/x.sock')).toBeTruthy();
    expect(screen.queryByText(/systemctl/)).toBeNull();

    // The .deb: its unit.
    act(() => m.setReachable(false, 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)', { install: 'package' }));
    expect(screen.getByText('sudo systemctl restart umbrad')).toBeTruthy();
    expect(screen.queryByText(/npx umbrad/)).toBeNull();
    expect(screen.queryByText(/In the demo/)).toBeNull();
  });

  it('a window that opens after the helper went says what the host last saw of the block', async () => {
    const m = mockApi();
    m.subscribeError = { code: 'not-running', message: 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)' };
    renderApp(m.api, true);
    await act(flush);
    expect(screen.getByRole('heading', { name: 'Umbra cannot tell whether your traffic is blocked' })).toBeTruthy();
    act(() => m.setReachable(false, 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)', { install: 'package', lastBlocked: true }));
    expect(screen.getByRole('heading', { name: 'Your traffic is blocked by the kill switch' })).toBeTruthy();
    act(() => m.setReachable(false, 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)', { install: 'package', lastBlocked: false }));
    expect(screen.getByRole('heading', { name: 'You are not protected' })).toBeTruthy();
  });

  it('clears the lost connection’s error once the helper is back', async () => {
    const m = mockApi();
    const store = renderApp(m.api, true);
    await act(flush);
    act(() => void store.getState().connect(SERVERS[0]!.id));
    await act(async () => m.take('connect').reject({ code: 'closed', message: 'the Umbra helper closed the connection (did it stop or restart?)' }));
    expect(store.getState().errors.connection?.code).toBe('closed');
    act(() => m.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)'));
    m.snapshot = { ...m.snapshot, status: status({ state: 'connected', server: SERVERS[0], connectedSince: Date.now() }) };
    act(() => m.setReachable(true));
    await act(flush);
    expect(screen.getByRole('button', { name: 'Disconnect' })).toBeTruthy();
    expect(screen.queryByText(/closed the connection/)).toBeNull();
  });

  it('two clicks connect: a marker, then Connect', async () => {
    const m = mockApi();
    renderApp(m.api);
    await act(flush);
    fireEvent.click(screen.getByRole('button', { name: 'Madrid, Spain' }));
    expect(screen.getByText('Madrid, Spain', { selector: '.place-name' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(m.take('connect').params).toEqual({ serverId: 'es-mad-1' });
  });

  it('Tab reaches the map markers (every control is reachable), and Enter selects', async () => {
    const store = renderApp();
    await act(flush);
    const seen: Element[] = [];
    let el: Element;
    do {
      el = tab();
      seen.push(el);
    } while (!el.classList.contains('marker') && seen.length < 50);
    expect(el.classList.contains('marker')).toBe(true);
    // On the way: the views, the connect button, the kill switch, the zoom buttons come later.
    const names = seen.map((e) => e.getAttribute('aria-label') ?? e.textContent);
    expect(names).toContain('Connect');
    expect(seen.some((e) => e.getAttribute('role') === 'switch')).toBe(true);
    fireEvent.keyDown(el, { key: 'Enter' });
    expect(store.getState().selectedId).not.toBeNull();
    expect(el.getAttribute('aria-pressed')).toBe('true');
    // Next Tab leaves the map for its zoom buttons (one tab stop for all markers).
    expect(tab().getAttribute('aria-label')).toBe('Zoom in');
  });

  it('switches to Settings and back', async () => {
    renderApp(mockApi().api, true);
    await act(flush);
    fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    expect(screen.getByRole('switch', { name: 'Allow LAN' })).toBeTruthy();
    expect(screen.getByRole('switch', { name: 'Launch at login' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Settings' }).getAttribute('aria-current')).toBe('page');
    // The kill switch stays in the main view.
    expect(screen.getByRole('switch', { name: 'Kill switch' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Servers' }));
    expect(screen.getByRole('searchbox', { name: 'Search servers' })).toBeTruthy();
  });

  it('runs against the development fake: connect, connected, disconnect', async () => {
    // A few cities: Testing Library's role queries are slow on the full catalog in jsdom.
    const fake = createFakeUmbra({ servers: makeServers(CITIES.slice(0, 6), 2), connectMs: 20, tickMs: 0, app: false });
    renderApp(fake);
    await act(flush);
    fireEvent.click(screen.getByRole('button', { name: 'Oslo, Norway' }));
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(await screen.findByText('Connecting…')).toBeTruthy();
    expect(await screen.findByText('Connected', { selector: '.state-word' })).toBeTruthy();
    expect(screen.getByText('Oslo, Norway', { selector: '.place-name' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Disconnect' }));
    expect(await screen.findByText('Disconnected', { selector: '.state-word' })).toBeTruthy();
    fake.control.dispose();
  });
});
