import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesktopAppInfo, ExcludedApp, UmbraError } from '../../api.js';
import { flush, mockApi, renderWith, type MockApi } from '../../test/support.js';
import { SettingsPanel } from './SettingsPanel.js';
import { SplitTunnel } from './SplitTunnel.js';
import type { SplitTunnelPort } from './use-split-tunnel.js';

afterEach(cleanup);

const ICON = 'data:image/svg+xml;base64,PHN2Zy8+';
const EDITOR: ExcludedApp = { id: 'editor.desktop', name: 'Editor', iconUrl: ICON, installed: true };
const INSTALLED: DesktopAppInfo[] = [
  { id: 'editor.desktop', name: 'Editor', iconUrl: ICON },
  { id: 'chess.desktop', name: 'Chess' },
  { id: 'bank.desktop', name: 'Bank' },
];

/** The host's side: an in-memory list; launches recorded, refused when `refuse` is set. */
function fakeApps(initial: ExcludedApp[] = [EDITOR]) {
  let list = [...initial];
  const calls: string[] = [];
  const state: { refuse?: UmbraError } = {};
  const apps: SplitTunnelPort['apps'] = {
    listInstalled: async () => (calls.push('listInstalled'), INSTALLED),
    listExcluded: async () => (calls.push('listExcluded'), list),
    add: async (id) => {
      calls.push(`add ${id}`);
      const a = INSTALLED.find((x) => x.id === id)!;
      list = [...list, { ...a, installed: true }];
      return list;
    },
    remove: async (id) => {
      calls.push(`remove ${id}`);
      list = list.filter((x) => x.id !== id);
      return list;
    },
    launch: async (id) => {
      calls.push(`launch ${id}`);
      if (state.refuse) throw state.refuse;
      return { pid: 4242 };
    },
  };
  return { apps, calls, state };
}

type Running = { available: boolean; reason?: string; excluded: { pid: number; name: string; uid: number }[] };

/** Answers the helper's pending listExcluded. */
async function answerRunning(m: MockApi, result: Running) {
  const call = m.take('listExcluded');
  await act(async () => call.resolve(result));
}

/** The section on `initial`, the helper having answered what runs outside the VPN. */
async function setup(opts: { initial?: ExcludedApp[]; running?: Running } = {}) {
  const m = mockApi();
  const host = fakeApps(opts.initial);
  render(<SplitTunnel port={{ call: m.api.call, apps: host.apps }} />);
  await act(flush);
  await answerRunning(m, opts.running ?? { available: true, excluded: [] });
  return { m, host };
}

describe('split tunnelling', () => {
  it('says what it does and that excluded apps are not protected', async () => {
    await setup();
    const section = screen.getByRole('region', { name: 'Split tunnelling' });
    expect(section.textContent).toMatch(/Start chosen apps outside the VPN/);
    expect(section.textContent).toMatch(/not protected: the network they use sees it/);
  });

  it('lists the apps with icon and name; a launch starts the app and asks the helper again', async () => {
    const { m, host } = await setup();
    const list = screen.getByRole('list', { name: 'Apps that run outside the VPN' });
    const row = within(list).getByRole('listitem');
    expect(row.textContent).toContain('Editor');
    expect(row.querySelector('img')?.getAttribute('src')).toBe(ICON);
    fireEvent.click(within(row).getByRole('button', { name: 'Launch Editor outside the VPN' }));
    await act(flush);
    expect(host.calls).toContain('launch editor.desktop');
    await answerRunning(m, { available: true, excluded: [{ pid: 4242, name: 'editor', uid: 1000 }] });
    expect(screen.getByRole('status').textContent).toBe('Started Editor outside the VPN.');
    const running = screen.getByRole('list', { name: 'Running outside the VPN' });
    expect(within(running).getByRole('listitem').textContent).toContain('editor');
  });

  it('moves a process back into the VPN through the helper', async () => {
    const { m } = await setup({ running: { available: true, excluded: [{ pid: 4242, name: 'editor', uid: 1000 }, { pid: 77, name: 'chess', uid: 1000 }] } });
    fireEvent.click(screen.getByRole('button', { name: 'Move back into the VPN: editor (process 4242)' }));
    const call = m.take('includeProcess');
    expect(call.params).toEqual({ pid: 4242 });
    await act(async () => call.resolve({ excluded: [{ pid: 77, name: 'chess', uid: 1000 }] }));
    expect(screen.queryByRole('button', { name: 'Move back into the VPN: editor (process 4242)' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Move back into the VPN: chess (process 77)' })).toBeTruthy();
  });

  it('adds an app from a searchable list of installed apps, without the ones already on it', async () => {
    const { host } = await setup();
    fireEvent.click(screen.getByRole('button', { name: 'Add an app' }));
    await act(flush);
    const installed = screen.getByRole('list', { name: 'Installed apps' });
    expect(within(installed).getAllByRole('button').map((b) => b.getAttribute('aria-label'))).toEqual(['Add Chess', 'Add Bank']);
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search installed apps' }), { target: { value: 'ba' } });
    expect(within(screen.getByRole('list', { name: 'Installed apps' })).getAllByRole('button').map((b) => b.getAttribute('aria-label'))).toEqual(['Add Bank']);
    fireEvent.click(screen.getByRole('button', { name: 'Add Bank' }));
    await act(flush);
    expect(host.calls).toContain('add bank.desktop');
    expect(screen.queryByRole('list', { name: 'Installed apps' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Launch Bank outside the VPN' })).toBeTruthy();
  });

  it('removes an app from the list', async () => {
    const { host } = await setup();
    fireEvent.click(screen.getByRole('button', { name: 'Remove Editor' }));
    await act(flush);
    expect(host.calls).toContain('remove editor.desktop');
    expect(screen.getByText('No apps on the list yet.')).toBeTruthy();
  });

  it('where the helper cannot exclude apps, says why and does not offer a launch', async () => {
    const { host } = await setup({ running: { available: false, reason: 'this machine has no cgroup v2', excluded: [] } });
    expect(screen.getByRole('note').textContent).toContain('this machine has no cgroup v2');
    const launch = screen.getByRole('button', { name: 'Launch Editor outside the VPN' }) as HTMLButtonElement;
    expect(launch.disabled).toBe(true);
    fireEvent.click(launch);
    await act(flush);
    expect(host.calls).not.toContain('launch editor.desktop');
  });

  it("shows a refused launch in the helper's words", async () => {
    const { host } = await setup();
    host.state.refuse = { code: -32001, message: 'Editor was not started: you do not own process 4242' };
    fireEvent.click(screen.getByRole('button', { name: 'Launch Editor outside the VPN' }));
    await act(flush);
    expect(screen.getByRole('alert').textContent).toContain('you do not own process 4242');
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('an app no longer installed can be removed but not launched', async () => {
    await setup({ initial: [{ id: 'gone.desktop', name: 'gone', installed: false }] });
    expect(screen.getByRole('listitem').textContent).toContain('no longer installed');
    expect((screen.getByRole('button', { name: 'Launch gone outside the VPN' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Remove gone' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("says why where the window's host will not read the apps", async () => {
    const m = mockApi();
    const apps = { ...fakeApps().apps, listExcluded: () => Promise.reject({ code: 'unavailable', message: 'this browser host runs as another account than your browser' }) };
    render(<SplitTunnel port={{ call: m.api.call, apps }} />);
    await act(flush);
    expect(screen.getByRole('alert').textContent).toContain('Could not read the list of apps: this browser host runs as another account than your browser');
    expect(screen.queryByText('Reading your list…')).toBeNull();
  });

  it('is in Settings only where the window’s host offers it', async () => {
    const m = mockApi();
    renderWith(<SettingsPanel launchAtLoginOffered={false} />, m.api);
    await act(flush);
    expect(screen.queryByRole('region', { name: 'Split tunnelling' })).toBeNull();
    cleanup();
    renderWith(<SettingsPanel launchAtLoginOffered={false} splitTunnel={{ call: m.api.call, apps: fakeApps().apps }} />, m.api);
    await act(flush);
    expect(screen.getByRole('region', { name: 'Split tunnelling' })).toBeTruthy();
  });
});
