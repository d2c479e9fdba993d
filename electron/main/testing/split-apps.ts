// Split tunnelling's apps over the testdata desktop (testdata/desktop), with a list file in a
// temporary folder and a stand-in for launch-excluded.ts that starts nothing: it records the
// launch, asks the client to move a made-up pid as the real one does, and fails as it does when
// the client refuses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSplitTunnelApps, type LaunchExcluded, type SplitTunnelApps } from '../split-tunnel-apps.js';

const DESKTOP_TESTDATA = path.join(import.meta.dirname, '..', 'testdata', 'desktop');

/** The testdata desktop as an environment: its home and system data dirs, its bin/ as PATH. */
export const DESKTOP_ENV: NodeJS.ProcessEnv = {
  XDG_DATA_HOME: path.join(DESKTOP_TESTDATA, 'home'),
  XDG_DATA_DIRS: `${path.join(DESKTOP_TESTDATA, 'sys1')}:${path.join(DESKTOP_TESTDATA, 'sys2')}`,
  PATH: path.join(DESKTOP_TESTDATA, 'bin'),
  LANG: 'de_DE.UTF-8',
};

interface Launch {
  command: string;
  args: string[];
  opts: Parameters<LaunchExcluded>[3];
}

export interface TestSplitApps {
  apps: SplitTunnelApps;
  file: string;
  launches: Launch[];
  /** The helper's excludeProcess calls, by pid. */
  moved: number[];
  /** Make the helper refuse with this error (undefined: accept). */
  refuse: { error: unknown };
  cleanup(): void;
}

export function testSplitApps(): TestSplitApps {
  const dir = mkdtempSync(path.join(tmpdir(), 'umbra-split-apps-'));
  const file = path.join(dir, 'excluded-apps.json');
  const launches: Launch[] = [];
  const moved: number[] = [];
  const refuse: { error: unknown } = { error: undefined };
  let nextPid = 4242;
  const launchDouble: LaunchExcluded = async (client, command, args, opts) => {
    const pid = nextPid++;
    await client.call('excludeProcess', { pid });
    launches.push({ command, args, opts });
    return { pid };
  };
  const apps = createSplitTunnelApps({
    env: DESKTOP_ENV,
    homedir: dir,
    file,
    client: {
      call: async (_m, p) => {
        if (refuse.error !== undefined) throw refuse.error;
        moved.push(p.pid);
        return { excluded: [] };
      },
    },
    launchExcluded: launchDouble,
  });
  return { apps, file, launches, moved, refuse, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
