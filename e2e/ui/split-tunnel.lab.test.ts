// Settings → Split tunnelling in Chromium against the real helper: an app (a small node program
// named by a .desktop file in a temporary XDG_DATA_HOME) is added from the installed apps and
// launched from Settings while the VPN is connected. The lab's echo service says who asked: the
// app is seen with the client's own address, everything else with the server's exit; moved back
// into the VPN from the page, its new connections are seen with the exit again.
//
// The browser host runs in the machine's own namespace and the helper in the lab's client one,
// so the test's launcher starts the app there (ip netns exec), held and moved as ever.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExcluded } from '../../helper/ipc/launch-excluded.js';
import { quoteExecArg } from '../../electron/main/autostart.js';
import { createSplitTunnelApps } from '../../electron/main/split-tunnel-apps.js';
import { cgroup2MountPoint } from '../excluded-program.js';
import { startUiSession, uiSkipReason, type UiSession } from './ui-session.js';

const why = uiSkipReason() || (cgroup2MountPoint() ? '' : 'no cgroup v2 on this machine');

/** Whether process `pid` still runs. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The app: asks the echo service every 200 ms, each time over a new connection (a socket keeps its cgroup), and writes who it saw. */
const PROBE = `import { get } from 'node:http';
import { writeFileSync } from 'node:fs';
const [url, out] = process.argv.slice(2);
const ask = () => get(url, { timeout: 1500, agent: false }, (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => writeFileSync(out, body.trim()));
}).on('error', () => writeFileSync(out, 'no answer')).on('timeout', function () { this.destroy(); });
setInterval(ask, 200);
ask();
`;

describe.skipIf(why !== '')(`split tunnelling from Settings${why ? ` — skipped: ${why}` : ''}`, () => {
  let s: UiSession;
  const dir = mkdtempSync(join(tmpdir(), 'umbra-ui-split-'));
  const seen = join(dir, 'seen.txt');
  const pids: number[] = [];

  beforeAll(async () => {
    writeFileSync(join(dir, 'probe.mjs'), PROBE);
    const apps = join(dir, 'share', 'applications');
    mkdirSync(apps, { recursive: true });
    // The helper's cgroup is this run's own (DaemonRun), removed when the session closes.
    s = await startUiSession({ width: 1280, height: 900 }, {}, (lab) => {
      const exec = [process.execPath, join(dir, 'probe.mjs'), lab.internet.echoUrl, seen].map(quoteExecArg).join(' ');
      writeFileSync(join(apps, 'umbra-echo-probe.desktop'), `[Desktop Entry]\nType=Application\nName=Echo probe\nExec=${exec}\n`);
      const env = { ...process.env, XDG_DATA_HOME: join(dir, 'share'), XDG_DATA_DIRS: join(dir, 'none') };
      return {
        splitApps: (link) =>
          createSplitTunnelApps({
            env,
            homedir: dir,
            file: join(dir, 'excluded-apps.json'),
            client: link,
            launchExcluded: async (c, command, args, o) => {
              const r = await launchExcluded(c, 'ip', ['netns', 'exec', lab.client.ns, command, ...args], o);
              pids.push(r.pid);
              return r;
            },
          }),
      };
    });
  }, 180_000);

  afterAll(async () => {
    // The app goes first, so that the helper's cgroup is empty when the session removes it.
    for (const pid of pids.filter(alive)) process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('launches an app outside the VPN from Settings, and moves it back in', async () => {
    const { page, lab, umbra } = s;
    const own = lab.client.address;
    const exit = lab.servers[0]!.exitAddress;
    const echo = async () => (await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 3000 })).body?.trim();
    const c = await umbra.daemon.client();
    try {
      await c.call('connect', { serverId: umbra.servers[0]!.id });
      await umbra.daemon.waitFor((st) => st.state === 'connected', 20_000, 'connected');
      expect(await echo(), 'ordinary traffic, connected').toBe(exit);

      await page.getByRole('button', { name: 'Settings' }).click();
      const section = page.getByRole('region', { name: 'Split tunnelling' });
      await section.getByRole('button', { name: 'Add an app' }).click();
      await section.getByRole('searchbox', { name: 'Search installed apps' }).fill('echo');
      await section.getByRole('button', { name: 'Add Echo probe' }).click();
      await section.getByRole('button', { name: 'Launch Echo probe outside the VPN' }).click();
      await section.getByRole('status').filter({ hasText: 'Started Echo probe outside the VPN.' }).waitFor({ timeout: 10_000 });

      const read = () => {
        try {
          return readFileSync(seen, 'utf8');
        } catch {
          return 'not yet';
        }
      };
      await expect.poll(read, { timeout: 10_000, message: 'who the echo saw asking from the excluded app' }).toBe(own);
      expect(await echo(), 'ordinary traffic, with the app outside').toBe(exit);

      const { excluded } = await c.call('listExcluded', {});
      expect(excluded.map((p) => p.pid)).toEqual(pids);
      // The page asked right after the launch, when the process may still have had the launcher's name.
      const move = section.getByRole('button', { name: new RegExp(`^Move back into the VPN: .* \\(process ${pids[0]}\\)$`) });
      await move.click();
      await move.waitFor({ state: 'detached', timeout: 10_000 });
      expect((await c.call('listExcluded', {})).excluded).toEqual([]);
      await expect.poll(read, { timeout: 10_000, message: 'who the echo saw asking from the app moved back' }).toBe(exit);
      expect(s.pageErrors).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
