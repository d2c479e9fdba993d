// The built renderer as static files: GET and HEAD only, files under the folder only (no
// directory listings, no dot files, nothing reached through "..", encoded slashes or symlinks
// that lead out), the right Content-Type, and index.html with the page script injected before the
// app's own script (so renderer/ needs no change for browser mode).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { realpathSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

/** Largest file served (the renderer's biggest is its source map, about 1.5 MB). */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** index.html with `<script type="module" src="./umbra-bridge.js">` before the first script. */
export function injectBridge(html: string, scriptSrc: string): string {
  const tag = `<script type="module" src="${scriptSrc}"></script>\n    `;
  const at = html.search(/<script\b/i);
  if (at >= 0) return html.slice(0, at) + tag + html.slice(at);
  const head = html.search(/<\/head>/i);
  if (head >= 0) return html.slice(0, head) + tag + html.slice(head);
  throw new Error('the renderer\'s index.html has neither a <script> nor a </head>: is it the built renderer?');
}

export interface StaticSite {
  /** Answers a GET/HEAD for anything outside /api/. `headers` go on every answer. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string, headers: Record<string, string>): Promise<void>;
}

export interface StaticOptions {
  distDir: string;
  /** The already-injected index.html. */
  indexHtml: string;
  /** Extra files served from memory (the page script). */
  extra: Record<string, { body: string; type: string }>;
}

export function staticSite(opts: StaticOptions): StaticSite {
  const root = realpathSync(opts.distDir);

  const send = (req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer) => {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'content-length': String(buf.length) });
    res.end(req.method === 'HEAD' ? undefined : buf);
  };
  const notFound = (req: IncomingMessage, res: ServerResponse, headers: Record<string, string>) =>
    send(req, res, 404, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, 'not found\n');

  return {
    async serve(req, res, pathname, headers) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(req, res, 405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, 'method not allowed\n');
        return;
      }
      if (pathname === '/' || pathname === '/index.html') {
        send(req, res, 200, { ...headers, 'content-type': MIME_TYPES['.html']!, 'cache-control': 'no-store' }, opts.indexHtml);
        return;
      }
      const mem = opts.extra[pathname];
      if (mem) {
        send(req, res, 200, { ...headers, 'content-type': mem.type, 'cache-control': 'no-store' }, mem.body);
        return;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(pathname);
      } catch {
        return notFound(req, res, headers);
      }
      const parts = decoded.split('/').slice(1);
      // No "..", no dot files or folders, no empty segments (//), no backslashes or NULs.
      if (parts.some((p) => p === '' || p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return notFound(req, res, headers);
      const file = join(root, ...parts);
      if (!file.startsWith(root + sep)) return notFound(req, res, headers);
      let real: string;
      try {
        real = await realpath(file);
      } catch {
        return notFound(req, res, headers);
      }
      if (!real.startsWith(root + sep)) return notFound(req, res, headers);
      let fh;
      try {
        fh = await open(real, 'r');
      } catch {
        return notFound(req, res, headers);
      }
      try {
        const st = await fh.stat();
        if (!st.isFile() || st.size > MAX_FILE_BYTES) return notFound(req, res, headers); // folders: no listing
        const body = await fh.readFile();
        const type = MIME_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream';
        send(req, res, 200, { ...headers, 'content-type': type, 'cache-control': 'no-cache' }, body);
      } finally {
        await fh.close();
      }
    },
  };
}
