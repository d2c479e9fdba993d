import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { KnownNetwork, NetworkRules } from '../../api.js';
import { flush, mockApi, renderWith, settings, status } from '../../test/support.js';
import { ConnectionPanel } from '../connection/ConnectionPanel.js';
import { NetworksSection } from './NetworksSection.js';

afterEach(cleanup);

const CAFE: KnownNetwork = { key: '0123456789abcdef', name: 'Café Wi-Fi', kind: 'wifi', rule: 'untrusted' };
const HOME: KnownNetwork = { key: 'fedcba9876543210', name: 'Home', kind: 'gateway', rule: 'trusted' };
const RULES: NetworkRules = { unseen: 'untrusted', known: [CAFE, HOME] };

async function renderNetworks(m = mockApi({ settings: settings({ networks: RULES }), status: status({ network: CAFE }) })) {
  const r = renderWith(<NetworksSection />, m.api);
  await act(flush);
  return { ...r, m };
}

const group = (name: string | RegExp) => screen.getByRole('group', { name });
const radio = (groupName: string | RegExp, name: RegExp) => within(group(groupName)).getByRole('radio', { name }) as HTMLInputElement;

describe('networks in settings', () => {
  it('off: the switch turns rules on with networks never seen untrusted, and nothing else shows', async () => {
    const { m } = await renderNetworks(mockApi({ settings: settings({}) }));
    const sw = screen.getByRole('switch', { name: 'Network rules' });
    expect(sw.getAttribute('aria-checked')).toBe('false');
    expect(screen.queryByRole('group', { name: 'Rule for networks never seen' })).toBeNull();
    fireEvent.click(sw);
    const call = m.take('setSettings');
    expect(call.params).toEqual({ networks: { unseen: 'untrusted', known: [] } });
    await act(async () => call.resolve(settings({ networks: { unseen: 'untrusted', known: [] } })));
    expect(screen.getByRole('switch', { name: 'Network rules' }).getAttribute('aria-checked')).toBe('true');
    expect(radio('Rule for networks never seen', /^Untrusted/).checked).toBe(true);
    expect(screen.getByText(/not identified yet/i)).toBeTruthy();
  });

  it('on: the switch turns them off (null), and the helper\'s refusal is shown', async () => {
    const { m } = await renderNetworks();
    fireEvent.click(screen.getByRole('switch', { name: 'Network rules' }));
    const call = m.take('setSettings');
    expect(call.params).toEqual({ networks: null });
    await act(async () => call.reject({ code: -32602, message: 'the helper said no' }));
    expect(screen.getByRole('alert').textContent).toContain('the helper said no');
    expect(screen.getByRole('switch', { name: 'Network rules' }).getAttribute('aria-checked')).toBe('true');
  });

  it('the current network: its name, renamed through setNetwork current', async () => {
    const { m } = await renderNetworks();
    const name = screen.getByRole('textbox', { name: 'Name of this network' }) as HTMLInputElement;
    expect(name.value).toBe('Café Wi-Fi');
    fireEvent.change(name, { target: { value: '  Corner café  ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save the name of this network' }));
    const call = m.take('setNetwork');
    expect(call.params).toEqual({ key: 'current', name: 'Corner café' });
    await act(async () => call.resolve({ ...RULES, known: [{ ...CAFE, name: 'Corner café' }, HOME] }));
    expect((screen.getByRole('textbox', { name: 'Name of this network' }) as HTMLInputElement).value).toBe('Corner café');
  });

  it('an empty name is not sent', async () => {
    const { m } = await renderNetworks();
    fireEvent.change(screen.getByRole('textbox', { name: 'Name of this network' }), { target: { value: '   ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save the name of this network' }));
    expect(m.pending.some((p) => p.method === 'setNetwork')).toBe(false);
    expect(screen.getByRole('alert').textContent).toContain('a network needs a name');
  });

  it('the current network\'s rule: three choices, each saying what it does; the helper\'s answer is shown', async () => {
    const { m } = await renderNetworks();
    expect(radio('Rule for this network', /^Untrusted — connect automatically, kill switch on$/).checked).toBe(true);
    expect(radio('Rule for this network', /^Trusted — do nothing$/).checked).toBe(false);
    fireEvent.click(radio('Rule for this network', /^Trusted/));
    const call = m.take('setNetwork');
    expect(call.params).toEqual({ key: 'current', rule: 'trusted' });
    await act(async () => call.resolve({ ...RULES, known: [{ ...CAFE, rule: 'trusted' }, HOME] }));
    expect(radio('Rule for this network', /^Trusted/).checked).toBe(true);
  });

  it('networks never seen: untrusted is said to be the safe choice; a change keeps the known networks', async () => {
    const { m } = await renderNetworks();
    expect(within(screen.getByRole('region', { name: 'Networks never seen' })).getByText(/Untrusted is the safe choice/)).toBeTruthy();
    // Trusting is only as safe as the identity: the section says anyone can pretend to be a trusted network.
    expect(screen.getByText(/someone on another network can pretend to be one you trust/)).toBeTruthy();
    fireEvent.click(radio('Rule for networks never seen', /^Ask/));
    const call = m.take('setSettings');
    expect(call.params).toEqual({ networks: { unseen: 'ask', known: [CAFE, HOME] } });
  });

  it('other known networks are listed by name, each with its rule and a rename by key', async () => {
    const { m } = await renderNetworks();
    const others = screen.getByRole('region', { name: 'Other networks' });
    expect(within(others).getAllByRole('listitem')).toHaveLength(1); // the current one is above, not here
    expect(radio('Rule for Home', /^Trusted/).checked).toBe(true);
    fireEvent.click(radio('Rule for Home', /^Ask/));
    expect(m.take('setNetwork').params).toEqual({ key: HOME.key, rule: 'ask' });
    fireEvent.change(screen.getByRole('textbox', { name: 'Name of Home' }), { target: { value: 'Flat' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save the name of Home' }));
    expect(m.take('setNetwork').params).toEqual({ key: HOME.key, name: 'Flat' });
  });

  it('forgets a network by key, and the current one as current', async () => {
    const { m } = await renderNetworks();
    fireEvent.click(screen.getByRole('button', { name: 'Forget Home' }));
    expect(m.take('setNetwork').params).toEqual({ key: HOME.key, forget: true });
    fireEvent.click(screen.getByRole('button', { name: /^Forget this network/ }));
    expect(m.take('setNetwork').params).toEqual({ key: 'current', forget: true });
  });
});

describe('the question on a network whose rule is ask', () => {
  async function renderPanel(rule: KnownNetwork['rule']) {
    const net = { ...CAFE, rule };
    const m = mockApi({ settings: settings({ networks: { unseen: 'ask', known: [net] } }), status: status({ network: net }) });
    renderWith(<ConnectionPanel />, m.api);
    await act(flush);
    return m;
  }

  it('asks by name; "Trust it" sets the network trusted and the question goes', async () => {
    const m = await renderPanel('ask');
    const banner = screen.getByRole('region', { name: 'Trust this network?' });
    expect(banner.textContent).toContain('Is Café Wi-Fi a network you trust?');
    fireEvent.click(within(banner).getByRole('button', { name: 'Trust it' }));
    const call = m.take('setNetwork');
    expect(call.params).toEqual({ key: CAFE.key, rule: 'trusted' });
    await act(async () => call.resolve({ unseen: 'ask', known: [{ ...CAFE, rule: 'trusted' }] }));
    expect(screen.queryByRole('region', { name: 'Trust this network?' })).toBeNull();
  });

  it('"Don’t trust it" sets it untrusted', async () => {
    const m = await renderPanel('ask');
    fireEvent.click(screen.getByRole('button', { name: 'Don’t trust it' }));
    expect(m.take('setNetwork').params).toEqual({ key: CAFE.key, rule: 'untrusted' });
  });

  it('no question on a network with a rule', async () => {
    await renderPanel('untrusted');
    expect(screen.queryByRole('region', { name: 'Trust this network?' })).toBeNull();
  });
});
