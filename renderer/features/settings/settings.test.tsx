import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { CONF, flush, mockApi, renderWith, SERVERS, settings } from '../../test/support.js';
import { SettingsPanel } from './SettingsPanel.js';

afterEach(cleanup);

async function renderSettings(m = mockApi(), launchAtLoginOffered = false) {
  const r = renderWith(<SettingsPanel launchAtLoginOffered={launchAtLoginOffered} />, m.api);
  await act(flush);
  return { ...r, m };
}

describe('settings', () => {
  it('each switch shows the helper’s value and asks the helper to change it', async () => {
    const { m } = await renderSettings(mockApi({ settings: settings({ allowLan: true }) }));
    expect(screen.getByRole('switch', { name: 'Kill switch on boot' }).getAttribute('aria-checked')).toBe('false');
    expect(screen.getByRole('switch', { name: 'Allow LAN' }).getAttribute('aria-checked')).toBe('true');
    expect(screen.getByRole('switch', { name: 'Auto-connect' }).getAttribute('aria-checked')).toBe('false');
    fireEvent.click(screen.getByRole('switch', { name: 'Kill switch on boot' }));
    const call = m.take('setSettings');
    expect(call.params).toEqual({ killSwitchOnBoot: true });
    expect(screen.getByRole('switch', { name: 'Kill switch on boot' }).getAttribute('aria-checked')).toBe('false');
    await act(async () => call.resolve(settings({ allowLan: true, killSwitchOnBoot: true })));
    expect(screen.getByRole('switch', { name: 'Kill switch on boot' }).getAttribute('aria-checked')).toBe('true');
  });

  it('kill switch on boot says what it means, when it takes effect, and the way out', async () => {
    await renderSettings(mockApi({ settings: settings({}) }));
    const sw = screen.getByRole('switch', { name: 'Kill switch on boot' });
    const desc = document.getElementById(sw.getAttribute('aria-describedby') ?? '')?.textContent ?? '';
    expect(desc).toMatch(/next boot, not now/);
    expect(desc).toMatch(/no network at all from early boot until Umbra connects/);
    expect(desc).toMatch(/turn this off \(which lifts the block at once\)/);
    expect(desc).toContain('sudo nft delete table inet umbra');
  });

  it('lockdown is a switch of its own, off until turned on', async () => {
    const { m } = await renderSettings(mockApi({ settings: settings({}) }));
    const lockdown = screen.getByRole('switch', { name: 'Lockdown' });
    expect(lockdown.getAttribute('aria-checked')).toBe('false');
    fireEvent.click(lockdown);
    const call = m.take('setSettings');
    expect(call.params).toEqual({ lockdown: true });
    await act(async () => call.resolve(settings({ lockdown: true })));
    expect(screen.getByRole('switch', { name: 'Lockdown' }).getAttribute('aria-checked')).toBe('true');
  });

  it('DNS servers: your own through the tunnel, the helper\'s refusal in its words, empty for each config\'s', async () => {
    const { m } = await renderSettings(mockApi({ settings: settings({}) }));
    const field = screen.getByRole('textbox', { name: 'DNS server addresses' });
    expect((field as HTMLInputElement).value).toBe('');
    fireEvent.change(field, { target: { value: '9.9.9.9, 2620:fe::fe' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save DNS servers' }));
    let call = m.take('setSettings');
    expect(call.params).toEqual({ dnsServers: ['9.9.9.9', '2620:fe::fe'] });
    await act(async () => call.resolve(settings({ dnsServers: ['9.9.9.9', '2620:fe::fe'] })));
    expect(screen.getByText('Using 9.9.9.9, 2620:fe::fe through the tunnel.')).toBeTruthy();

    fireEvent.change(field, { target: { value: 'nine' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save DNS servers' }));
    call = m.take('setSettings');
    await act(async () => call.reject({ code: -32602, message: 'dnsServers.0: a DNS server is an IPv4 or IPv6 address' }));
    expect(screen.getByRole('alert').textContent).toContain('a DNS server is an IPv4 or IPv6 address');

    fireEvent.change(field, { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save DNS servers' }));
    call = m.take('setSettings');
    expect(call.params).toEqual({ dnsServers: null });
    await act(async () => call.resolve(settings({})));
    expect(screen.getByText('Using each config’s own DNS.')).toBeTruthy();
  });

  it('local network domains: off by default, set as domains and servers, the helper\'s refusal in its words, both empty for off', async () => {
    const { m } = await renderSettings(mockApi({ settings: settings({}) }));
    const domains = screen.getByRole('textbox', { name: 'Local domains' });
    const servers = screen.getByRole('textbox', { name: 'Local DNS servers' });
    expect((domains as HTMLInputElement).value).toBe('');
    expect((servers as HTMLInputElement).value).toBe('');
    fireEvent.change(domains, { target: { value: 'Corp.Example, lan' } });
    fireEvent.change(servers, { target: { value: '198.51.100.53' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save local network domains' }));
    let call = m.take('setSettings');
    expect(call.params).toEqual({ lanDns: { domains: ['corp.example', 'lan'], servers: ['198.51.100.53'] } });
    await act(async () => call.resolve(settings({ lanDns: { domains: ['corp.example', 'lan'], servers: ['198.51.100.53'] } })));
    expect(screen.getByText('Names under corp.example, lan go to 198.51.100.53 on your local network.')).toBeTruthy();

    fireEvent.change(servers, { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save local network domains' }));
    call = m.take('setSettings');
    await act(async () => call.reject({ code: -32602, message: 'lanDns.servers: Too small: expected array to have >=1 items' }));
    expect(screen.getByRole('alert').textContent).toContain('lanDns.servers');

    fireEvent.change(domains, { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save local network domains' }));
    call = m.take('setSettings');
    expect(call.params).toEqual({ lanDns: null });
    await act(async () => call.resolve(settings({})));
    expect(screen.getByText('Every name goes through the tunnel.')).toBeTruthy();
  });

  it('launch at login appears only where the main process offers it', async () => {
    await renderSettings();
    expect(screen.queryByRole('switch', { name: 'Launch at login' })).toBeNull();
    cleanup();
    let on = true;
    await renderSettings(mockApi({}, { getLaunchAtLogin: async () => on, setLaunchAtLogin: async (v) => (on = v) }), true);
    const sw = screen.getByRole('switch', { name: 'Launch at login' });
    expect(sw.getAttribute('aria-checked')).toBe('true');
    fireEvent.click(sw);
    await waitFor(() => expect(screen.getByRole('switch', { name: 'Launch at login' }).getAttribute('aria-checked')).toBe('false'));
  });

  it('imports a .conf file: reads its text and hands it to the helper', async () => {
    const { m, store } = await renderSettings();
    const input = screen.getByLabelText('Choose a .conf file or QR code image') as HTMLInputElement;
    expect(input.type).toBe('file');
    fireEvent.change(input, { target: { files: [new File([CONF], 'office.conf', { type: 'text/plain' })] } });
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    const call = m.take('importConfig');
    expect(call.params).toEqual({ text: CONF, name: 'office' });
    const imported = { ...SERVERS[7]!, id: 'office', name: 'office' };
    act(() => m.emit({ type: 'servers', servers: [...SERVERS, imported] }));
    await act(async () => call.resolve({ server: imported }));
    expect(screen.getByText(/Imported “office” and selected it/)).toBeTruthy();
    expect(store.getState().selectedId).toBe('office');
  });

  it('shows the helper’s message for a bad config', async () => {
    const { m } = await renderSettings();
    fireEvent.change(screen.getByLabelText('Choose a .conf file or QR code image'), { target: { files: [new File(['hello'], 'notes.conf')] } });
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    await act(async () => m.take('importConfig').reject({ code: -32003, message: 'line 1: expected a [section] or key = value, found "hello"' }));
    expect(screen.getByRole('alert').textContent).toContain('This config was not imported: line 1: expected a [section] or key = value, found "hello"');
  });

  it('shows the lines the helper left out of an imported config, and why', async () => {
    const { m } = await renderSettings();
    fireEvent.change(screen.getByLabelText('Choose a .conf file or QR code image'), { target: { files: [new File([CONF], 'office.conf')] } });
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    const imported = { ...SERVERS[7]!, id: 'office', name: 'office' };
    const notes = [
      { line: 6, key: 'PostUp', why: 'Umbra never runs commands from a config' },
      { line: 7, key: 'ListenPort', why: 'Umbra picks its own UDP port for each connection' },
    ];
    await act(async () => m.take('importConfig').resolve({ server: imported, notes }));
    const items = screen.getAllByRole('listitem').map((li) => li.textContent);
    expect(items).toEqual(['Line 6: PostUp — Umbra never runs commands from a config', 'Line 7: ListenPort — Umbra picks its own UDP port for each connection']);
    expect(screen.getByText('Left out of the config:')).toBeTruthy();
  });

  it('loads a catalog from a chosen file (its text) or a typed URL; a typed path is not sent', async () => {
    const { m } = await renderSettings();
    fireEvent.change(screen.getByLabelText('Catalog URL'), { target: { value: 'https://vpn.example/servers.json' } });
    fireEvent.click(screen.getByRole('button', { name: 'Load' }));
    const call = m.take('loadCatalog');
    expect(call.params).toEqual({ url: 'https://vpn.example/servers.json' });
    await act(async () => call.resolve({ servers: SERVERS }));
    expect(screen.getByText(`Loaded the catalog: ${SERVERS.length} servers.`)).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Catalog URL'), { target: { value: '/etc/shadow' } });
    fireEvent.submit(screen.getByLabelText('Catalog URL'));
    expect(m.pending.some((p) => p.method === 'loadCatalog')).toBe(false);
    expect(screen.getByRole('alert').textContent).toContain('The catalog was not loaded: type an http(s) URL here');

    const input = screen.getByLabelText('Choose a catalog file') as HTMLInputElement;
    expect(input.type).toBe('file');
    const text = JSON.stringify({ servers: [] });
    fireEvent.change(input, { target: { files: [new File([text], 'servers.json', { type: 'application/json' })] } });
    await waitFor(() => expect(m.pending.some((p) => p.method === 'loadCatalog')).toBe(true));
    const picked = m.take('loadCatalog');
    expect(picked.params).toEqual({ text });
    await act(async () => picked.reject({ code: -32003, message: 'the catalog is not valid: the catalog lists no servers' }));
    expect(screen.getByRole('alert').textContent).toContain('The catalog was not loaded: the catalog is not valid: the catalog lists no servers');
  });

  it('sends the pinned signing key or the unsigned consent, and says whether the catalog was signed', async () => {
    const { m } = await renderSettings();
    fireEvent.change(screen.getByLabelText('Catalog URL'), { target: { value: 'https://vpn.example/servers.json' } });
    fireEvent.click(screen.getByLabelText(/Accept an unsigned catalog/));
    fireEvent.click(screen.getByRole('button', { name: 'Load' }));
    let call = m.take('loadCatalog');
    expect(call.params).toEqual({ url: 'https://vpn.example/servers.json', allowUnsigned: true });
    await act(async () => call.resolve({ servers: SERVERS, trust: { signed: false } }));
    expect(screen.getByTestId('catalog-trust').textContent).toBe('Unsigned');

    fireEvent.change(screen.getByLabelText(/Provider’s signing key/), { target: { value: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=' } });
    expect((screen.getByLabelText(/Accept an unsigned catalog/) as HTMLInputElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Load' }));
    call = m.take('loadCatalog');
    expect(call.params).toEqual({ url: 'https://vpn.example/servers.json', signingKey: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=' });
    await act(async () => call.resolve({ servers: SERVERS, trust: { signed: true, keyFingerprint: 'ab12 cd34 ef56 7890' } }));
    expect(screen.getByTestId('catalog-trust').textContent).toBe('Signed by ab12 cd34 ef56 7890');
  });
});
