// The helper's socket server: newline-delimited JSON-RPC 2.0 over a Unix socket, one request per
// line, answered in completion order (ids match them up), plus `event` notifications pushed to
// the connections that called `subscribe`. The helper runs as root, so everything a client
// sends is checked before a handler sees it, and nothing a client does (garbage, huge lines,
// vanishing mid-call, not reading) costs more than a bounded amount of memory or disturbs the
// other clients.
//
// Decisions:
// - Permission is decided at connect (SO_PEERCRED + /proc, see permissions.ts). A refused
//   caller's first request gets ONE PermissionDenied error with that request's id, then the
//   connection is closed; a refused caller that sends nothing gets the same error with id null
//   after `refusedGraceMs` (2 s) and is closed.
// - Batches (JSON arrays) are not supported: one InvalidRequest error (id null) each.
// - Requests on one connection run concurrently (at most `maxInFlightPerClient`; beyond that the
//   server stops reading from that connection until some finish). Responses may come out of
//   order.
// - Results (and pushed events) are validated against the schema before they are sent, always
//   (it is cheap); an invalid one becomes an Internal error for the caller and a "BUG" log line.
// - A connection whose unsent output passes `maxPendingWriteBytes` (1 MiB) is dropped and logged
//   (a single larger reply to a client that reads is fine).
// - Params are never logged (importConfig's carry a private key).
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { peerCredentials } from '../platform/peercred.js';
import { encodeError, encodeNotification, encodeResult, LineSplitter, parseClientLine, type ErrorObject } from './framing.js';
import { checkCaller, readGroupGid, type PermissionFiles } from './permissions.js';
import {
  CONTROL_GROUP, ErrorCode, EVENT_METHOD, isMethodName, MAX_LINE_BYTES, METHOD_NAMES, RpcError,
  type Caller, type Handlers, type HelperEvent, type MethodName,
} from './schema.js';
import { validateEvent, validateParams, validateResult } from './validation.js';

export interface IpcServerOptions {
  socketPath: string;
  handlers: Handlers;
  /** The helper's event source; called once at start, its unsubscribe at close. */
  subscribe: (listener: (e: HelperEvent) => void) => () => void;
  /** Members of this group (and root) may connect. Default "umbra". */
  group?: string;
  /** Default: console.error. */
  log?: (line: string) => void;
  /** Connections served at once; more are sent an error and closed. Default 256. */
  maxClients?: number;
  /** Mode of the socket file. Default 0o660 (root and the group). */
  socketMode?: number;
  /** Validate handler results and events against the schema before sending. Default true. */
  validateResults?: boolean;
  /** A connection with more unsent output than this is dropped. Default 1 MiB. */
  maxPendingWriteBytes?: number;
  /** Default MAX_LINE_BYTES. */
  maxLineBytes?: number;
  /** Requests of one connection handled at once. Default 16. */
  maxInFlightPerClient?: number;
  /** Where permissions.ts reads groups (tests). */
  permissionFiles?: PermissionFiles;
  /** How long a refused caller has to send its first request. Default 2000 ms. */
  refusedGraceMs?: number;
}

export interface IpcServer {
  /** Stops listening, drops every connection, removes the socket file. */
  close(): Promise<void>;
  /** The socket path. */
  readonly address: string;
  /** Connections open now. */
  readonly clientCount: number;
}

const INTERNAL_MESSAGE = 'internal error in the helper: see its log (journalctl -u umbrad) and report it';

/** Starts serving; rejects (with a message saying what to do) when the socket cannot be had. */
export async function startIpcServer(opts: IpcServerOptions): Promise<IpcServer> {
  const missing = METHOD_NAMES.filter((m) => typeof (opts.handlers as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new Error(`startIpcServer: no handler for ${missing.join(', ')}`);
  const cfg: Config = {
    handlers: opts.handlers,
    group: opts.group ?? CONTROL_GROUP,
    log: opts.log ?? ((line) => console.error(line)),
    maxClients: opts.maxClients ?? 256,
    validate: opts.validateResults ?? true,
    maxPending: opts.maxPendingWriteBytes ?? 1024 * 1024,
    maxLineBytes: opts.maxLineBytes ?? MAX_LINE_BYTES,
    maxInFlight: opts.maxInFlightPerClient ?? 16,
    files: opts.permissionFiles ?? {},
    refusedGraceMs: opts.refusedGraceMs ?? 2000,
  };
  const path = opts.socketPath;
  await prepareSocketPath(path, cfg.log);

  const connections = new Set<Connection>();
  const subscribers = new Set<Connection>();
  let nextId = 1;
  const server = net.createServer({ pauseOnConnect: false }, (socket) => {
    if (connections.size >= cfg.maxClients) {
      cfg.log(`ipc: refusing a connection: ${connections.size} clients already (the limit)`);
      refuseAndClose(socket, { code: ErrorCode.Busy, message: `the helper is serving too many clients (${cfg.maxClients}) right now: close some Umbra windows or umbra commands and retry`, data: { reason: 'too-many-clients' } });
      return;
    }
    const conn = new Connection(nextId++, socket, cfg, subscribers);
    connections.add(conn);
    socket.once('close', () => {
      connections.delete(conn);
      subscribers.delete(conn);
    });
    conn.start();
  });
  server.on('error', (e) => cfg.log(`ipc: server error: ${e.message}`));

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === 'EADDRINUSE' ? `another Umbra helper is already listening on ${path}: stop it first (sudo systemctl stop umbrad)` : `cannot listen on ${path}: ${e.message}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
  let ours: Stats | undefined;
  try {
    chmodSync(path, opts.socketMode ?? 0o660);
    const gid = readGroupGid(cfg.group, cfg.files.groupFile);
    if (gid === undefined) {
      cfg.log(`ipc: there is no "${cfg.group}" group: only root may use ${path}`);
    } else {
      try {
        chownSync(path, process.getuid?.() ?? 0, gid);
      } catch (e) {
        cfg.log(`ipc: cannot give ${path} to group ${cfg.group}: ${(e as Error).message}`);
      }
    }
    ours = lstatSync(path);
  } catch (e) {
    await new Promise((resolve) => server.close(resolve));
    throw new Error(`cannot set up ${path}: ${(e as Error).message}`, { cause: e });
  }

  const unsubscribe = opts.subscribe((event) => {
    try {
      broadcast(event);
    } catch (e) {
      cfg.log(`ipc: pushing an event failed: ${(e as Error).message}`);
    }
  });
  function broadcast(event: HelperEvent): void {
    let payload: unknown = event;
    if (cfg.validate) {
      const checked = validateEvent(event);
      if (!checked.ok) {
        cfg.log(`ipc: BUG: an invalid ${String((event as { type?: unknown }).type)} event was not pushed: ${checked.problem}`);
        return;
      }
      payload = checked.value;
    }
    const line = encodeNotification(EVENT_METHOD, payload);
    for (const conn of subscribers) conn.pushEvent(line);
  }

  let closing: Promise<void> | undefined;
  return {
    address: path,
    get clientCount() {
      return connections.size;
    },
    close() {
      closing ??= (async () => {
        unsubscribe();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const conn of connections) conn.destroy();
        await closed;
        try {
          const now = lstatSync(path);
          if (ours && now.isSocket() && now.ino === ours.ino && now.dev === ours.dev) unlinkSync(path);
        } catch {
          // already gone
        }
      })();
      return closing;
    },
  };
}

interface Config {
  handlers: Handlers;
  group: string;
  log: (line: string) => void;
  maxClients: number;
  validate: boolean;
  maxPending: number;
  maxLineBytes: number;
  maxInFlight: number;
  files: PermissionFiles;
  refusedGraceMs: number;
}

type AnyHandler = (params: unknown, caller: Caller) => Promise<unknown>;

/** One client. */
class Connection {
  private caller: Caller | undefined;
  private closed = false;
  private readonly splitter: LineSplitter;
  private readonly queue: string[] = [];
  private inFlight = 0;
  private paused = false;
  private subscription: 'none' | 'buffering' | 'live' = 'none';
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set when the caller is refused: the error its first request gets. */
  private refusal: ErrorObject | undefined;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly cfg: Config,
    private readonly subscribers: Set<Connection>,
  ) {
    this.splitter = new LineSplitter(cfg.maxLineBytes);
  }

  private get who(): string {
    return this.caller ? `pid ${this.caller.pid} (uid ${this.caller.uid})` : `connection ${this.id}`;
  }

  start(): void {
    const { socket } = this;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') this.cfg.log(`ipc: ${this.who}: ${e.message}`);
    });
    socket.on('close', () => this.onClose());
    try {
      this.caller = peerCredentials(socket);
    } catch (e) {
      this.cfg.log(`ipc: cannot tell who connected (${(e as Error).message}): closing`);
      this.destroy();
      return;
    }
    const decision = checkCaller(this.caller, this.cfg.group, this.cfg.files);
    if (!decision.allowed) {
      this.cfg.log(`ipc: refused ${this.who}: ${decision.why}`);
      const error: ErrorObject = { code: ErrorCode.PermissionDenied, message: decision.message, data: { reason: 'permission-denied', group: this.cfg.group } };
      this.refusal = error;
      this.timer = setTimeout(() => this.fail(null, error), this.cfg.refusedGraceMs);
      this.timer.unref();
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const { lines, overflow } = this.splitter.push(chunk);
    if (this.refusal) {
      // Refused: answer the first request (with its id) and close.
      const first = lines[0];
      if (first !== undefined || overflow) {
        const msg = first === undefined ? undefined : parseClientLine(first);
        this.fail(msg && msg.kind !== 'notification' ? msg.id : null, this.refusal);
      }
      return;
    }
    if (overflow) {
      this.cfg.log(`ipc: ${this.who} sent a line longer than ${this.cfg.maxLineBytes} bytes: closing its connection`);
      this.queue.length = 0;
      this.fail(null, { code: ErrorCode.InvalidRequest, message: `request line longer than ${this.cfg.maxLineBytes} bytes: the connection is closed`, data: { reason: 'line-too-long', maxBytes: this.cfg.maxLineBytes } });
      return;
    }
    for (const line of lines) if (line.trim() !== '') this.queue.push(line);
    this.pump();
  }

  /** Handles queued lines while below the in-flight limit; stops reading while above it. */
  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.inFlight < this.cfg.maxInFlight) {
      this.handleLine(this.queue.shift()!);
    }
    const shouldPause = this.queue.length > 0;
    if (shouldPause !== this.paused && !this.closed) {
      this.paused = shouldPause;
      if (shouldPause) this.socket.pause();
      else this.socket.resume();
    }
  }

  private handleLine(line: string): void {
    const msg = parseClientLine(line);
    if (msg.kind === 'invalid') {
      this.send(encodeError(msg.id, msg.error));
      return;
    }
    const id = msg.kind === 'request' ? msg.id : undefined;
    if (!isMethodName(msg.method)) {
      if (id !== undefined) {
        const shown = msg.method.length > 64 ? `${msg.method.slice(0, 64)}…` : msg.method;
        this.send(encodeError(id, { code: ErrorCode.MethodNotFound, message: `unknown method "${shown}"; valid methods: ${METHOD_NAMES.join(', ')}`, data: { reason: 'method-not-found', methods: METHOD_NAMES } }));
      }
      return;
    }
    const method = msg.method;
    const checked = validateParams(method, msg.params);
    if (!checked.ok) {
      if (id !== undefined) this.send(encodeError(id, errorObject(checked.error)));
      return;
    }
    this.inFlight++;
    void this.run(method, checked.value, id).finally(() => {
      this.inFlight--;
      this.pump();
    });
  }

  /** Runs a handler and answers; never rejects. `id` undefined: a notification, not answered. */
  private async run(method: MethodName, params: unknown, id: string | number | null | undefined): Promise<void> {
    const subscribing = method === 'subscribe';
    if (subscribing) this.beginSubscription();
    let result: unknown;
    try {
      const handler = this.cfg.handlers[method] as unknown as AnyHandler;
      result = await handler(params, this.caller!);
    } catch (e) {
      if (subscribing) this.endSubscription(false);
      if (e instanceof RpcError) {
        this.answerError(id, errorObject(e));
      } else {
        this.cfg.log(`ipc: ${method} failed for ${this.who}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        this.answerError(id, { code: ErrorCode.Internal, message: INTERNAL_MESSAGE, data: { reason: 'internal' } });
      }
      return;
    }
    if (this.cfg.validate) {
      const checked = validateResult(method, result);
      if (!checked.ok) {
        if (subscribing) this.endSubscription(false);
        this.cfg.log(`ipc: BUG: ${method} returned an invalid result: ${checked.problem}`);
        this.answerError(id, { code: ErrorCode.Internal, message: `${INTERNAL_MESSAGE} (its reply to ${method} failed validation)`, data: { reason: 'invalid-result' } });
        return;
      }
      result = checked.value;
    }
    if (id !== undefined) {
      let line: string;
      try {
        line = encodeResult(id, result);
      } catch (e) {
        if (subscribing) this.endSubscription(false);
        this.cfg.log(`ipc: BUG: ${method}'s result cannot be sent as JSON: ${(e as Error).message}`);
        this.answerError(id, { code: ErrorCode.Internal, message: INTERNAL_MESSAGE, data: { reason: 'internal' } });
        return;
      }
      this.send(line);
    }
    if (subscribing) this.endSubscription(true);
  }

  private answerError(id: string | number | null | undefined, error: ErrorObject): void {
    if (id !== undefined) this.send(encodeError(id, error));
  }

  // ---------------------------------------------------------------- events

  /** Events from now on are held until the subscribe result is sent, so none is lost or early. */
  private beginSubscription(): void {
    if (this.closed || this.subscription !== 'none') return;
    this.subscription = 'buffering';
    this.subscribers.add(this);
  }

  private endSubscription(ok: boolean): void {
    if (this.subscription !== 'buffering') return;
    const held = this.buffered;
    this.buffered = [];
    this.bufferedBytes = 0;
    if (!ok) {
      this.subscription = 'none';
      this.subscribers.delete(this);
      return;
    }
    this.subscription = 'live';
    for (const line of held) this.send(line);
  }

  pushEvent(line: string): void {
    if (this.closed) return;
    if (this.subscription === 'buffering') {
      this.buffered.push(line);
      this.bufferedBytes += line.length;
      if (this.bufferedBytes > this.cfg.maxPending) this.dropSlow(this.bufferedBytes);
      return;
    }
    if (this.subscription === 'live') this.send(line);
  }

  // ---------------------------------------------------------------- output and closing

  /**
   * Writes a line unless the connection is gone. A client with more than maxPending bytes still
   * unsent is dropped instead: it does not read. (Checked before writing, so one large reply to
   * a client that does read is never mistaken for that; output is bounded by maxPending plus
   * one line.)
   */
  private send(line: string): void {
    const { socket } = this;
    if (this.closed || socket.destroyed || !socket.writable) return;
    if (socket.writableLength > this.cfg.maxPending) {
      this.dropSlow(socket.writableLength);
      return;
    }
    socket.write(line);
  }

  private dropSlow(bytes: number): void {
    this.cfg.log(`ipc: dropping ${this.who}: it does not read what the helper sends (${bytes} bytes waiting)`);
    this.destroy();
  }

  /** Sends one error and closes (what is read meanwhile is discarded). */
  private fail(id: string | number | null, error: ErrorObject): void {
    if (this.closed) return;
    this.send(encodeError(id, error));
    this.closed = true;
    this.clearTimer();
    this.unsubscribe();
    closeAfterFlush(this.socket);
  }

  destroy(): void {
    this.closed = true;
    this.clearTimer();
    this.unsubscribe();
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    this.clearTimer();
    this.unsubscribe();
  }

  private unsubscribe(): void {
    this.subscription = 'none';
    this.buffered = [];
    this.subscribers.delete(this);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function errorObject(e: RpcError): ErrorObject {
  return e.data === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, data: e.data };
}

/** Ends the socket once what was written is flushed (bounded by a timer), reading and discarding meanwhile. */
function closeAfterFlush(socket: net.Socket): void {
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), 5000);
  timer.unref();
  socket.end(() => {
    clearTimeout(timer);
    socket.destroy();
  });
}

/** Tells an extra client why and closes it. */
function refuseAndClose(socket: net.Socket, error: ErrorObject): void {
  socket.on('error', () => {});
  socket.on('data', () => {});
  socket.write(encodeError(null, error));
  closeAfterFlush(socket);
}

/**
 * Makes `path` free to listen on: creates its directory (0755) if missing; removes a stale socket
 * (one nobody answers on); refuses when a live helper answers there or the path is not a socket.
 */
async function prepareSocketPath(path: string, log: (line: string) => void): Promise<void> {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
  }
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`cannot check ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket: move it away, or give the helper another socket path`);
  if (await somebodyAnswers(path)) throw new Error(`another Umbra helper is already running on ${path}: stop it first (sudo systemctl stop umbrad)`);
  unlinkSync(path);
  log(`ipc: removed the stale socket ${path}`);
}

/** Whether a process accepts connections on the socket at `path`. */
function somebodyAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(path);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // it exists and does not refuse: treat it as alive rather than steal it
    }, timeoutMs);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve(false);
      else reject(new Error(`cannot tell whether a helper is running on ${path} (${e.code ?? e.message}): remove the socket if none is`, { cause: e }));
    });
  });
}
