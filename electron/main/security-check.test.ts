// The check: fails if a window is created with unsafe webPreferences or the CSP is
// loosened. The first block runs it over the real tree; the rest prove that it can fail.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BASELINE_CSP, checkHtml, checkMain, checkWindowOptions, collectSources, cspLooseness, formatFindings, metaCsp,
  runSecurityCheck, scanSource, type Finding,
} from './security-check.js';
import { CONTENT_SECURITY_POLICY, createWindowOptions } from './window-options.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the tree', () => {
  it('has no window with unsafe preferences and no loosened CSP', () => {
    const findings = runSecurityCheck(ROOT);
    expect(findings, formatFindings(findings)).toEqual([]);
  });

  it('scans the glue, the preload and the plain modules', () => {
    const files = collectSources(ROOT).map((s) => s.file);
    expect(files).toEqual(expect.arrayContaining(['electron/main/index.ts', 'electron/preload/index.cts', 'electron/main/window-options.ts']));
    expect(files.some((f) => f.endsWith('.test.ts') || f.endsWith('security-check.ts'))).toBe(false);
  });

  it('window-options.ts produces exactly the baseline', () => {
    const opts = createWindowOptions({ preload: '/p/preload.cjs' });
    const findings = checkWindowOptions({ webPreferences: opts.webPreferences, csp: CONTENT_SECURITY_POLICY, preload: '/p/preload.cjs' });
    expect(findings, formatFindings(findings)).toEqual([]);
  });
});

// ------------------------------------------------------------------ it can fail

const scan = (text: string, file = 'electron/main/somewhere.ts') => scanSource({ file, text });
const rules = (f: readonly Finding[]) => f.map((x) => x.rule);

describe('catches unsafe windows', () => {
  it.each([
    ['nodeIntegration: true', 'new BrowserWindow(createWindowOptions({ preload }));\nconst o = { nodeIntegration: true };'],
    ['contextIsolation: false', 'const o = { contextIsolation: false };'],
    ['sandbox: false', 'const o = { sandbox: false };'],
    ['webSecurity: false', 'const o = { webSecurity: false };'],
    ['nodeIntegrationInWorker: true', 'const o = { nodeIntegrationInWorker: true };'],
    ['nodeIntegrationInSubFrames: true', 'const o = { nodeIntegrationInSubFrames: true };'],
    ['allowRunningInsecureContent: true', 'const o = { allowRunningInsecureContent: true };'],
    ['webviewTag: true', 'const o = { webviewTag: true };'],
    ['a computed sandbox', 'const o = { sandbox: isDev };'],
    ['enableRemoteModule', "const o = { 'enableRemoteModule': true };"],
    ['bypassCSP', "protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { bypassCSP: true } }]);"],
  ])('%s', (_name, text) => {
    expect(rules(scan(text))).toContain('unsafe-preference');
  });

  it('a BrowserWindow not made from createWindowOptions', () => {
    const f = scan("const w = new BrowserWindow({ width: 800, webPreferences: { preload } });");
    expect(rules(f)).toEqual(['window', 'web-preferences']);
    expect(f[0]).toMatchObject({ file: 'electron/main/somewhere.ts', line: 1 });
    expect(rules(scan('const w = new electron.BrowserWindow(opts);'))).toEqual(['window']);
    expect(rules(scan('const w = new BrowserWindow(createWindowOptions({ preload }));'))).toEqual([]);
  });

  it('BrowserView and WebContentsView', () => {
    expect(rules(scan('new BrowserView({});\nnew WebContentsView();'))).toEqual(['window', 'window']);
  });

  it('webPreferences set outside window-options.ts, in any form', () => {
    expect(rules(scan('const o = { webPreferences };'))).toEqual(['web-preferences']);
    expect(rules(scan("const o = { 'webPreferences': x };"))).toEqual(['web-preferences']);
    expect(rules(scan('opts.webPreferences = { preload };'))).toContain('unsafe-preference');
    expect(rules(scan('opts.webPreferences.sandbox = false;'))).toContain('unsafe-preference');
    expect(rules(scan('const o = { webPreferences: { preload } };', 'electron/main/window-options.ts'))).toEqual([]);
    expect(rules(scan('const o = { enableBlinkFeatures: "x" };'))).toEqual(['web-preferences']);
  });

  it('looks at code, not comments', () => {
    expect(scan('// never { nodeIntegration: true }\n/* new BrowserWindow({}) */\nconst a = 1;')).toEqual([]);
  });
});

describe('catches loosened policies', () => {
  it('permission, window-open and external-link handlers not from window-options.ts', () => {
    expect(rules(scan('session.defaultSession.setPermissionRequestHandler((wc, p, cb) => cb(true));'))).toEqual(['policy']);
    expect(rules(scan('ses.setPermissionCheckHandler(() => true);'))).toEqual(['policy']);
    expect(rules(scan("contents.setWindowOpenHandler(() => ({ action: 'allow' }));"))).toEqual(['policy']);
    expect(rules(scan('ses.setPermissionRequestHandler(denyAllPermissions); contents.setWindowOpenHandler(windowOpenHandler);'))).toEqual([]);
    expect(rules(scan('shell.openExternal(url);'))).toEqual(['open-external']);
    expect(rules(scan('void shell.openExternal(safeExternalUrl(url));'))).toEqual([]);
  });

  it('remote content', () => {
    expect(rules(scan("win.loadURL('http://localhost:5173');"))).toEqual(['remote-content']);
    expect(rules(scan('win.loadURL(`https://${host}/`);'))).toEqual(['remote-content']);
    expect(rules(scan('win.loadURL(process.env.DEV_URL);'))).toEqual(['remote-content']);
    expect(rules(scan('win.loadURL(indexUrl(paths.index)); win.loadFile(paths.index);'))).toEqual([]);
  });

  it('switches that weaken the renderer', () => {
    expect(rules(scan("app.commandLine.appendSwitch('no-sandbox');"))).toEqual(['unsafe-switch']);
    expect(rules(scan("app.commandLine.appendSwitch('disable-web-security');"))).toEqual(['unsafe-switch']);
    expect(rules(scan("app.commandLine.appendSwitch('enable-logging');"))).toEqual([]);
  });

  it('code evaluated in the page', () => {
    expect(rules(scan("win.webContents.executeJavaScript('1');"))).toEqual(['eval']);
  });

  it('the remote module', () => {
    expect(rules(scan("import { remote } from 'electron';", 'electron/main/index.ts'))).toEqual(['remote-module']);
    expect(rules(scan("import remote from '@electron/remote/main';"))).toContain('remote-module');
    expect(rules(scan("const r = require('@electron/remote');"))).toContain('remote-module');
    expect(rules(scan('const r = electron.remote;', 'electron/main/index.ts'))).toEqual(['remote-module']);
  });

  it('exposing more than window.umbra, or from elsewhere', () => {
    const preload = 'electron/preload/index.cts';
    expect(rules(scan("contextBridge.exposeInMainWorld('umbra', api);", preload))).toEqual([]);
    expect(rules(scan("contextBridge.exposeInMainWorld('umbra', api);\ncontextBridge.exposeInMainWorld('ipc', ipcRenderer);", preload))).toEqual(['expose']);
    expect(rules(scan("contextBridge.exposeInMainWorld('electron', electron);", preload))).toEqual(['expose']);
    expect(rules(scan("contextBridge.exposeInMainWorld('umbra', api);"))).toEqual(['expose']);
  });

  it("'electron' imported at run time outside the glue (tests could not load the module)", () => {
    expect(rules(scan("import { app } from 'electron';"))).toEqual(['electron-import']);
    expect(rules(scan("import electron = require('electron');"))).toEqual(['electron-import']);
    expect(rules(scan("const { app } = require('electron');"))).toEqual(['electron-import']);
    expect(rules(scan("const e = await import('electron');"))).toEqual(['electron-import']);
    expect(rules(scan("import type { WebContents } from 'electron';\nimport { type App } from 'electron';"))).toEqual([]);
    expect(rules(scan("import { app } from 'electron';", 'electron/main/index.ts'))).toEqual([]);
  });
});

describe('catches a loosened CSP', () => {
  it("'unsafe-…' anywhere in a string", () => {
    expect(rules(scan("const csp = \"default-src 'self'; script-src 'self' 'unsafe-eval'\";"))).toContain('csp');
    expect(rules(scan("const s = [\"style-src 'self' 'unsafe-inline'\"].join('; ');"))).toContain('csp');
    expect(rules(scan("const s = `script-src 'self' 'wasm-unsafe-eval'`;"))).toContain('csp');
  });

  it('directives looser than the baseline, whole or in pieces', () => {
    expect(scan("const csp = \"default-src 'self'; connect-src 'self' https://api.example.com\";").map((f) => f.message)).toEqual([
      "connect-src: https://api.example.com is looser than the baseline ('self')",
    ]);
    expect(rules(scan("const parts = [\"img-src 'self' data: https:\", \"object-src 'self'\"];"))).toEqual(['csp', 'csp']);
    expect(rules(scan("const parts = [\"default-src *\"];"))).toEqual(['csp']);
    expect(rules(scan("const parts = [\"img-src 'self'\", \"frame-ancestors 'none'\", \"font-src 'self'\"];"))).toEqual([]);
  });

  it('compares policies directive by directive, with default-src as the fallback', () => {
    expect(cspLooseness(BASELINE_CSP, BASELINE_CSP, { complete: true })).toEqual([]);
    expect(cspLooseness(`${BASELINE_CSP}; font-src 'self'`, BASELINE_CSP, { complete: true })).toEqual([]);
    expect(cspLooseness("default-src 'none'", BASELINE_CSP, { complete: true })).toEqual([
      'base-uri: not restricted (baseline: \'none\')',
      'frame-ancestors: not restricted (baseline: \'none\')',
      'form-action: not restricted (baseline: \'none\')',
    ]);
    expect(cspLooseness(BASELINE_CSP.replace("default-src 'self'; ", ''), BASELINE_CSP, { complete: true })).toContain(
      "font-src: not restricted (baseline: 'self')",
    );
    expect(cspLooseness(BASELINE_CSP.replace("object-src 'none'", "object-src 'self'"), BASELINE_CSP, { complete: true })).toEqual([
      "object-src: 'self' is looser than the baseline ('none')",
    ]);
    expect(cspLooseness(`${BASELINE_CSP}; script-src-elem 'self' blob:`, BASELINE_CSP, { complete: true })).toEqual([
      "script-src-elem: blob: is looser than the baseline ('self')",
    ]);
  });

  it('window-options producing looser options or CSP', () => {
    const base = createWindowOptions({ preload: '/p' }).webPreferences as Record<string, unknown>;
    const check = (wp: Record<string, unknown>, csp = CONTENT_SECURITY_POLICY) => checkWindowOptions({ webPreferences: wp, csp, preload: '/p' }).map((f) => f.message);
    expect(check({ ...base, sandbox: false })).toEqual(['webPreferences.sandbox is false, the baseline says true']);
    expect(check({ ...base, nodeIntegrationInSubFrames: true })).toEqual(['webPreferences.nodeIntegrationInSubFrames is true, the baseline says undefined']);
    const { contextIsolation: _omit, ...missing } = base;
    expect(check(missing)).toEqual(['webPreferences.contextIsolation is undefined, the baseline says true']);
    // (and again for script-src-elem, -attr and worker-src, which fall back to script-src)
    expect(check(base, CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'"))).toEqual(expect.arrayContaining([
      "CSP script-src: 'unsafe-eval' is never allowed",
      "CSP script-src: 'unsafe-eval' is looser than the baseline ('self')",
    ]));
    expect(check(base, CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", ''))).toEqual(["CSP frame-ancestors: not restricted (baseline: 'none')"]);
  });

  it("renderer/index.html's meta tag", () => {
    const page = (csp: string) => `<!doctype html>\n<html>\n<head>\n<meta\n  http-equiv="Content-Security-Policy"\n  content="${csp}"\n/>\n</head></html>`;
    const good = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";
    expect(metaCsp(page(good))).toBe(good);
    expect(checkHtml('renderer/index.html', page(good))).toEqual([]);
    expect(checkHtml('renderer/index.html', page(good.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))).map((f) => f.message)).toContain(
      "style-src: 'unsafe-inline' is never allowed",
    );
    expect(checkHtml('renderer/index.html', page(good.replace("; base-uri 'none'", '')))).toEqual([
      { file: 'renderer/index.html', line: 5, rule: 'csp-meta', message: "base-uri: not restricted (baseline: 'none')" },
    ]);
    expect(checkHtml('renderer/index.html', '<html><head></head></html>')).toMatchObject([{ rule: 'csp-meta', message: 'no Content-Security-Policy meta tag' }]);
  });
});

describe('requires the hardening in index.ts', () => {
  it('reports each missing piece', () => {
    const full = `app.enableSandbox(); contents.setWindowOpenHandler(windowOpenHandler); contents.on('will-navigate', f);
      contents.on('will-attach-webview', g); ses.setPermissionRequestHandler(denyAllPermissions);
      ses.setPermissionCheckHandler(denyPermissionCheck); ses.webRequest.onHeadersReceived(h); isTrustedSender(u, home);`;
    expect(checkMain({ file: 'electron/main/index.ts', text: full })).toEqual([]);
    const missing = checkMain({ file: 'electron/main/index.ts', text: full.replace('app.enableSandbox();', '').replace("contents.on('will-navigate', f);", '') });
    expect(missing.map((f) => f.message)).toEqual([
      'enableSandbox() is missing (every renderer sandboxed)',
      "on('will-navigate') is missing (navigation limited to the app)",
    ]);
  });
});
