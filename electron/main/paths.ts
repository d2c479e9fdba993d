// Where the app finds its parts, from the app's root (the folder with package.json, or app.asar),
// and where it reaches the helper. The build puts the compiled main process in
// dist/electron/main/, the preload in dist/electron/preload/index.cjs, the renderer in
// renderer/dist/.
import path from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../../helper/ipc/schema.js';
import { RECENT_FILE_NAME } from './recent.js';
import type { TrayIconName } from './tray-model.js';

export interface AppPaths {
  preload: string;
  index: string;
  appIcon: string;
  trayIcon(name: TrayIconName): string;
  recent(userData: string): string;
}

export function appPaths(appRoot: string): AppPaths {
  return {
    preload: path.join(appRoot, 'dist', 'electron', 'preload', 'index.cjs'),
    index: path.join(appRoot, 'renderer', 'dist', 'index.html'),
    appIcon: path.join(appRoot, 'assets', 'icons', '256x256.png'),
    // name.png is 22 px; Electron picks name@2x.png on HiDPI screens by itself.
    trayIcon: (name) => path.join(appRoot, 'assets', 'tray', `${name}.png`),
    recent: (userData) => path.join(userData, RECENT_FILE_NAME),
  };
}

/** The helper's socket: $UMBRA_SOCKET when set, else the system one. */
export function socketPath(env: NodeJS.ProcessEnv): string {
  const s = env.UMBRA_SOCKET;
  return s && s.trim() !== '' ? s : DEFAULT_SOCKET_PATH;
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
