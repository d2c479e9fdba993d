// Lockdown ("always require the VPN", issue 16 item 2): nothing leaves outside the tunnel while
// it is on — disconnected, after the user's disconnect, with the app gone, while the helper is
// stopped or killed and after it starts again — and the boot block is written for the next boot.
// Each "nothing" is a capture on the lab's router while ordinary traffic is tried; turning
// lockdown off at the end shows the same probes do get out.
import { describe, expect, it } from 'vitest';
import type { TunnelStatus } from '../helper/ipc/schema.js';
import { daemonLabUnavailable, useDaemonLab } from './daemon-lab.js';
import { packetSummary, probeUnderCapture } from './outside-probes.js';

const why = daemonLabUnavailable();

describe.skipIf(why !== '')(`lockdown${why ? ` — skipped: ${why}` : ''}`, () => {
  const t = useDaemonLab();

  async function expectNothingOut(when: string): Promise<void> {
    const { answered, leaked } = await probeUnderCapture(t.lab);
    expect(answered, `${when}: probes that got an answer`).toEqual([]);
    expect(leaked, `${when}: left outside the tunnel:\n${packetSummary(leaked)}`).toEqual([]);
  }

  const lockedDown = (s: TunnelStatus) => s.state === 'disconnected' && s.blocked && s.hold === 'lockdown';

  it('holds from the moment it is turned on through disconnect, app quit and helper restarts, until it is turned off', async () => {
    const { lab, daemon } = t;
    const c = await daemon.client();
    await c.call('setSettings', { killSwitch: false, lockdown: true });
    await daemon.waitFor(lockedDown, 5_000, 'blocked by lockdown');
    expect(daemon.bootFileExists, 'the boot block for the next boot').toBe(true);
    await expectNothingOut('disconnected under lockdown');

    await c.call('connect', { serverId: 'lab-0' });
    await daemon.waitFor((s) => s.state === 'connected' && s.blocked, 15_000, 'connected under the block');
    const viaTunnel = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 2_000 });
    expect(viaTunnel.body?.trim()).toBe(lab.servers[0]!.exitAddress);

    await c.call('disconnect');
    await daemon.waitFor(lockedDown, 10_000, 'blocked again after the disconnect');
    await expectNothingOut("after the user's disconnect");

    // The app quits: its connections to the helper go.
    await c.close();
    await expectNothingOut('with no app connected');

    await daemon.stop('SIGTERM');
    await expectNothingOut('while the helper is stopped');
    await daemon.start();
    await daemon.waitFor(lockedDown, 10_000, 'blocked by lockdown after a restart');
    await expectNothingOut('after the helper restarted');

    await daemon.stop('SIGKILL');
    await expectNothingOut('after the helper was killed');
    await daemon.start();
    await daemon.waitFor(lockedDown, 10_000, 'blocked by lockdown after a crash');

    const c2 = await daemon.client();
    await c2.call('setSettings', { lockdown: false });
    await daemon.waitFor((s) => s.state === 'disconnected' && !s.blocked && s.hold === undefined, 5_000, 'unblocked');
    expect(daemon.bootFileExists, 'no boot block without lockdown or kill switch on boot').toBe(false);
    const { answered } = await probeUnderCapture(lab);
    expect(answered, 'the same probes get out once lockdown is off').toEqual(['http', 'dns', 'ping']);
  });
});
