import { describe, expect, it } from 'vitest';
import {
  CONTENT_SECURITY_POLICY, createWindowOptions, denyAllPermissions, denyPermissionCheck, indexUrl, isAllowedNavigation,
  isTrustedSender, safeExternalUrl, SAFE_WEB_PREFERENCES, webPreferences, windowOpenHandler, withCsp,
} from './window-options.js';

const INDEX = '/opt/Umbra/resources/app.asar/renderer/dist/index.html';
const home = indexUrl(INDEX);

describe('window options', () => {
  it('are the safe baseline plus the preload', () => {
    const opts = createWindowOptions({ preload: '/opt/Umbra/preload.cjs', icon: '/opt/Umbra/icon.png' });
    expect(opts.webPreferences).toEqual({
      contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, webviewTag: false,
      webSecurity: true, allowRunningInsecureContent: false, spellcheck: false, preload: '/opt/Umbra/preload.cjs',
    });
    expect(opts).toMatchObject({ show: false, icon: '/opt/Umbra/icon.png', title: 'Umbra' });
    expect(Object.isFrozen(SAFE_WEB_PREFERENCES)).toBe(true);
    expect(webPreferences('/p')).not.toBe(webPreferences('/p'));
  });
});

describe('the CSP', () => {
  it('is the strict policy, as one header value', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
  });

  it('replaces whatever CSP a response brings', () => {
    expect(withCsp({ 'content-security-policy': ["default-src *"], 'Content-Security-Policy-Report-Only': 'x', 'X-Other': 'y' })).toEqual({
      'X-Other': ['y'],
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    });
    expect(withCsp(undefined)).toEqual({ 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });
});

describe('navigation and senders', () => {
  it('allows only the app index by file://', () => {
    expect(home).toBe('file:///opt/Umbra/resources/app.asar/renderer/dist/index.html');
    expect(isAllowedNavigation(home, home)).toBe(true);
    expect(isAllowedNavigation(`${home}#/settings`, home)).toBe(true);
    expect(isAllowedNavigation('file:///opt/Umbra/resources/app.asar/renderer/dist/../dist/index.html', home)).toBe(true);
    for (const bad of [
      `${home}?fake`,
      'file:///etc/passwd',
      'file:///opt/Umbra/resources/app.asar/renderer/dist/other.html',
      'file://evil.example/opt/Umbra/resources/app.asar/renderer/dist/index.html',
      'https://example.com/',
      'http://127.0.0.1:5173/',
      'javascript:alert(1)',
      'data:text/html,hi',
      'not a url',
    ]) expect(isAllowedNavigation(bad, home), bad).toBe(false);
  });

  it('trusts IPC only from the app page', () => {
    expect(isTrustedSender(home, home)).toBe(true);
    expect(isTrustedSender(undefined, home)).toBe(false);
    expect(isTrustedSender('https://example.com/', home)).toBe(false);
  });

  it('denies new windows and every permission', () => {
    expect(windowOpenHandler({ url: 'https://example.com' } as never)).toEqual({ action: 'deny' });
    const answers: boolean[] = [];
    for (const p of ['notifications', 'media', 'geolocation', 'openExternal']) denyAllPermissions({} as never, p, (g) => answers.push(g));
    expect(answers).toEqual([false, false, false, false]);
    expect(denyPermissionCheck()).toBe(false);
  });

  it('opens only https links outside', () => {
    expect(safeExternalUrl('https://umbra.example/help')).toBe('https://umbra.example/help');
    for (const bad of ['http://umbra.example/', 'file:///etc/passwd', 'https://user:pw@umbra.example/', 'javascript:alert(1)', 'smb://x/y']) {
      expect(() => safeExternalUrl(bad), bad).toThrow();
    }
  });
});
