import { describe, expect, it } from 'vitest';
import { AppController } from './controller.js';
import type { Notice } from './notifications.js';
import { StateMirror } from './state-mirror.js';
import { connected, FakeLink, flush, FRANKFURT, snapshot, status, STOCKHOLM } from './testing/fakes.js';
import type { TrayModel } from './tray-model.js';

function setup(recentIds: string[] = []) {
  const link = new FakeLink();
  const mirror = new StateMirror(link);
  const drawn: TrayModel[] = [];
  const notices: Notice[] = [];
  let recent = [...recentIds];
  const added: string[] = [];
  const shown: string[] = [];
  let panel: 'dark' | 'light' = 'dark';
  const controller = new AppController({
    link,
    mirror,
    recent: {
      list: () => recent,
      add: async (id) => {
        added.push(id);
        recent = [id, ...recent.filter((x) => x !== id)];
        return recent;
      },
    },
    tray: { render: (m) => drawn.push(m) },
    notifier: { show: (n) => notices.push(n) },
    panel: () => panel,
    showWindow: () => shown.push('window'),
    quit: () => shown.push('quit'),
    now: () => 0,
  });
  mirror.start();
  controller.start();
  return { link, mirror, controller, drawn, notices, added, shown, setPanel: (p: 'dark' | 'light') => (panel = p) };
}

describe('AppController', () => {
  it('draws the tray at start and on every change that changes it, not for byte counters', async () => {
    const { link, drawn, controller, setPanel } = setup();
    expect(drawn.map((m) => m.tooltip)).toEqual(['Umbra: starting…']);
    link.autoSnapshot = snapshot({ status: connected(STOCKHOLM) });
    link.setReachable(true);
    await flush();
    expect(drawn.at(-1)?.tooltip).toBe('Umbra: Connected to Stockholm, Sweden');
    const n = drawn.length;
    link.push({ type: 'status', status: connected(STOCKHOLM, { rxBytes: 1000, txBytes: 200 }) });
    expect(drawn).toHaveLength(n);
    setPanel('light');
    controller.refresh();
    expect(drawn.at(-1)?.iconName).toBe('connected-dark');
    link.setReachable(false, 'the Umbra helper is not running');
    expect(drawn.at(-1)?.tooltip).toBe('Umbra: helper not running · you are not protected');
  });

  it('notifies a drop the user did not cause, and not a disconnect they asked for', async () => {
    const { link, notices, controller } = setup();
    link.autoSnapshot = snapshot({ status: connected(STOCKHOLM, { blocked: true, firewallActive: true }) });
    link.setReachable(true);
    await flush();
    link.push({ type: 'status', status: status({ state: 'connecting', server: STOCKHOLM, blocked: true, firewallActive: true, attempt: 1 }) });
    expect(notices.map((n) => n.body)).toEqual(['Umbra: the VPN connection dropped — reconnecting; your traffic is blocked']);
    link.push({ type: 'status', status: connected(STOCKHOLM) });
    controller.noteCall({ method: 'disconnect', params: {} });
    link.push({ type: 'status', status: status({ state: 'disconnecting', server: STOCKHOLM }) });
    link.push({ type: 'status', status: status() });
    expect(notices).toHaveLength(1);
  });

  it('does not notify a server switch made from the tray', async () => {
    const { link, notices, controller } = setup();
    link.autoSnapshot = snapshot({ status: connected(STOCKHOLM) });
    link.setReachable(true);
    await flush();
    await controller.dispatch({ type: 'connect', serverId: FRANKFURT.id });
    link.push({ type: 'status', status: status({ state: 'connecting', server: FRANKFURT }) });
    expect(notices).toEqual([]);
  });

  it('remembers the location of each connection', async () => {
    const { link, added, drawn } = setup([STOCKHOLM.id]);
    link.setReachable(true);
    await flush();
    link.push({ type: 'status', status: connected(FRANKFURT) });
    link.push({ type: 'status', status: connected(FRANKFURT, { rxBytes: 5 }) });
    expect(added).toEqual([FRANKFURT.id]);
    const sub = drawn.at(-1)?.items.find((i) => i.kind === 'submenu');
    expect(sub?.kind === 'submenu' && sub.items.map((i) => i.kind !== 'separator' && i.label)).toEqual(['Frankfurt, Germany (connected)', 'Stockholm, Sweden']);
  });

  it('carries out tray actions through the link', async () => {
    const { link, controller, shown } = setup();
    link.setReachable(true);
    await controller.dispatch({ type: 'connect', serverId: STOCKHOLM.id });
    await controller.dispatch({ type: 'connect' });
    await controller.dispatch({ type: 'disconnect' });
    await controller.dispatch({ type: 'setKillSwitch', enabled: true });
    await controller.dispatch({ type: 'setLockdown', enabled: false });
    await controller.dispatch({ type: 'setNetworkRule', key: '0123456789abcdef', rule: 'trusted' });
    await controller.dispatch({ type: 'showWindow' });
    await controller.dispatch({ type: 'quit' });
    expect(link.calls).toEqual([
      { method: 'connect', params: { serverId: STOCKHOLM.id } },
      { method: 'connect', params: {} },
      { method: 'disconnect', params: {} },
      { method: 'setSettings', params: { killSwitch: true } },
      { method: 'setSettings', params: { lockdown: false } },
      { method: 'setNetwork', params: { key: '0123456789abcdef', rule: 'trusted' } },
    ]);
    expect(shown).toEqual(['window', 'quit']);
  });

  it('shows a failed tray action as a notification', async () => {
    const { link, controller, notices } = setup();
    link.callError = { code: -32004, message: 'no profile yet: import a WireGuard config first' };
    await controller.dispatch({ type: 'connect' });
    expect(notices).toEqual([{ kind: 'failed', title: 'Umbra', body: 'no profile yet: import a WireGuard config first' }]);
  });
});
