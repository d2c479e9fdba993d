// Split tunnelling's apps, as the window asks for them: the installed apps, the user's list, and a
// launch outside the VPN. Main answers these itself (Electron, and the browser-mode host alike):
// it reads the .desktop files as the user and starts the program, and the helper only moves it
// out of the tunnel. A launch names an app on the list by id; its command line is read from its
// .desktop file now, never taken from the page.
import type { DesktopAppInfo, ExcludedApp, SplitAppMethodName, SplitAppParams, SplitAppResult } from '../../helper/ipc/split-apps.js';
import { findDesktopApp, scanDesktopApps, type DesktopApp } from './desktop-apps.js';
import { ExcludedAppsStore } from './excluded-apps.js';
import { toUmbraError, type Reply } from './ipc-contract.js';

export interface SplitAppsDeps {
  store: Pick<ExcludedAppsStore, 'list' | 'add' | 'remove'>;
  /** The installed apps, with icons (desktop-apps.ts scanDesktopApps). */
  installed(): Promise<readonly DesktopApp[]>;
  /** One installed app, read afresh (findDesktopApp). */
  find(id: string): Promise<DesktopApp | undefined>;
  /** Starts `command args` outside the tunnel in `cwd` (launchExcluded with the helper link); rejects if the helper refuses. */
  launch(command: string, args: string[], cwd?: string): Promise<{ pid: number }>;
}

export type SplitAppRequest = { [M in SplitAppMethodName]: { method: M; params: SplitAppParams<M> } }[SplitAppMethodName];

const info = (a: DesktopApp): DesktopAppInfo => ({ id: a.id, name: a.name, ...(a.iconUrl ? { iconUrl: a.iconUrl } : {}) });

/** An app that is gone from the disk keeps its id as its name, so the user can still remove it. */
function listed(ids: readonly string[], apps: readonly DesktopApp[]): ExcludedApp[] {
  const byId = new Map(apps.map((a) => [a.id, a]));
  return ids.map((id) => {
    const a = byId.get(id);
    return a ? { ...info(a), installed: true } : { id, name: id.replace(/\.desktop$/, ''), installed: false };
  });
}

class SplitAppError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class SplitTunnelApps {
  constructor(private readonly deps: SplitAppsDeps) {}

  async installedApps(): Promise<DesktopAppInfo[]> {
    return (await this.deps.installed()).map(info);
  }

  async excludedApps(ids?: readonly string[]): Promise<ExcludedApp[]> {
    return listed(ids ?? (await this.deps.store.list()), await this.deps.installed());
  }

  async add(id: string): Promise<ExcludedApp[]> {
    if (!(await this.deps.find(id))) throw new SplitAppError('not-installed', `${id} is not an installed app (or it is hidden from the menus)`);
    return this.excludedApps(await this.deps.store.add(id));
  }

  async remove(id: string): Promise<ExcludedApp[]> {
    return this.excludedApps(await this.deps.store.remove(id));
  }

  async launch(id: string): Promise<{ pid: number }> {
    if (!(await this.deps.store.list()).includes(id)) throw new SplitAppError('not-on-list', `${id} is not on the list of apps that run outside the VPN: add it first`);
    const app = await this.deps.find(id);
    if (!app) throw new SplitAppError('not-installed', `${id} is no longer installed: remove it from the list`);
    const [command, ...args] = app.exec;
    try {
      return await this.deps.launch(command!, args, app.workingDir);
    } catch (e) {
      const err = toUmbraError(e);
      throw { code: err.code, message: `${app.name} was not started: ${err.message}` };
    }
  }

  /** One checked request (ipc-contract.ts checkAppRequest), its answer or its error as a value. */
  async answer(req: SplitAppRequest): Promise<Reply<SplitAppResult<SplitAppMethodName>>> {
    try {
      switch (req.method) {
        case 'listInstalledApps':
          return { ok: true, value: await this.installedApps() };
        case 'listExcludedApps':
          return { ok: true, value: await this.excludedApps() };
        case 'addExcludedApp':
          return { ok: true, value: await this.add(req.params.id) };
        case 'removeExcludedApp':
          return { ok: true, value: await this.remove(req.params.id) };
        case 'launchExcludedApp':
          return { ok: true, value: await this.launch(req.params.id) };
      }
    } catch (e) {
      return { ok: false, error: toUmbraError(e) };
    }
  }
}

/** The launcher's contract (helper/ipc/launch-excluded.ts): start held, have the helper move it, then run. */
export type LaunchExcluded = (
  client: { call(method: 'excludeProcess', params: { pid: number }): Promise<unknown> },
  command: string,
  args: string[],
  opts?: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean },
) => Promise<{ pid: number }>;

export interface SplitAppsOptions {
  env: NodeJS.ProcessEnv;
  homedir: string;
  /** The list's file (paths.ts excludedApps). */
  file: string;
  client: Parameters<LaunchExcluded>[0];
  launchExcluded: LaunchExcluded;
}

/** The apps of this user's desktop, their list in `file`, launched detached from the home folder. */
export function createSplitTunnelApps(o: SplitAppsOptions): SplitTunnelApps {
  const scan = { env: o.env, homedir: o.homedir };
  return new SplitTunnelApps({
    store: new ExcludedAppsStore(o.file),
    installed: async () => (await scanDesktopApps(scan)).apps,
    find: (id) => findDesktopApp(id, scan),
    launch: (command, args, cwd) => o.launchExcluded(o.client, command, args, { detached: true, cwd: cwd ?? o.homedir, env: o.env }),
  });
}
