// Browser mode: the built renderer served on 127.0.0.1, with `window.umbra` provided by a page
// script (bridge-client.ts) that talks to this host, which talks to the helper through one
// HelperLink. For machines without Electron (the demo in a VM, a headless box with a browser).
//
// Who may use it: a page from this origin holding the session's random token. Every /api request
// must carry the token in a header (403 otherwise); a page elsewhere cannot read it and, with no
// CORS headers ever sent, cannot send the header either. The Host header must name 127.0.0.1 or
// localhost with this port (DNS rebinding), callers must be on loopback, and the socket listens on
// 127.0.0.1 only. Static files carry the app's CSP and the usual hardening headers.
//
// Other local accounts: every connection's peer is looked up in /proc/net/tcp{,6} (peer-uid.ts)
// and one from a uid other than ours (or the browser user's we were given) is refused before it
// sends a byte, so a token that leaked is still of no use from another account. And the token is
// never put where they can read it: the address to hand to xdg-open is `openUrl`, a file:// page
// in a 0700 directory of the user's (launch-file.ts) that forwards to `url`; `url` itself is for
// in-process use (Playwright's page.goto), never for another program's argv.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { launchExcluded } from '../../helper/ipc/launch-excluded.js';
import { EXCLUDED_APPS_FILE_NAME } from '../main/excluded-apps.js';
import { HelperLink } from '../main/helper-link.js';
import { userDataDir } from '../main/paths.js';
import { createSplitTunnelApps, type SplitTunnelApps } from '../main/split-tunnel-apps.js';
import type { InstallKind } from '../../helper/ipc/tunnel-words.js';
import { createApi } from './api.js';
import { loadBridgeScript } from './bridge-asset.js';
import { writeLaunchFile, type LaunchFile, type LaunchOwner } from './launch-file.js';
import { loopbackPeerUid } from './peer-uid.js';
import { APP_PATH, BRIDGE_PATH, CALL_PATH, EVENTS_PATH, TOKEN_HEADER } from './protocol.js';
import { injectBridge, staticSite } from './static-files.js';

/** The app's CSP (renderer/index.html's, plus what only a header can say). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), bluetooth=(), payment=()',
};

const MAX_STREAMS = 16;

export interface BrowserHostOptions {
  /** The helper's socket. */
  socketPath: string;
  /** The built renderer (renderer/dist). */
  distDir: string;
  /** Only '127.0.0.1' (the default). */
  host?: string;
  /** 0 (the default): any free port. */
  port?: number;
  /** Reconnect delays of the helper link (HelperLink's default otherwise). */
  backoffMs?: number[];
  /** How long to wait for the first word on the helper before serving. Default 6000 ms. */
  firstContactMs?: number;
  /**
   * The account whose browser opens the page, when it is not ours (a host run as root for the
   * lab, the desktop user's browser): its connections are let in too, and the launch page is
   * written into its runtime directory, owned by it. Default: our own uid and gid.
   */
  browserUser?: LaunchOwner;
  /** How this copy was installed, for the helper-down page's advice. Default 'checkout'. */
  install?: InstallKind;
  /** The helper runs in another network namespace than this host and its browser (the demo's lab). */
  helperElsewhere?: boolean;
  /**
   * Split tunnelling's apps, given the host's helper link. Default: this process's user's desktop
   * apps, their list where the Electron app keeps it (~/.config/umbra); none (each call says why)
   * where that would be wrong: see {@link splitAppsRefusal}.
   */
  splitApps?: (link: HelperLink) => Pick<SplitTunnelApps, 'answer'>;
}

/**
 * Why this host must not read or start apps for its page, if so: it runs as another account
 * than the browser's (the demo's root host for a desktop user: root's apps, started as root), or
 * the helper is in another network namespace (apps started here never pass its tunnel anyway).
 */
export function splitAppsRefusal(o: { selfUid: number; browserUid: number; helperElsewhere: boolean }): string | undefined {
  if (o.helperElsewhere) return 'the Umbra helper runs in another network namespace than this browser host (the demo’s lab), so apps started from here would not pass through its tunnel either way';
  if (o.selfUid !== o.browserUid) return 'this browser host runs as another account than your browser, so it will not read or start your apps: use the Umbra app, or umbra exclude';
  return undefined;
}

function defaultSplitApps(link: HelperLink, refusal: string | undefined): Pick<SplitTunnelApps, 'answer'> {
  if (refusal) return { answer: async () => ({ ok: false, error: { code: 'unavailable', message: refusal } }) };
  return createSplitTunnelApps({
    env: process.env,
    homedir: homedir(),
    file: join(userDataDir(process.env, homedir()), EXCLUDED_APPS_FILE_NAME),
    client: link,
    launchExcluded,
  });
}

export interface BrowserHost {
  /**
   * http://127.0.0.1:PORT/#token=… (the page moves the token out of the address bar). Carries the
   * token: for this process only (page.goto); give other programs {@link openUrl}.
   */
  url: string;
  /** file:// address of the launch page (0600, in a 0700 directory): what to pass to xdg-open. */
  openUrl: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  token: string;
  /** The host's link to the helper. */
  link: HelperLink;
  /** Stops serving, ends the event streams, closes the link. */
  close(): Promise<void>;
}

export async function startBrowserHost(opts: BrowserHostOptions): Promise<BrowserHost> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error(`the browser-mode host listens on 127.0.0.1 only, not ${host}`);
  const index = join(opts.distDir, 'index.html');
  if (!existsSync(index)) throw new Error(`no built renderer at ${opts.distDir} (no index.html): build it with npx vite build --config renderer/vite.config.ts`);

  const bridgeJs = await loadBridgeScript();
  const site = staticSite({
    distDir: opts.distDir,
    indexHtml: injectBridge(readFileSync(index, 'utf8'), `.${BRIDGE_PATH}`),
    extra: { [BRIDGE_PATH]: { body: bridgeJs, type: 'text/javascript; charset=utf-8' } },
  });

  const self = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
  const browserUser = opts.browserUser ?? self;
  const allowedUids = new Set([self.uid, browserUser.uid]);
  const token = randomBytes(32).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const link = new HelperLink({ socketPath: opts.socketPath, ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}) });
  link.setMaxListeners(2 * MAX_STREAMS + 8);
  const api = createApi(link, { install: opts.install ?? 'checkout', ...(opts.helperElsewhere ? { elsewhere: true } : {}) }, opts.splitApps ? opts.splitApps(link) : defaultSplitApps(link, splitAppsRefusal({ selfUid: self.uid, browserUid: browserUser.uid, helperElsewhere: !!opts.helperElsewhere })));
  let streams = 0;
  let port = 0;

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const refuse = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
    res.end(`${text}\n`);
  };
  const tokenOk = (req: IncomingMessage): boolean => {
    const given = req.headers[TOKEN_HEADER];
    if (typeof given !== 'string') return false;
    const buf = Buffer.from(given);
    return buf.length === tokenBuf.length && timingSafeEqual(buf, tokenBuf);
  };

  // Looked up as the connection arrives (the client's row is there while it is connected), and
  // awaited before any request on it is answered.
  const peerChecks = new WeakMap<Socket, Promise<boolean>>();
  const checkPeer = async (sock: Socket): Promise<boolean> => {
    if (sock.localAddress === undefined || sock.localPort === undefined || sock.remoteAddress === undefined || sock.remotePort === undefined) return false;
    const uid = await loopbackPeerUid({ address: sock.localAddress, port: sock.localPort }, { address: sock.remoteAddress, port: sock.remotePort });
    // 'unsupported': no /proc/net/tcp (not Linux), nothing to check against; the token still holds.
    return uid === 'unsupported' || (typeof uid === 'number' && allowedUids.has(uid));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peerOk = await (peerChecks.get(req.socket) ?? checkPeer(req.socket));
    if (!peerOk) return refuse(res, 403, 'forbidden: this connection comes from another local account');
    const remote = req.socket.remoteAddress ?? '';
    if (!/^(::ffff:)?127\./.test(remote)) return refuse(res, 403, 'forbidden');
    if (!allowedHosts().has((req.headers.host ?? '').toLowerCase())) return refuse(res, 403, 'forbidden: wrong Host');
    const target = req.url ?? '/';
    if (!target.startsWith('/') || target.startsWith('//')) return refuse(res, 400, 'bad request');
    const pathname = new URL(target, `http://127.0.0.1:${port}`).pathname;

    if (pathname === '/api' || pathname.startsWith('/api/')) {
      // No CORS, ever: a preflight or another origin gets nothing.
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins().has(origin)) return refuse(res, 403, 'forbidden: cross-origin');
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin') return refuse(res, 403, 'forbidden: cross-site');
      if (!tokenOk(req)) return refuse(res, 403, 'forbidden: no or wrong token');
      const headers = { ...SECURITY_HEADERS };
      if (pathname === CALL_PATH) return api.call(req, res, headers);
      if (pathname === APP_PATH) return api.app(req, res, headers);
      if (pathname === EVENTS_PATH) {
        if (streams >= MAX_STREAMS) return refuse(res, 503, 'too many event streams');
        streams++;
        res.once('close', () => streams--);
        return api.events(req, res, headers);
      }
      return refuse(res, 404, 'not found');
    }
    return site.serve(req, res, pathname, { ...SECURITY_HEADERS });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.on('connection', (sock: Socket) => peerChecks.set(sock, checkPeer(sock)));
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // event streams stay open

  // Know whether the helper runs before the first page asks (so it does not flash "not running").
  link.start();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, opts.firstContactMs ?? 6000);
    function done() {
      clearTimeout(timer);
      link.off('reachable', done);
      resolve();
    }
    link.on('reachable', done);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: opts.port ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await link.stop();
    throw e;
  }
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const url = `${origin}/#token=${token}`;
  let launch: LaunchFile;
  try {
    launch = writeLaunchFile(url, browserUser);
  } catch (e) {
    server.close();
    await link.stop();
    throw new Error(`could not write the browser-mode launch page: ${(e as Error).message}`);
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    openUrl: launch.url,
    origin,
    port,
    token,
    link,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        api.closeStreams();
        server.closeAllConnections();
        launch.remove();
        await closed;
        await link.stop();
      })()),
  };
}
