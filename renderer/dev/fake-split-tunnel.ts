// Split tunnelling in the dev fake: a few made-up installed apps, the user's list in memory, and
// the helper's excluded processes, which a launch adds to (nothing is started).
import type { DesktopAppInfo, ExcludedApp, Params, Result, UmbraApi } from '../api.js';

type Excluded = Result<'listExcluded'>['excluded'][number];

const INSTALLED: DesktopAppInfo[] = [
  { id: 'org.example.Bank.desktop', name: 'Bank' },
  { id: 'org.example.Chess.desktop', name: 'Chess' },
  { id: 'org.example.Meet.desktop', name: 'Video call' },
];

export function fakeSplitTunnel(uid = 1000) {
  let list: string[] = [];
  let excluded: Excluded[] = [];
  let nextPid = 31_000;
  const listed = (): ExcludedApp[] => list.map((id) => ({ ...INSTALLED.find((a) => a.id === id)!, installed: true }));
  const handlers = {
    excludeProcess: (p: Params<'excludeProcess'>): Result<'excludeProcess'> => {
      if (!excluded.some((x) => x.pid === p.pid)) excluded = [...excluded, { pid: p.pid, name: `process ${p.pid}`, uid }];
      return { excluded };
    },
    includeProcess: (p: Params<'includeProcess'>): Result<'includeProcess'> => {
      if (!excluded.some((x) => x.pid === p.pid)) throw { code: -32002, message: `process ${p.pid} is not excluded from the tunnel` };
      excluded = excluded.filter((x) => x.pid !== p.pid);
      return { excluded };
    },
    listExcluded: (): Result<'listExcluded'> => ({ available: true, excluded }),
  };
  const apps: NonNullable<UmbraApi['splitApps']> = {
    listInstalled: async () => structuredClone(INSTALLED),
    listExcluded: async () => listed(),
    add: async (id) => {
      if (!INSTALLED.some((a) => a.id === id)) throw { code: 'not-installed', message: `${id} is not an installed app` };
      if (!list.includes(id)) list = [...list, id];
      return listed();
    },
    remove: async (id) => {
      list = list.filter((x) => x !== id);
      return listed();
    },
    launch: async (id) => {
      const app = INSTALLED.find((a) => a.id === id);
      if (!app || !list.includes(id)) throw { code: 'not-on-list', message: `${id} is not on the list of apps that run outside the VPN` };
      const pid = nextPid++;
      excluded = [...excluded, { pid, name: app.name.toLowerCase().replace(/\s+/g, '-').slice(0, 15), uid }];
      return { pid };
    },
  };
  return { handlers, apps };
}
