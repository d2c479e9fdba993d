import { describe, expect, it } from 'vitest';
import { appPaths, hostFacts, installKind, launchCommand, socketPath } from './paths.js';

describe('paths', () => {
  it('finds the built parts from the app root', () => {
    const p = appPaths('/opt/Umbra/resources/app.asar');
    expect(p.preload).toBe('/opt/Umbra/resources/app.asar/dist/electron/preload/index.cjs');
    expect(p.index).toBe('/opt/Umbra/resources/app.asar/renderer/dist/index.html');
    expect(p.trayIcon('connected-light')).toBe('/opt/Umbra/resources/app.asar/assets/tray/connected-light.png');
    expect(p.appIcon).toBe('/opt/Umbra/resources/app.asar/assets/icons/256x256.png');
    expect(p.recent('/home/ann/.config/Umbra')).toBe('/home/ann/.config/Umbra/recent-locations.json');
  });

  it('reaches the helper at $UMBRA_SOCKET or the system socket', () => {
    expect(socketPath({})).toBe('/run/umbra/umbrad.sock');
    expect(socketPath({ UMBRA_SOCKET: '' })).toBe('/run/umbra/umbrad.sock');
    expect(socketPath({ UMBRA_SOCKET: '/tmp/u.sock' })).toBe('/tmp/u.sock');
  });

  it('starts itself again the right way', () => {
    expect(launchCommand({ isPackaged: true, execPath: '/opt/Umbra/umbra', appRoot: '/x', env: {} })).toEqual(['/opt/Umbra/umbra']);
    expect(launchCommand({ isPackaged: true, execPath: '/tmp/.mount_Umbra/umbra', appRoot: '/x', env: { APPIMAGE: '/home/ann/Umbra.AppImage' } })).toEqual(['/home/ann/Umbra.AppImage']);
    expect(launchCommand({ isPackaged: false, execPath: '/src/node_modules/electron/dist/electron', appRoot: '/src', env: {} })).toEqual(['/src/node_modules/electron/dist/electron', '/src']);
  });

  it('tells how this copy was installed, so the helper-down page gives the command that fits', () => {
    expect(installKind({ isPackaged: true, env: {} })).toBe('package');
    expect(installKind({ isPackaged: true, env: { APPIMAGE: '/home/ann/Umbra.AppImage' } })).toBe('appimage');
    expect(installKind({ isPackaged: false, env: {} })).toBe('checkout');
    expect(installKind({ isPackaged: false, env: { UMBRA_INSTALL: 'demo' } })).toBe('demo');
    expect(hostFacts({ isPackaged: true, env: {} })).toEqual({ install: 'package' });
    expect(hostFacts({ isPackaged: false, env: { UMBRA_SOCKET: '/tmp/u.sock' } })).toEqual({ install: 'checkout', socket: '/tmp/u.sock' });
    expect(hostFacts({ isPackaged: false, env: { UMBRA_INSTALL: 'demo', UMBRA_HELPER_ELSEWHERE: '1' } })).toEqual({ install: 'demo', elsewhere: true });
  });
});
