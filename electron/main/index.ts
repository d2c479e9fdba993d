// The Electron main process's composition root: it makes the Electron objects (window, tray,
// notifications, IPC handlers) and hands every decision to the plain modules beside it, which are
// tested under Node. Thin on purpose (DESIGN.md, convention 9): nothing here but wiring.
import os from 'node:os';
import {
  app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, nativeTheme, Notification, session, Tray, webContents,
  type IpcMainEvent, type IpcMainInvokeEvent, type NativeImage,
} from 'electron';
import { launchExcluded } from '../../helper/ipc/launch-excluded.js';
import { offerHelperInstall } from './appimage-helper.js';
import { Autostart, HIDDEN_FLAG } from './autostart.js';
import { AppController, type Notifier, type TrayView } from './controller.js';
import { HelperLink } from './helper-link.js';
import { CHANNELS, type ReachableInfo, type Reply } from './ipc-contract.js';
import { appPaths, hostFacts, launchCommand, socketPath } from './paths.js';
import { RecentStore } from './recent.js';
import { RendererBridge } from './renderer-bridge.js';
import { createSplitTunnelApps } from './split-tunnel-apps.js';
import { StateMirror } from './state-mirror.js';
import { panelTone, toMenuTemplate, type TrayIconName } from './tray-model.js';
import {
  createWindowOptions, denyAllPermissions, denyPermissionCheck, indexUrl, isAllowedNavigation, isTrustedSender,
  windowOpenHandler, withCsp,
} from './window-options.js';

// Every renderer sandboxed, whatever a window's options say.
app.enableSandbox();

if (!app.requestSingleInstanceLock()) app.quit();
else run();

function run(): void {
  const appRoot = app.getAppPath();
  const paths = appPaths(appRoot);
  const home = indexUrl(paths.index);
  const startHidden = process.argv.includes(HIDDEN_FLAG);

  const link = new HelperLink({ socketPath: socketPath(process.env) });
  const mirror = new StateMirror(link);
  const recent = new RecentStore(paths.recent(app.getPath('userData')));
  const splitApps = createSplitTunnelApps({
    env: process.env,
    homedir: os.homedir(),
    file: paths.excludedApps(app.getPath('userData')),
    client: link,
    launchExcluded,
  });
  const autostart = new Autostart({
    homedir: os.homedir(),
    command: launchCommand({ isPackaged: app.isPackaged, execPath: process.execPath, appRoot, env: process.env }),
    icon: app.isPackaged ? 'umbra' : paths.appIcon,
  });

  let win: BrowserWindow | undefined;
  let tray: Tray | undefined;
  let stopped = false;

  function showWindow(): void {
    if (win && !win.isDestroyed()) {
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
      return;
    }
    const w = new BrowserWindow(createWindowOptions({ preload: paths.preload, icon: paths.appIcon }));
    win = w;
    w.once('ready-to-show', () => w.show());
    w.on('closed', () => {
      if (win === w) win = undefined;
    });
    void w.loadFile(paths.index);
  }

  const trayImages = new Map<TrayIconName, NativeImage>();
  const trayImage = (name: TrayIconName): NativeImage => {
    let image = trayImages.get(name);
    if (!image) {
      image = nativeImage.createFromPath(paths.trayIcon(name));
      trayImages.set(name, image);
    }
    return image;
  };

  const trayView: TrayView = {
    render(model) {
      if (!tray) {
        tray = new Tray(trayImage(model.iconName));
        tray.on('click', showWindow);
      } else {
        tray.setImage(trayImage(model.iconName));
      }
      tray.setToolTip(model.tooltip);
      tray.setContextMenu(Menu.buildFromTemplate(toMenuTemplate(model.items, (action) => void controller.dispatch(action))));
    },
  };

  const notifier: Notifier = {
    show(notice) {
      if (Notification.isSupported()) new Notification({ title: notice.title, body: notice.body, icon: paths.appIcon }).show();
    },
  };

  const controller = new AppController({
    link,
    mirror,
    recent,
    tray: trayView,
    notifier,
    panel: () => panelTone(process.env, nativeTheme.shouldUseDarkColors),
    showWindow,
    quit: () => app.quit(),
    log: (message) => console.warn(`umbra: ${message}`),
  });

  const bridge = new RendererBridge({
    link,
    mirror,
    host: hostFacts({ isPackaged: app.isPackaged, env: process.env }),
    app: {
      getLaunchAtLogin: () => autostart.isEnabled(),
      setLaunchAtLogin: (enabled) => autostart.set(enabled),
    },
    splitApps,
    sendTo(id, channel, payload) {
      const wc = webContents.fromId(id);
      if (wc && !wc.isDestroyed()) wc.send(channel, payload);
    },
    broadcast(channel, ...args) {
      for (const w of BrowserWindow.getAllWindows()) if (!w.webContents.isDestroyed()) w.webContents.send(channel, ...args);
    },
    onCall: (req) => controller.noteCall(req),
  });

  // ---------------------------------------------------------------- window policy

  app.on('web-contents-created', (_event, contents) => {
    const id = contents.id;
    contents.setWindowOpenHandler(windowOpenHandler);
    contents.on('will-navigate', (event, url) => {
      if (!isAllowedNavigation(url, home)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAllowedNavigation(url, home)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.on('destroyed', () => bridge.forget(id));
  });

  // ---------------------------------------------------------------- IPC (ipc-contract.ts)

  const trusted = (event: IpcMainInvokeEvent | IpcMainEvent) => isTrustedSender(event.senderFrame?.url, home);
  const refused: Reply<never> = { ok: false, error: { code: 'forbidden', message: 'only the Umbra window may control Umbra' } };
  const unknownReachability: ReachableInfo = { known: false, reachable: false };

  ipcMain.handle(CHANNELS.call, (event, req: unknown) => (trusted(event) ? bridge.call(req) : refused));
  ipcMain.handle(CHANNELS.subscribe, (event) => (trusted(event) ? bridge.subscribe(event.sender.id) : refused));
  ipcMain.handle(CHANNELS.getReachable, (event) => (trusted(event) ? bridge.reachable() : unknownReachability));
  ipcMain.handle(CHANNELS.app, (event, req: unknown) => (trusted(event) ? bridge.app(req) : refused));
  ipcMain.on(CHANNELS.unsubscribe, (event) => {
    if (trusted(event)) bridge.unsubscribe(event.sender.id);
  });

  // ---------------------------------------------------------------- lifecycle

  app.on('second-instance', (_event, argv) => {
    if (!argv.includes(HIDDEN_FLAG)) showWindow();
  });

  // A tray app: closing the window leaves it running (starting it again shows the window).
  app.on('window-all-closed', () => undefined);

  app.on('will-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    controller.stop();
    bridge.stop();
    mirror.stop();
    void link.stop().finally(() => {
      stopped = true;
      app.quit();
    });
  });

  void app.whenReady().then(async () => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler(denyAllPermissions);
    ses.setPermissionCheckHandler(denyPermissionCheck);
    ses.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: withCsp(details.responseHeaders) }));
    nativeTheme.on('updated', () => controller.refresh());

    await recent.load();
    mirror.start();
    bridge.start();
    controller.start();
    link.start();
    if (!startHidden) showWindow();
    // From an AppImage with no helper installed: offer to install it (pkexec), steps shown first.
    void offerHelperInstall({
      env: process.env,
      resourcesPath: process.resourcesPath,
      ask: async (title, steps) =>
        (await dialog.showMessageBox({ type: 'question', title: 'Install the Umbra helper', message: title, detail: steps.map((s) => `• ${s}`).join('\n'), buttons: ['Install…', 'Not now'], defaultId: 0, cancelId: 1 })).response === 0,
      tell: (message) => void dialog.showMessageBox({ type: 'info', title: 'Umbra helper', message }),
    });
  });
}
