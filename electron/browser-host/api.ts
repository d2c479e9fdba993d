// The host's /api: the page's way to the helper, through the one HelperLink.
//   POST /api/call   {method, params} → 200 {result} | 200 {error: {code, message}}
//   POST /api/app    the same, for split tunnelling's apps (answered here, as Electron's main does)
//   GET  /api/events text/event-stream: reachable, snapshot, events (protocol.ts)
// The caller is already checked (loopback, Host, token, origin) by the host.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_SOCKET_PATH, ErrorCode, isMethodName, MAX_LINE_BYTES, type HelperEvent, type MethodName, type Params } from '../../helper/ipc/schema.js';
import type { HostInfo } from '../../helper/ipc/tunnel-words.js';
import { toLinkError, type HelperLink } from '../main/helper-link.js';
import { checkAppRequest, isSplitAppRequest, SPLIT_APP_METHODS } from '../main/ipc-contract.js';
import type { SplitTunnelApps } from '../main/split-tunnel-apps.js';
import type { CallResponse, StreamMessage } from './protocol.js';

/** Sent on an idle event stream so that a dead page is noticed and proxies keep it open. */
const KEEPALIVE_MS = 15_000;

export interface Api {
  call(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void>;
  /** An app method (ipc-contract.ts), of those this host answers: split tunnelling's apps. */
  app(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void>;
  events(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void;
  /** Ends every open event stream. */
  closeStreams(): void;
}

const json = (res: ServerResponse, status: number, headers: Record<string, string>, body: unknown) => {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(buf.length) });
  res.end(buf);
};

/** The request's body, at most `limit` bytes; undefined if it is larger (the rest is drained). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A POST of JSON, parsed; undefined once a refusal has been sent. */
async function readJsonPost(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<{ parsed: unknown } | undefined> {
  if (req.method !== 'POST') return void json(res, 405, { ...headers, allow: 'POST' }, { error: { code: 'method-not-allowed', message: 'POST only' } });
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return void json(res, 415, headers, { error: { code: 'unsupported-media-type', message: 'send JSON' } });
  const body = await readBody(req, MAX_LINE_BYTES);
  if (!body) return void json(res, 413, headers, { error: { code: 'too-large', message: `a call is at most ${MAX_LINE_BYTES} bytes` } });
  try {
    return { parsed: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return void json(res, 400, headers, { error: { code: 'bad-request', message: 'the body is not JSON' } });
  }
}

export function createApi(link: HelperLink, facts: Pick<HostInfo, 'install' | 'elsewhere'>, splitApps: Pick<SplitTunnelApps, 'answer'>): Api {
  const streams = new Set<ServerResponse>();
  // Whether the helper's latest status held a block: a page that opens after the helper went
  // learns it from here (the block outlives the helper; see helperDownVerdict).
  let lastBlocked: boolean | undefined;
  link.on('event', (e: HelperEvent) => {
    if (e.type === 'status') lastBlocked = e.status.blocked;
  });
  const hostInfo = (): HostInfo => ({
    ...facts,
    ...(link.socketPath === DEFAULT_SOCKET_PATH ? {} : { socket: link.socketPath }),
    ...(lastBlocked === undefined ? {} : { lastBlocked }),
  });

  return {
    async call(req, res, headers) {
      const body = await readJsonPost(req, res, headers);
      if (!body) return;
      const { parsed } = body;
      const { method, params } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { method?: unknown; params?: unknown };
      let answer: CallResponse;
      if (typeof method !== 'string' || !isMethodName(method)) {
        answer = { error: { code: ErrorCode.MethodNotFound, message: `no such method: ${String(method).slice(0, 60)}` } };
      } else {
        try {
          // The link checks params against the schema before anything is sent.
          answer = { result: await link.call(method as MethodName, (params ?? {}) as Params<MethodName>) };
        } catch (e) {
          answer = { error: toLinkError(e) };
        }
      }
      json(res, 200, headers, answer);
    },

    async app(req, res, headers) {
      const body = await readJsonPost(req, res, headers);
      if (!body) return;
      const checked = checkAppRequest(body.parsed, SPLIT_APP_METHODS);
      let answer: CallResponse;
      if (!checked.ok) answer = { error: checked.error };
      else if (!isSplitAppRequest(checked.value)) answer = { error: { code: ErrorCode.MethodNotFound, message: `browser mode has no ${checked.value.method}` } };
      else {
        const reply = await splitApps.answer(checked.value);
        answer = reply.ok ? { result: reply.value } : { error: reply.error };
      }
      json(res, 200, headers, answer);
    },

    events(req, res, headers) {
      if (req.method !== 'GET') return json(res, 405, { ...headers, allow: 'GET' }, { error: { code: 'method-not-allowed', message: 'GET only' } });
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      res.flushHeaders();
      streams.add(res);
      let open = true;
      /** Only the newest snapshot request counts; events flow once its snapshot is sent. */
      let generation = 0;
      let live = false;
      const send = (m: StreamMessage) => {
        if (open) res.write(`event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);
      };
      const sendSnapshot = async () => {
        const gen = ++generation;
        live = false;
        try {
          const snapshot = await link.snapshot();
          lastBlocked = snapshot.status.blocked;
          if (!open || gen !== generation) return;
          // Still in the continuation of the helper's reply: no later event has been handled yet.
          send({ type: 'snapshot', snapshot });
          live = true;
        } catch (e) {
          if (!open || gen !== generation) return;
          send({ type: 'snapshot-error', error: toLinkError(e) });
        }
      };
      const onReachable = (reachable: boolean) => {
        const why = reachable ? undefined : link.error;
                send(why ? { type: 'reachable', reachable, code: why.code, message: why.message, host: hostInfo() } : { type: 'reachable', reachable, host: hostInfo() });
        if (reachable) void sendSnapshot();
        else {
          generation++;
          live = false;
        }
      };
      const onEvent = (event: HelperEvent) => {
        if (live) send({ type: 'event', event });
      };
      const keepalive = setInterval(() => open && res.write(': keep-alive\n\n'), KEEPALIVE_MS);
      const close = () => {
        if (!open) return;
        open = false;
        clearInterval(keepalive);
        link.off('reachable', onReachable);
        link.off('event', onEvent);
        streams.delete(res);
      };
      req.on('close', close);
      res.on('close', close);
      res.on('error', close);
      link.on('reachable', onReachable);
      link.on('event', onEvent);
      onReachable(link.reachable);
    },

    closeStreams() {
      for (const res of [...streams]) res.end();
    },
  };
}
