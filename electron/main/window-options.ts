// The window's security settings as data, in one place: the BrowserWindow options (the renderer
// is sandboxed, isolated, without Node), the Content-Security-Policy, and the policies for
// navigation, new windows, permissions and IPC senders. security-check.ts holds this file to its
// baseline and checks that no other file makes windows or sets web preferences.
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserWindowConstructorOptions, HandlerDetails, WebContents, WebPreferences, WindowOpenHandlerResponse } from 'electron';

/** Everything but the preload path; frozen. */
export const SAFE_WEB_PREFERENCES = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webviewTag: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  spellcheck: false,
} as const satisfies WebPreferences);

export function webPreferences(preload: string): WebPreferences {
  return { ...SAFE_WEB_PREFERENCES, preload };
}

export interface WindowSpec {
  /** Absolute path of the built preload (CommonJS: sandboxed preloads cannot be ES modules). */
  preload: string;
  /** The app icon (PNG). */
  icon?: string;
}

export function createWindowOptions({ preload, icon }: WindowSpec): BrowserWindowConstructorOptions {
  return {
    title: 'Umbra',
    width: 1120,
    height: 760,
    minWidth: 720,
    minHeight: 520,
    // Shown on ready-to-show, so it never flashes white or empty.
    show: false,
    backgroundColor: '#101418',
    autoHideMenuBar: true,
    ...(icon ? { icon } : {}),
    webPreferences: webPreferences(preload),
  };
}

/** The CSP, directive by directive. Nothing but the app's own files; no inline code, no eval. */
const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'none'"],
});

export const CONTENT_SECURITY_POLICY = Object.entries(CSP_DIRECTIVES).map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');

/** Response headers with our CSP in place of any the response brought (for onHeadersReceived). */
export function withCsp(headers: Record<string, string | string[]> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (/^content-security-policy(-report-only)?$/i.test(name)) continue;
    out[name] = Array.isArray(value) ? value : [value];
  }
  out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  return out;
}

/** The file:// URL of the renderer's index.html. */
export function indexUrl(indexPath: string): string {
  return pathToFileURL(indexPath).href;
}

/** Whether the window may show `url`: only the app's own index.html (any #fragment), by file://. */
export function isAllowedNavigation(url: string, index: string): boolean {
  let u: URL;
  let home: URL;
  try {
    u = new URL(url);
    home = new URL(index);
  } catch {
    return false;
  }
  if (u.protocol !== 'file:' || home.protocol !== 'file:') return false;
  if (u.host !== '' || u.search !== '' || u.username !== '' || u.password !== '') return false;
  try {
    return fileURLToPath(u) === fileURLToPath(home);
  } catch {
    return false;
  }
}

/** Only the app's own page may use the IPC channels. */
export function isTrustedSender(frameUrl: string | undefined, index: string): boolean {
  return typeof frameUrl === 'string' && isAllowedNavigation(frameUrl, index);
}

/** No new windows, ever (links the UI wants open go through main, validated). */
export function windowOpenHandler(_details: HandlerDetails): WindowOpenHandlerResponse {
  return { action: 'deny' };
}

/** Every permission request is refused (notifications are shown by main, not the page). */
export function denyAllPermissions(_wc: WebContents, _permission: string, callback: (granted: boolean) => void): void {
  callback(false);
}

/** Every permission check says no. */
export function denyPermissionCheck(): boolean {
  return false;
}

/** A URL fit for shell.openExternal: https only, no credentials. Throws otherwise. */
export function safeExternalUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '') throw new Error(`not opening ${JSON.stringify(url)}: only https links open outside the app`);
  return u.href;
}
