import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeakCheckResult, LeakReport } from '../../api.js';
import { StoreProvider } from '../../store/context.js';
import { createUmbraStore } from '../../store/store.js';
import { flush, memoryStorage, mockApi, SERVERS, settings, status, type MockApi } from '../../test/support.js';
import { LeakCheckPanel } from './LeakCheckPanel.js';
import type { CandidateGatherer, GatherResult } from './webrtc.js';

afterEach(cleanup);

const check = (id: LeakCheckResult['id'], title: string, verdict: LeakCheckResult['verdict'], finding: string, evidence: [string, string][] = []): LeakCheckResult => ({
  id,
  title,
  verdict,
  finding,
  evidence: evidence.map(([label, text]) => ({ label, text })),
});

const REPORT: LeakReport = {
  checkedAt: Date.UTC(2025, 0, 1, 12),
  state: 'connected',
  serverId: 'se-sto-1',
  checks: [
    check('public-ip', 'Public IP address', 'pass', 'The internet sees 203.0.113.5, the exit address of Stockholm 1', [['Seen by http://203.0.113.250/', '203.0.113.5']]),
    check('dns', 'DNS', 'fail', 'DNS leaks: 203.0.113.251 is reached outside the tunnel', [['Resolver 203.0.113.251 (nameserver in /etc/resolv.conf)', 'OUTSIDE the tunnel: 203.0.113.251 via 198.51.100.1 dev eth0']]),
    check('ipv6', 'IPv6', 'pass', 'IPv6 outside the tunnel is blocked by the kill switch'),
    check('kill-switch', 'Kill switch', 'warn', 'The kill switch is off: if the tunnel drops, traffic goes out unprotected', [['nft list table inet umbra', 'table inet umbra {\n\tchain output {\n\t}\n}']]),
  ],
  addresses: { seen: ['203.0.113.5'], seen6: [], exit: '203.0.113.5', preVpn: '198.51.100.2', own: ['198.51.100.2'], tunnel: ['100.64.1.2'] },
  stunServers: ['stun:203.0.113.250:3478'],
};

const SRFLX: GatherResult = { candidates: [{ type: 'srflx', address: '203.0.113.5', port: 5000, protocol: 'udp' }], stunServers: ['stun:203.0.113.250:3478'] };

async function renderPanel(m: MockApi = mockApi(), webrtc: CandidateGatherer = async () => SRFLX) {
  const gather = vi.fn(webrtc);
  const store = createUmbraStore(m.api, { storage: memoryStorage(), webrtc: gather });
  store.getState().start();
  render(
    <StoreProvider store={store}>
      <LeakCheckPanel />
    </StoreProvider>,
  );
  await act(flush);
  return { m, store, gather };
}

const runButton = () => screen.getByRole('button', { name: 'Run leak check' });
const item = (title: string) => screen.getByRole('heading', { name: new RegExp(`^${title}`) }).closest('li')!;

describe('the leak-check panel', () => {
  it('runs on request and shows every check with its verdict in words and its finding', async () => {
    const { m, gather } = await renderPanel(mockApi({ settings: settings({ stunServers: ['stun:203.0.113.250:3478'] }), status: status({ state: 'connected', server: SERVERS[0] }) }));
    expect(screen.getByRole('status').textContent).toBe('No leak check has run yet.');
    fireEvent.click(runButton());
    expect(runButton().hasAttribute('disabled')).toBe(true);
    expect(runButton().getAttribute('aria-busy')).toBe('true');
    expect(screen.getByRole('status').textContent).toBe('Checking… 0 of 5 done');
    expect(gather).toHaveBeenCalledWith(['stun:203.0.113.250:3478'], 5000);
    await act(async () => m.take('leakCheck').resolve(REPORT));
    await act(flush);
    expect(runButton().hasAttribute('disabled')).toBe(false);

    const titles = within(screen.getByRole('list', { name: 'Leak check results' })).getAllByRole('heading').map((h) => h.textContent);
    expect(titles).toEqual(['Public IP addressPass', 'DNSFail', 'IPv6Pass', 'Kill switchWarning', 'WebRTCPass']);
    expect(screen.getByText('DNS leaks: 203.0.113.251 is reached outside the tunnel')).toBeTruthy();
    expect(screen.getByText('A web page can learn only the VPN’s address (203.0.113.5) through WebRTC')).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('1 failed · 1 warning · 3 passed.');
    expect(screen.getByText(/^Checked at .* while connected to Stockholm 1\.$/)).toBeTruthy();
  });

  it('outside the helper’s network (the demo’s window): WebRTC is not gathered, and says it could not test', async () => {
    const { m, gather } = await renderPanel(mockApi({ settings: settings({ stunServers: ['stun:203.0.113.250:3478'] }), status: status({ state: 'connected', server: SERVERS[0] }) }));
    act(() => m.setReachable(true, undefined, { install: 'demo', elsewhere: true }));
    fireEvent.click(runButton());
    await act(async () => m.take('leakCheck').resolve(REPORT));
    await act(flush);
    expect(gather).not.toHaveBeenCalled();
    const titles = within(screen.getByRole('list', { name: 'Leak check results' })).getAllByRole('heading').map((h) => h.textContent);
    expect(titles.at(-1)).toBe('WebRTCWarning');
    expect(screen.getByText(/^Could not test: this window runs outside the network the helper protects/)).toBeTruthy();
  });

  it('while it runs, each check shows its own state: waiting, running, then its result as the helper tells it', async () => {
    const { m } = await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0] }) }));
    fireEvent.click(runButton());
    const rows = () =>
      within(screen.getByRole('list', { name: 'Leak check progress' }))
        .getAllByRole('heading')
        .map((h) => h.textContent);
    // Before the helper has said anything: its checks wait; the page's WebRTC gathering runs.
    expect(rows()).toEqual(['Public IP addressWaiting', 'DNSWaiting', 'IPv6Waiting', 'Kill switchWaiting', 'WebRTCRunning…']);
    expect(screen.queryByRole('list', { name: 'Leak check results' })).toBeNull();

    const [ip, dns, v6, ks] = REPORT.checks as [LeakCheckResult, LeakCheckResult, LeakCheckResult, LeakCheckResult];
    const progress = (done: LeakCheckResult[]) =>
      act(() => m.emit({ type: 'leakCheck', progress: { checkedAt: REPORT.checkedAt, running: ['public-ip', 'dns', 'ipv6', 'kill-switch'].filter((id) => !done.some((r) => r.id === id)) as LeakCheckResult['id'][], done } }));
    progress([]);
    expect(rows()).toEqual(['Public IP addressRunning…', 'DNSRunning…', 'IPv6Running…', 'Kill switchRunning…', 'WebRTCRunning…']);
    progress([ks]);
    expect(rows()).toEqual(['Public IP addressRunning…', 'DNSRunning…', 'IPv6Running…', 'Kill switchWarning', 'WebRTCRunning…']);
    expect(screen.getByRole('status').textContent).toBe('Checking… 1 of 5 done');
    progress([ip, v6, ks]);
    expect(rows()).toEqual(['Public IP addressPass', 'DNSRunning…', 'IPv6Pass', 'Kill switchWarning', 'WebRTCRunning…']);
    // A finished row is the full result: its finding and evidence, while the others still run.
    expect(within(item('Public IP address')).getByText(ip.finding)).toBeTruthy();
    expect(within(item('DNS')).queryByRole('img')).toBeNull();
    expect(item('DNS').getAttribute('aria-busy')).toBe('true');
    progress([ip, dns, v6, ks]);
    expect(screen.getByRole('status').textContent).toBe('Checking… 4 of 5 done');

    await act(async () => m.take('leakCheck').resolve(REPORT));
    await act(flush);
    expect(screen.queryByRole('list', { name: 'Leak check progress' })).toBeNull();
    expect(within(screen.getByRole('list', { name: 'Leak check results' })).getAllByRole('heading').map((h) => h.textContent)).toEqual(['Public IP addressPass', 'DNSFail', 'IPv6Pass', 'Kill switchWarning', 'WebRTCPass']);
  });

  it('progress of a run this page did not start is not shown', async () => {
    const { m, store } = await renderPanel();
    act(() => m.emit({ type: 'leakCheck', progress: { checkedAt: 1, running: [], done: REPORT.checks } }));
    expect(store.getState().leakCheck.progress).toBeNull();
    expect(screen.queryByRole('list', { name: 'Leak check progress' })).toBeNull();
  });

  it('good news only for the connection it was taken on: stale after a disconnect, never "nothing escapes" when not connected', async () => {
    const allPass = { ...REPORT, checks: REPORT.checks.map((c) => ({ ...c, verdict: 'pass' as const })) };
    const { m } = await renderPanel(mockApi({ status: status({ state: 'connected', server: SERVERS[0] }) }));
    fireEvent.click(runButton());
    await act(async () => m.take('leakCheck').resolve(allPass));
    await act(flush);
    expect(screen.getByRole('status').textContent).toBe('All 5 checks passed: nothing escapes the tunnel.');
    act(() => m.emit({ type: 'status', status: status() })); // disconnected
    expect(screen.getByRole('status').textContent).toBe('Out of date: taken on an earlier connection, run it again (5 passed).');

    fireEvent.click(runButton());
    await act(async () => m.take('leakCheck').resolve({ ...allPass, state: 'disconnected', serverId: undefined }));
    await act(flush);
    expect(screen.getByRole('status').textContent).toBe('Not connected when checked: these results do not show a working tunnel (5 passed).');
  });

  it('each verdict icon has a text alternative (not colour alone)', async () => {
    const { m } = await renderPanel();
    fireEvent.click(runButton());
    await act(async () => m.take('leakCheck').resolve(REPORT));
    await act(flush);
    expect(within(item('DNS')).getByRole('img', { name: 'Fail' })).toBeTruthy();
    expect(within(item('Kill switch')).getByRole('img', { name: 'Warning' })).toBeTruthy();
    expect(within(item('Public IP address')).getByRole('img', { name: 'Pass' })).toBeTruthy();
    expect(screen.getAllByRole('img', { name: 'Pass' })).toHaveLength(3);
    // The visible word too.
    expect(within(item('DNS')).getByText('Fail').className).toContain('verdict-word');
  });

  it('shows the evidence behind a disclosure button per check', async () => {
    const { m } = await renderPanel();
    fireEvent.click(runButton());
    await act(async () => m.take('leakCheck').resolve(REPORT));
    await act(flush);
    const toggle = screen.getByRole('button', { name: 'Show evidence for DNS' });
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    const region = document.getElementById(toggle.getAttribute('aria-controls')!)!;
    expect(region.hidden).toBe(true);
    fireEvent.click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(region.hidden).toBe(false);
    expect(within(region).getByText('Resolver 203.0.113.251 (nameserver in /etc/resolv.conf)')).toBeTruthy();
    expect(within(region).getByText('OUTSIDE the tunnel: 203.0.113.251 via 198.51.100.1 dev eth0')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Hide evidence for DNS' })).toBe(toggle);
    // A listing keeps its lines.
    fireEvent.click(screen.getByRole('button', { name: 'Show evidence for Kill switch' }));
    expect(item('Kill switch').querySelector('pre')?.textContent).toBe('table inet umbra {\n\tchain output {\n\t}\n}');
    // The others stay closed.
    expect(screen.getByRole('button', { name: 'Show evidence for IPv6' }).getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(toggle);
    expect(region.hidden).toBe(true);
  });

  it('runs by itself when the status turns connected (once per connect)', async () => {
    const { m, store } = await renderPanel();
    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[0] }) }));
    expect(m.pending.some((p) => p.method === 'leakCheck')).toBe(false);
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], connectedSince: 1 }) }));
    expect(m.pending.filter((p) => p.method === 'leakCheck')).toHaveLength(1);
    expect(screen.getByRole('status').textContent).toBe('Checking… 0 of 5 done');
    // More status while connected (traffic counters) does not start another.
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], connectedSince: 1, rxBytes: 5 }) }));
    await act(async () => m.take('leakCheck').resolve(REPORT));
    await act(flush);
    expect(m.pending.filter((p) => p.method === 'leakCheck')).toHaveLength(0);
    expect(store.getState().leakCheck.trigger).toBe('connect');
    expect(screen.getByText(/\(after connecting\)\.$/)).toBeTruthy();
    // A reconnect is another connect.
    act(() => m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[0], attempt: 1 }) }));
    act(() => m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0], connectedSince: 2 }) }));
    expect(m.pending.filter((p) => p.method === 'leakCheck')).toHaveLength(1);
  });

  it('a helper that cannot run its checks: its message, and the WebRTC check still shows', async () => {
    const { m } = await renderPanel(mockApi(), async () => ({ candidates: [], stunServers: [], unavailable: true }));
    fireEvent.click(runButton());
    await act(async () => m.take('leakCheck').reject({ code: 'not-running', message: 'the Umbra helper is not running' }));
    await act(flush);
    expect(screen.getByRole('alert').textContent).toContain('The helper could not run its checks: the Umbra helper is not running');
    expect(within(item('WebRTC')).getByRole('img', { name: 'Warning' })).toBeTruthy();
    expect(screen.getByText(/WebRTC is not available in this window/)).toBeTruthy();
  });
});
