// Where the app finds its parts, from the app's root (the folder with package.json, or app.asar),
// and where it reaches the helper. The build puts the compiled main process in
// dist/electron/main/, the preload in dist/electron/preload/index.cjs, the renderer in
// renderer/dist/.
import path from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../../helper/ipc/schema.js';
import type { HostInfo, InstallKind } from '../../helper/ipc/tunnel-words.js';
import { EXCLUDED_APPS_FILE_NAME } from './excluded-apps.js';
import { RECENT_FILE_NAME } from './recent.js';
import type { TrayIconName } from './tray-model.js';

export interface AppPaths {
  preload: string;
  index: string;
  appIcon: string;
  trayIcon(name: TrayIconName): string;
  recent(userData: string): string;
  excludedApps(userData: string): string;
}

export function appPaths(appRoot: string): AppPaths {
  return {
    preload: path.join(appRoot, 'dist', 'electron', 'preload', 'index.cjs'),
    index: path.join(appRoot, 'renderer', 'dist', 'index.html'),
    appIcon: path.join(appRoot, 'assets', 'icons', '256x256.png'),
    // name.png is 22 px; Electron picks name@2x.png on HiDPI screens by itself.
    trayIcon: (name) => path.join(appRoot, 'assets', 'tray', `${name}.png`),
    recent: (userData) => path.join(userData, RECENT_FILE_NAME),
    excludedApps: (userData) => path.join(userData, EXCLUDED_APPS_FILE_NAME),
  };
}

/**
 * The app's settings folder where Electron is not there to say (browser mode): Electron's
 * userData for this app, $XDG_CONFIG_HOME/umbra (~/.config/umbra), so both modes share one list.
 */
export function userDataDir(env: NodeJS.ProcessEnv, homedir: string): string {
  return path.join(configHome(env, homedir), 'umbra');
}

/** $XDG_CONFIG_HOME, else ~/.config (the XDG Base Directory spec; a relative value is ignored). */
export function configHome(env: NodeJS.ProcessEnv, homedir: string): string {
  const xdg = env.XDG_CONFIG_HOME;
  return xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir, '.config');
}

/** The helper's socket: $UMBRA_SOCKET when set, else the system one. */
export function socketPath(env: NodeJS.ProcessEnv): string {
  const s = env.UMBRA_SOCKET;
  return s && s.trim() !== '' ? s : DEFAULT_SOCKET_PATH;
}

/**
 * How this copy was installed: the demo says so (UMBRA_INSTALL=demo), an AppImage sets APPIMAGE,
 * a packaged app is the .deb's, anything else runs from a source checkout.
 */
export function installKind(opts: { isPackaged: boolean; env: NodeJS.ProcessEnv }): InstallKind {
  if (opts.env.UMBRA_INSTALL === 'demo') return 'demo';
  if (opts.env.APPIMAGE) return 'appimage';
  return opts.isPackaged ? 'package' : 'checkout';
}

/** What the helper-down page needs to know of this copy: how it was installed, and a socket other than the system one. */
export function hostFacts(opts: { isPackaged: boolean; env: NodeJS.ProcessEnv }): HostInfo {
  const socket = socketPath(opts.env);
  return {
    install: installKind(opts),
    ...(socket === DEFAULT_SOCKET_PATH ? {} : { socket }),
    // The demo runs its helper in the lab's namespace and this app outside it.
    ...(opts.env.UMBRA_HELPER_ELSEWHERE === '1' ? { elsewhere: true } : {}),
  };
}

/**
 * The command that starts this app again (for launch at login): the AppImage when run from one
 * (process.execPath is inside its temporary mount), the installed binary when packaged, else
 * Electron with the app's folder.
 */
export function launchCommand(opts: { isPackaged: boolean; execPath: string; appRoot: string; env: NodeJS.ProcessEnv }): string[] {
  if (opts.env.APPIMAGE) return [opts.env.APPIMAGE];
  return opts.isPackaged ? [opts.execPath] : [opts.execPath, opts.appRoot];
}
