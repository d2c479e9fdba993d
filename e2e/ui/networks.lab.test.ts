// Trusted and untrusted networks in the app, in Chromium against the real helper (issue 17): the
// Networks section turns the rules on, shows the network the helper identified (the lab's uplink,
// known by its gateway: the NetworkManager and iwd sources are pointed at a bus that does not
// exist, so this machine's own Wi-Fi never shows), renames it and trusts it. Each step is checked
// against what the helper then says, and the last against the kernel (the block lifted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpcClient } from '../../helper/ipc/client.js';
import type { KnownNetwork } from '../../helper/ipc/schema.js';
import { startUiSession, uiSkipReason, type UiSession } from './ui-session.js';

const why = uiSkipReason();
const NO_BUS = { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/umbra-lab-no-bus' };

describe.skipIf(why !== '')(`trusted networks in the app${why ? ` — skipped: ${why}` : ''}`, () => {
  let session: UiSession;
  let c: IpcClient;

  beforeAll(async () => {
    session = await startUiSession({ width: 1280, height: 900 }, { env: NO_BUS });
    c = await session.umbra.daemon.client();
  });

  afterAll(async () => {
    await c?.close();
    await session?.close();
  });

  it('turns the rules on, shows the network by its name, renames it and sets it trusted', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const rulesSwitch = page.getByRole('switch', { name: 'Network rules' });
    expect(await rulesSwitch.getAttribute('aria-checked')).toBe('false');
    await rulesSwitch.click();
    await expect.poll(() => rulesSwitch.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('true');
    expect((await c.call('getSettings')).networks).toMatchObject({ unseen: 'untrusted' });

    // The helper identifies the lab's network; the page shows the name the helper gave it.
    let network: KnownNetwork | undefined;
    await expect.poll(async () => (network = (await c.call('status')).network), { timeout: 20_000 }).toBeDefined();
    const name = page.getByRole('textbox', { name: 'Name of this network' });
    await expect.poll(() => name.inputValue({ timeout: 500 }).catch(() => null), { timeout: 10_000 }).toBe(network!.name);
    const rule = page.getByRole('group', { name: 'Rule for this network' });
    expect(network!.rule).toBe('untrusted'); // never seen before: the rule for networks never seen
    expect(await rule.getByRole('radio', { name: /^Untrusted/ }).isChecked()).toBe(true);

    await name.fill('Lab uplink');
    await page.getByRole('button', { name: 'Save the name of this network' }).click();
    await expect.poll(async () => (await c.call('status')).network?.name, { timeout: 10_000 }).toBe('Lab uplink');
    expect((await c.call('getSettings')).networks?.known).toContainEqual({ ...network!, name: 'Lab uplink' });

    await rule.getByRole('radio', { name: /^Trusted/ }).click();
    await expect.poll(async () => (await c.call('status')).network?.rule, { timeout: 10_000 }).toBe('trusted');
    // Trusted: nothing is done, so the block the untrusted network held is lifted in the kernel.
    await expect.poll(async () => (await c.call('status')).firewall.kernel, { timeout: 10_000 }).toBe('none');
    const ns = session.lab.client.ns;
    expect((await session.lab.exec(ns, ['nft', 'list', 'table', 'inet', 'umbra'])).code).not.toBe(0);
    await expect.poll(() => rule.getByRole('radio', { name: /^Trusted/ }).isChecked(), { timeout: 5000 }).toBe(true);
    expect(await name.inputValue()).toBe('Lab uplink');
    expect(session.pageErrors).toEqual([]);
  });
});
