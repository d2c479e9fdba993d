// The check that fails when a window is made with unsafe web preferences or the CSP is loosened
// (security-check.test.ts runs it over the tree). It reads the sources under electron/ with the
// TypeScript parser (comments do not count, strings do) and holds:
// - windows: only `new BrowserWindow(createWindowOptions(…))`; no BrowserView / WebContentsView;
//   `webPreferences` set nowhere but window-options.ts; no unsafe preference value anywhere;
// - policies: permissions, new windows and external links go through window-options.ts' handlers;
//   nothing loads a remote URL, turns off the sandbox or web security by switch, evaluates code in
//   the page, or uses the remote module;
// - the CSP: no 'unsafe-…' source anywhere, every CSP text no looser than the baseline below, the
//   window's CSP and renderer/index.html's meta tag complete and no looser;
// - layering: only the two glue files import 'electron' as a value (so tests never load it), and
//   only the preload exposes anything to the page, once, as `umbra`.
// The baselines are kept here, apart from window-options.ts, so loosening it takes two edits.
// Test-only: the app never imports this file.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface Finding {
  /** Relative to the project root, with '/'. */
  file: string;
  line: number;
  rule: string;
  message: string;
}

export interface SourceText {
  file: string;
  text: string;
}

/** What the window's webPreferences must be (plus `preload`). */
const BASELINE_WEB_PREFERENCES: Readonly<Record<string, boolean>> = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webviewTag: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  spellcheck: false,
});

/** The loosest CSP allowed. */
export const BASELINE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const WINDOW_OPTIONS_FILE = 'electron/main/window-options.ts';
const PRELOAD_FILE = 'electron/preload/index.cts';
/** The only files that may import 'electron' at run time (never loaded by tests). */
const GLUE_FILES: readonly string[] = ['electron/main/index.ts', PRELOAD_FILE];
/** This file and tests hold bad snippets on purpose. */
const SKIP = [/\.test\.[cm]?[jt]sx?$/, /^electron\/main\/security-check\.ts$/];

/** Preferences that must have exactly this literal value wherever they are set. */
const SAFE_VALUES: Readonly<Record<string, boolean>> = {
  contextIsolation: true,
  sandbox: true,
  webSecurity: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  allowRunningInsecureContent: false,
  webviewTag: false,
  experimentalFeatures: false,
  enableRemoteModule: false,
  bypassCSP: false,
};
/** Preferences that must not be set at all. */
const FORBIDDEN_KEYS = new Set(['enableBlinkFeatures', 'additionalArguments']);
/** Command-line switches that weaken the renderer. */
const UNSAFE_SWITCHES = /^(--)?(no-sandbox|disable-web-security|disable-site-isolation-trials|allow-running-insecure-content|ignore-certificate-errors|remote-debugging-port|disable-features)(=.*)?$/;
/** Which handler each policy hook must be given. */
const REQUIRED_HANDLER: Readonly<Record<string, string>> = {
  setPermissionRequestHandler: 'denyAllPermissions',
  setPermissionCheckHandler: 'denyPermissionCheck',
  setWindowOpenHandler: 'windowOpenHandler',
};
const EVAL_IN_PAGE = new Set(['executeJavaScript', 'executeJavaScriptInIsolatedWorld', 'exposeInIsolatedWorld', 'setCertificateVerifyProc']);

// ------------------------------------------------------------------ CSP

const FETCH_FALLBACK: Readonly<Record<string, string[]>> = {
  'script-src-elem': ['script-src', 'default-src'],
  'script-src-attr': ['script-src', 'default-src'],
  'style-src-elem': ['style-src', 'default-src'],
  'style-src-attr': ['style-src', 'default-src'],
  'worker-src': ['script-src', 'default-src'],
  'frame-src': ['child-src', 'default-src'],
  ...Object.fromEntries(['script-src', 'style-src', 'img-src', 'connect-src', 'font-src', 'object-src', 'media-src', 'child-src', 'manifest-src', 'prefetch-src'].map((d) => [d, ['default-src']])),
  'default-src': [],
};
/** Directives that take a source list and do not fall back to default-src. */
const NAVIGATION = ['base-uri', 'form-action', 'frame-ancestors'];
const SOURCE_DIRECTIVES = new Set([...Object.keys(FETCH_FALLBACK), ...NAVIGATION]);
const CSP_START = new RegExp(`^\\s*(${[...SOURCE_DIRECTIVES].join('|')})(\\s|;|$)`, 'i');

type Csp = Map<string, string[]>;

/** Directive name → sources (lowercased names and keywords; the first of a repeated name wins, as in browsers). */
function parseCsp(text: string): Csp {
  const out: Csp = new Map();
  for (const part of text.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/).filter((t) => t !== '');
    if (!name) continue;
    const key = name.toLowerCase();
    if (!out.has(key)) out.set(key, sources.map((s) => (s.startsWith("'") ? s.toLowerCase() : s)));
  }
  return out;
}

function effective(csp: Csp, directive: string): string[] | undefined {
  const own = csp.get(directive);
  if (own) return own;
  for (const d of FETCH_FALLBACK[directive] ?? []) {
    const v = csp.get(d);
    if (v) return v;
  }
  return undefined;
}

const isNone = (sources: readonly string[]) => sources.length === 0 || (sources.length === 1 && sources[0] === "'none'");

/**
 * How `policy` is looser than `baseline`, one line per problem. `complete`: a directive the
 * baseline restricts must be restricted here too (off for a fragment such as "img-src 'self'").
 */
export function cspLooseness(policy: string, baseline = BASELINE_CSP, opts: { complete?: boolean; ignore?: readonly string[] } = {}): string[] {
  const pol = parseCsp(policy);
  const base = parseCsp(baseline);
  const problems: string[] = [];
  for (const [d, sources] of pol) {
    for (const s of sources) if (/^'(unsafe-|wasm-unsafe-eval)/.test(s)) problems.push(`${d}: ${s} is never allowed`);
  }
  const directives = new Set([...base.keys(), ...pol.keys(), ...(opts.complete ? SOURCE_DIRECTIVES : [])]);
  for (const d of directives) {
    if (!SOURCE_DIRECTIVES.has(d) || opts.ignore?.includes(d)) continue;
    if (!opts.complete && !pol.has(d)) continue;
    const allowed = effective(base, d);
    if (allowed === undefined) continue;
    const given = effective(pol, d);
    if (given === undefined) {
      problems.push(`${d}: not restricted (baseline: ${allowed.join(' ') || "'none'"})`);
      continue;
    }
    if (isNone(given)) continue;
    const extra = isNone(allowed) ? given : given.filter((s) => !allowed.includes(s));
    for (const s of extra) problems.push(`${d}: ${s} is looser than the baseline (${allowed.join(' ') || "'none'"})`);
  }
  return [...new Set(problems)];
}

/** The CSP of a page's <meta http-equiv="Content-Security-Policy">, or undefined. */
export function metaCsp(html: string): string | undefined {
  for (const tag of html.match(/<meta\b[^>]*>/gis) ?? []) {
    if (!/http-equiv\s*=\s*["']?content-security-policy["']?/i.test(tag)) continue;
    const content = /content\s*=\s*("([^"]*)"|'([^']*)')/is.exec(tag);
    if (content) return (content[2] ?? content[3] ?? '').replace(/\s+/g, ' ').trim();
  }
  return undefined;
}

/** renderer/index.html's CSP: present, and no looser than the baseline (frame-ancestors cannot be set in a meta tag). */
export function checkHtml(file: string, html: string, baseline = BASELINE_CSP): Finding[] {
  const csp = metaCsp(html);
  if (csp === undefined) return [{ file, line: 1, rule: 'csp-meta', message: 'no Content-Security-Policy meta tag' }];
  const line = html.slice(0, html.search(/http-equiv\s*=\s*["']?content-security-policy/i)).split('\n').length;
  return cspLooseness(csp, baseline, { complete: true, ignore: ['frame-ancestors'] }).map((message) => ({ file, line, rule: 'csp-meta', message }));
}

// ------------------------------------------------------------------ sources

function propertyName(name: ts.PropertyName | ts.MemberName): string | undefined {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  return undefined;
}

/** The name a call or `new` goes to: `x` for x(…), `b` for a.b(…). */
function calleeName(expr: ts.Expression): string | undefined {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr)) return expr.name.text;
  if (ts.isElementAccessExpression(expr) && ts.isStringLiteralLike(expr.argumentExpression)) return expr.argumentExpression.text;
  if (ts.isParenthesizedExpression(expr)) return calleeName(expr.expression);
  return undefined;
}

function isCallTo(expr: ts.Expression | undefined, name: string): boolean {
  return expr !== undefined && ts.isCallExpression(expr) && calleeName(expr.expression) === name;
}

function literalText(expr: ts.Expression | undefined): string | undefined {
  if (expr && (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr))) return expr.text;
  if (expr && ts.isTemplateExpression(expr)) return expr.head.text;
  return undefined;
}

/** Every problem in one source file. */
export function scanSource({ file, text }: SourceText): Finding[] {
  const kind = /\.[cm]?tsx?$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const findings: Finding[] = [];
  const add = (node: ts.Node, rule: string, message: string) => {
    findings.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, rule, message });
  };
  const isWindowOptions = file === WINDOW_OPTIONS_FILE;
  const isGlue = GLUE_FILES.includes(file);
  let exposures = 0;

  const visit = (node: ts.Node): void => {
    // ---- windows
    if (ts.isNewExpression(node)) {
      const name = calleeName(node.expression);
      if (name === 'BrowserView' || name === 'WebContentsView') add(node, 'window', `new ${name}(): the app has one window, made from window-options.ts`);
      if (name === 'BrowserWindow' && !isCallTo(node.arguments?.[0], 'createWindowOptions')) {
        add(node, 'window', 'new BrowserWindow() must take createWindowOptions(…) from window-options.ts');
      }
    }
    if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) {
      const key = propertyName(node.name);
      if (key === 'webPreferences' && !isWindowOptions) add(node, 'web-preferences', 'webPreferences are set only in window-options.ts');
      if (key !== undefined && FORBIDDEN_KEYS.has(key)) add(node, 'web-preferences', `${key} must not be set`);
      if (key !== undefined && Object.hasOwn(SAFE_VALUES, key)) {
        const want = SAFE_VALUES[key];
        const init = ts.isPropertyAssignment(node) ? node.initializer : undefined;
        const value = init?.kind === ts.SyntaxKind.TrueKeyword ? true : init?.kind === ts.SyntaxKind.FalseKeyword ? false : undefined;
        if (value !== want) add(node, 'unsafe-preference', `${key} must be the literal ${String(want)}`);
      }
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(node.left)) {
      const key = node.left.name.text;
      if (key === 'webPreferences' || Object.hasOwn(SAFE_VALUES, key) || FORBIDDEN_KEYS.has(key)) {
        if (!isWindowOptions || key !== 'webPreferences') add(node, 'unsafe-preference', `${key} is not assigned outside the options literal in window-options.ts`);
      }
    }

    // ---- calls
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression);
      const arg0 = node.arguments[0];
      if (name !== undefined && Object.hasOwn(REQUIRED_HANDLER, name)) {
        const want = REQUIRED_HANDLER[name]!;
        if (!(arg0 && ts.isIdentifier(arg0) && arg0.text === want)) add(node, 'policy', `${name}() must be given ${want} from window-options.ts`);
      }
      if (name === 'openExternal' && !isCallTo(arg0, 'safeExternalUrl')) add(node, 'open-external', 'shell.openExternal() only with safeExternalUrl(…) from window-options.ts');
      if (name === 'loadURL' && !isCallTo(arg0, 'indexUrl')) {
        const url = literalText(arg0);
        add(node, 'remote-content', url !== undefined ? `loadURL(${JSON.stringify(url.slice(0, 40))}): load the app with loadFile()` : 'loadURL() with a computed URL: load the app with loadFile() or loadURL(indexUrl(…))');
      }
      if ((name === 'appendSwitch' || name === 'appendArgument') && UNSAFE_SWITCHES.test(literalText(arg0) ?? '')) {
        add(node, 'unsafe-switch', `${name}(${JSON.stringify(literalText(arg0))}) weakens the renderer`);
      }
      if (name !== undefined && EVAL_IN_PAGE.has(name)) add(node, 'eval', `${name}() is not used: the page gets code only from its own files`);
      if (name === 'exposeInMainWorld') {
        exposures++;
        if (file !== PRELOAD_FILE) add(node, 'expose', `only ${PRELOAD_FILE} exposes anything to the page`);
        else if (literalText(arg0) !== 'umbra' || exposures > 1) add(node, 'expose', 'the preload exposes exactly one thing: window.umbra');
      }
      if (name === 'require' && ts.isIdentifier(node.expression)) checkModule(node, literalText(arg0), false);
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) checkModule(node, literalText(arg0), false);
    }

    // ---- imports
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (!clause.name && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      checkModule(node, node.moduleSpecifier.text, typeOnly);
      if (node.moduleSpecifier.text === 'electron' && clause?.namedBindings && ts.isNamedImports(clause.namedBindings)) {
        for (const e of clause.namedBindings.elements) if ((e.propertyName ?? e.name).text === 'remote') add(e, 'remote-module', 'the remote module is not used');
      }
    }
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      checkModule(node, literalText(node.moduleReference.expression), node.isTypeOnly);
    }
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'remote' && ts.isIdentifier(node.expression) && node.expression.text === 'electron') {
      add(node, 'remote-module', 'the remote module is not used');
    }

    // ---- strings: CSP sources and text
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      const s = node.text;
      if (/'?(unsafe-(eval|inline|hashes|allow-redirects)|wasm-unsafe-eval)'?/i.test(s)) add(node, 'csp', `${JSON.stringify(s.slice(0, 60))}: no 'unsafe-…' source in any CSP`);
      else if (CSP_START.test(s)) for (const p of cspLooseness(s)) add(node, 'csp', p);
      if (/^@electron\/remote/.test(s)) add(node, 'remote-module', 'the remote module is not used');
    }

    ts.forEachChild(node, visit);
  };

  function checkModule(node: ts.Node, specifier: string | undefined, typeOnly: boolean): void {
    if (specifier === undefined) return;
    if (/^@electron\/remote(\/|$)|^electron\/remote$/.test(specifier)) add(node, 'remote-module', 'the remote module is not used');
    if (/^electron(\/(main|renderer|common))?$/.test(specifier) && !typeOnly && !isGlue) {
      add(node, 'electron-import', `only ${GLUE_FILES.join(' and ')} import 'electron' at run time (keep logic in plain modules; use import type)`);
    }
  }

  visit(sf);
  return findings;
}

/** What the main process must do (index.ts), besides what it must not. */
const REQUIRED_IN_MAIN: readonly { call: string; arg?: string; why: string }[] = [
  { call: 'enableSandbox', why: 'every renderer sandboxed' },
  { call: 'setWindowOpenHandler', arg: 'windowOpenHandler', why: 'no new windows' },
  { call: 'setPermissionRequestHandler', arg: 'denyAllPermissions', why: 'no permissions for the page' },
  { call: 'setPermissionCheckHandler', arg: 'denyPermissionCheck', why: 'no permissions for the page' },
  { call: 'on', arg: "'will-navigate'", why: 'navigation limited to the app' },
  { call: 'on', arg: "'will-attach-webview'", why: 'no webviews' },
  { call: 'onHeadersReceived', why: 'the CSP as a header too' },
  { call: 'isTrustedSender', why: 'IPC only from the app page' },
];

export function checkMain({ file, text }: SourceText): Finding[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const seen = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression);
      if (name) {
        seen.add(name);
        const a = node.arguments[0];
        if (a) seen.add(`${name}(${a.getText(sf)})`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return REQUIRED_IN_MAIN.filter((r) => !seen.has(r.arg ? `${r.call}(${r.arg})` : r.call)).map((r) => ({
    file, line: 1, rule: 'missing', message: `${r.arg ? `${r.call}(${r.arg})` : `${r.call}()`} is missing (${r.why})`,
  }));
}

/** The window options and CSP that window-options.ts produces, against the baselines. */
export function checkWindowOptions(opts: { webPreferences: unknown; csp: string; preload: string }): Finding[] {
  const findings: Finding[] = [];
  const add = (message: string) => findings.push({ file: WINDOW_OPTIONS_FILE, line: 1, rule: 'baseline', message });
  const wp = opts.webPreferences;
  if (typeof wp !== 'object' || wp === null) {
    add('createWindowOptions() has no webPreferences');
  } else {
    const want: Record<string, unknown> = { ...BASELINE_WEB_PREFERENCES, preload: opts.preload };
    const got = wp as Record<string, unknown>;
    for (const key of new Set([...Object.keys(want), ...Object.keys(got)])) {
      if (got[key] !== want[key]) add(`webPreferences.${key} is ${JSON.stringify(got[key])}, the baseline says ${JSON.stringify(want[key])}`);
    }
  }
  for (const p of cspLooseness(opts.csp, BASELINE_CSP, { complete: true })) add(`CSP ${p}`);
  return findings;
}

// ------------------------------------------------------------------ the tree

/** Every script under `dir` (relative to `root`), tests and this file left out. */
export function collectSources(root: string, dir = 'electron'): SourceText[] {
  const out: SourceText[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(child);
      } else if (/\.[cm]?[jt]sx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') && !SKIP.some((re) => re.test(child))) {
        out.push({ file: child, text: readFileSync(path.join(root, child), 'utf8') });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** The whole static check over the project at `root`. */
export function runSecurityCheck(root: string): Finding[] {
  const sources = collectSources(root);
  const findings = sources.flatMap(scanSource);
  const main = sources.find((s) => s.file === 'electron/main/index.ts');
  if (!main) findings.push({ file: 'electron/main/index.ts', line: 1, rule: 'missing', message: 'the main process entry is missing' });
  else findings.push(...checkMain(main));
  const html = 'renderer/index.html';
  let text: string | undefined;
  try {
    text = readFileSync(path.join(root, html), 'utf8');
  } catch {
    text = undefined;
  }
  if (text !== undefined) findings.push(...checkHtml(html, text));
  return findings;
}

export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line} [${f.rule}] ${f.message}`).join('\n');
}
