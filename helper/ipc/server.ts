// The helper's socket server: newline-delimited JSON-RPC 2.0 over a Unix socket, one request per
// line, answered in completion order (ids match them up), plus `event` notifications pushed to
// the connections that called `subscribe`. The helper runs as root, so everything a client
// sends is checked before a handler sees it, and nothing a client does (garbage, huge lines,
// vanishing mid-call, not reading, holding connections open) costs more than a bounded amount of
// memory or keeps the other clients out.
//
// Decisions:
// - Permission is decided at connect (SO_PEERCRED + /proc, see permissions.ts). A refused caller
//   is sent ONE PermissionDenied error with id null at once and the connection is ended: it
//   never holds a slot.
// - Slots (`maxClients`, 256) are shared out by server-admission.ts: one uid other than root holds
//   at most `maxClientsPerUid` (a quarter); a newcomer at its uid's share, or when all slots are
//   taken, evicts the least recently active idle connection (not subscribed, nothing in flight)
//   instead of being refused. A connection that is not subscribed and sends no request for
//   `idleTimeoutMs` (30 s) is closed. The app's connection is subscribed, so it stays.
// - The socket file lives in a directory only root can write and is born with its mode (see
//   server-socket-file.ts).
// - Batches (JSON arrays) are not supported: one InvalidRequest error (id null) each.
// - Requests on one connection run concurrently (at most `maxInFlightPerClient`; beyond that the
//   server stops reading from that connection until some finish). Responses may come out of
//   order.
// - Results (and pushed events) are validated against the schema before they are sent, always
//   (it is cheap); an invalid one becomes an Internal error for the caller and a "BUG" log line.
// - A connection whose unsent output passes `maxPendingWriteBytes` (1 MiB) is dropped and logged
//   (a single larger reply to a client that reads is fine).
// - Params are never logged (importConfig's carry a private key).
// - Lines about refused, evicted and idle connections are rate-limited: a flood of connections
//   must not become a flood of log.
import { lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { peerCredentials } from '../platform/peercred.js';
import { encodeError, encodeNotification, encodeResult, LineSplitter, parseClientLine, type ErrorObject } from './framing.js';
import { checkCaller, readGroupGid, type PermissionFiles } from './permissions.js';
import { admit, defaultMaxPerUid, type Slot } from './server-admission.js';
import { listenOnSocketFile, prepareSocketFile } from './server-socket-file.js';
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
  /** Told how many connections subscribe whenever that number changes (timers only for them). */
  onSubscribers?: (count: number) => void;
  /** Members of this group (and root) may connect. Default "umbra". */
  group?: string;
  /** Default: console.error. */
  log?: (line: string) => void;
  /** Connections served at once (see server-admission.ts for who gets one). Default 256. */
  maxClients?: number;
  /** Connections one uid other than root may hold. Default maxClients / 4. */
  maxClientsPerUid?: number;
  /** A connection that is not subscribed and sends no request for this long is closed. Default 30 s. */
  idleTimeoutMs?: number;
  /** Mode of the socket file, given at creation. Default 0o660 (root and the group). */
  socketMode?: number;
  /** Mode given to the socket's directory when it is the helper's own. Default 0o750. */
  directoryMode?: number;
  /** The directory systemd made for the helper. Default $RUNTIME_DIRECTORY. */
  runtimeDirectory?: string;
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
}

export interface IpcServer {
  /** Stops listening, drops every connection, removes the socket file. */
  close(): Promise<void>;
  /** The socket path. */
  readonly address: string;
  /** Connections open now. */
  readonly clientCount: number;
}

/** The subscribed connections; says when their number changes. */
class SubscriberSet<T> extends Set<T> {
  constructor(private readonly onCount: (n: number) => void) {
    super();
  }

  override add(v: T): this {
    const before = this.size;
    super.add(v);
    if (this.size !== before) this.onCount(this.size);
    return this;
  }

  override delete(v: T): boolean {
    const gone = super.delete(v);
    if (gone) this.onCount(this.size);
    return gone;
  }
}

const INTERNAL_MESSAGE = 'internal error in the helper: see its log (journalctl -u umbrad) and report it';

/** Starts serving; rejects (with a message saying what to do) when the socket cannot be had. */
export async function startIpcServer(opts: IpcServerOptions): Promise<IpcServer> {
  const missing = METHOD_NAMES.filter((m) => typeof (opts.handlers as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new Error(`startIpcServer: no handler for ${missing.join(', ')}`);
  const maxClients = opts.maxClients ?? 256;
  const log = opts.log ?? ((line) => console.error(line));
  const cfg: Config = {
    handlers: opts.handlers,
    group: opts.group ?? CONTROL_GROUP,
    log,
    limited: rateLimitedLog(log),
    maxClients,
    maxPerUid: opts.maxClientsPerUid ?? defaultMaxPerUid(maxClients),
    idleMs: opts.idleTimeoutMs ?? 30_000,
    validate: opts.validateResults ?? true,
    maxPending: opts.maxPendingWriteBytes ?? 1024 * 1024,
    maxLineBytes: opts.maxLineBytes ?? MAX_LINE_BYTES,
    maxInFlight: opts.maxInFlightPerClient ?? 16,
    files: opts.permissionFiles ?? {},
  };
  const path = opts.socketPath;
  const gid = readGroupGid(cfg.group, cfg.files.groupFile);
  if (gid === undefined) cfg.log(`ipc: there is no "${cfg.group}" group: only root may use ${path}`);
  const socketMode = opts.socketMode ?? 0o660;
  await prepareSocketFile({
    path,
    socketMode,
    directoryMode: opts.directoryMode ?? 0o750,
    gid,
    runtimeDirectory: 'runtimeDirectory' in opts ? opts.runtimeDirectory : process.env.RUNTIME_DIRECTORY,
    log: cfg.log,
  });

  const connections = new Map<number, Connection>();
  const subscribers = new SubscriberSet<Connection>((n) => opts.onSubscribers?.(n));
  let nextId = 1;
  const server = net.createServer({ pauseOnConnect: false }, (socket) => {
    let caller: Caller;
    try {
      caller = peerCredentials(socket);
    } catch (e) {
      cfg.log(`ipc: cannot tell who connected (${(e as Error).message}): closing`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const decision = checkCaller(caller, cfg.group, cfg.files);
    if (!decision.allowed) {
      cfg.limited('refused', `ipc: refused pid ${caller.pid} (uid ${caller.uid}): ${decision.why}`);
      refuseAndClose(socket, { code: ErrorCode.PermissionDenied, message: decision.message, data: { reason: 'permission-denied', group: cfg.group } });
      return;
    }
    const slots: Slot[] = [...connections.values()].map((c) => c.slot);
    const admission = admit(slots, caller.uid, { maxClients: cfg.maxClients, maxPerUid: cfg.maxPerUid });
    if (!admission.admit) {
      const error = admission.reason === 'full'
        ? { code: ErrorCode.Busy, message: `the helper is serving too many clients (${cfg.maxClients}) right now: close some Umbra windows or umbra commands and retry`, data: { reason: 'too-many-clients' } }
        : { code: ErrorCode.Busy, message: `uid ${caller.uid} already holds ${cfg.maxPerUid} connections to the helper, all of them busy or subscribed (the most one user may hold): close some Umbra windows or umbra commands and retry`, data: { reason: 'too-many-for-uid' } };
      cfg.limited('busy', `ipc: refusing pid ${caller.pid} (uid ${caller.uid}): ${admission.reason === 'full' ? `${connections.size} clients already (the limit), none idle` : `its uid holds ${cfg.maxPerUid} connections (its share), none idle`}`);
      refuseAndClose(socket, error);
      return;
    }
    if (admission.evict !== undefined) connections.get(admission.evict)?.evict(caller);
    const conn = new Connection(nextId++, socket, cfg, subscribers, caller, () => {
      connections.delete(conn.id);
      subscribers.delete(conn);
    });
    connections.set(conn.id, conn);
    conn.start();
  });
  server.on('error', (e) => cfg.log(`ipc: server error: ${e.message}`));

  const ours = await listenOnSocketFile(server, { path, socketMode, gid, log: cfg.log }).catch(async (e: unknown) => {
    if (server.listening) await new Promise((resolve) => server.close(resolve));
    throw e;
  });

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
        for (const conn of [...connections.values()]) conn.destroy();
        await closed;
        try {
          const now = lstatSync(path);
          if (now.isSocket() && now.ino === ours.ino && now.dev === ours.dev) unlinkSync(path);
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
  /** For lines a flood of connections would repeat. */
  limited: (kind: string, line: string) => void;
  maxClients: number;
  maxPerUid: number;
  idleMs: number;
  validate: boolean;
  maxPending: number;
  maxLineBytes: number;
  maxInFlight: number;
  files: PermissionFiles;
}

type AnyHandler = (params: unknown, caller: Caller) => Promise<unknown>;

/** One client. */
class Connection {
  private closed = false;
  private readonly splitter: LineSplitter;
  private readonly queue: string[] = [];
  private inFlight = 0;
  private paused = false;
  private subscription: 'none' | 'buffering' | 'live' = 'none';
  private buffered: string[] = [];
  private bufferedBytes = 0;
  /** Closes the connection when it has been idle for cfg.idleMs. */
  private idleTimer: NodeJS.Timeout | undefined;
  private lastActive = performance.now();
  private released = false;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly cfg: Config,
    private readonly subscribers: Set<Connection>,
    private readonly caller: Caller,
    /** Frees the slot; called once, as soon as the connection is being closed. */
    private readonly release: () => void,
  ) {
    this.splitter = new LineSplitter(cfg.maxLineBytes);
  }

  private get who(): string {
    return `pid ${this.caller.pid} (uid ${this.caller.uid})`;
  }

  /** Not subscribed and nothing to do: may be closed after a while, or to make room. */
  private get idle(): boolean {
    return !this.closed && this.subscription === 'none' && this.inFlight === 0 && this.queue.length === 0;
  }

  /** What admission sees of this connection. */
  get slot(): Slot {
    return { id: this.id, uid: this.caller.uid, idle: this.idle, lastActive: this.lastActive };
  }

  start(): void {
    const { socket } = this;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') this.cfg.log(`ipc: ${this.who}: ${e.message}`);
    });
    socket.on('close', () => this.onClose());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.touch();
  }

  /** Closed to make room for `newcomer`. */
  evict(newcomer: Caller): void {
    this.cfg.limited('evicted', `ipc: closing idle ${this.who} to make room for pid ${newcomer.pid} (uid ${newcomer.uid})`);
    this.fail(null, { code: ErrorCode.Busy, message: 'the helper closed this idle connection to make room for another client: connect again when you have a request', data: { reason: 'evicted' } });
  }

  /** Marks activity now and (re)arms or clears the idle timer. */
  private touch(): void {
    this.lastActive = performance.now();
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    if (!this.idle) {
      this.clearTimer();
      return;
    }
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => this.onIdleTimer(), this.cfg.idleMs);
    this.idleTimer.unref();
  }

  private onIdleTimer(): void {
    this.idleTimer = undefined;
    if (!this.idle) return;
    const left = this.lastActive + this.cfg.idleMs - performance.now();
    if (left > 1) {
      this.idleTimer = setTimeout(() => this.onIdleTimer(), left);
      this.idleTimer.unref();
      return;
    }
    this.cfg.limited('idle', `ipc: closing ${this.who}: no request for ${this.cfg.idleMs} ms and not subscribed`);
    this.fail(null, { code: ErrorCode.Busy, message: `the helper closed this connection after ${Math.round(this.cfg.idleMs / 1000)} s without a request (only subscribed connections stay open while quiet): connect again when you have a request`, data: { reason: 'idle', idleMs: this.cfg.idleMs } });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const { lines, overflow } = this.splitter.push(chunk);
    if (overflow) {
      this.cfg.log(`ipc: ${this.who} sent a line longer than ${this.cfg.maxLineBytes} bytes: closing its connection`);
      this.queue.length = 0;
      this.fail(null, { code: ErrorCode.InvalidRequest, message: `request line longer than ${this.cfg.maxLineBytes} bytes: the connection is closed`, data: { reason: 'line-too-long', maxBytes: this.cfg.maxLineBytes } });
      return;
    }
    let requests = 0;
    for (const line of lines) {
      if (line.trim() === '') continue; // blank lines are not activity: they would keep a connection forever
      this.queue.push(line);
      requests++;
    }
    this.pump();
    if (requests > 0) this.touch();
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
      this.touch();
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
    this.clearTimer();
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
    this.markClosed();
    closeAfterFlush(this.socket);
  }

  destroy(): void {
    this.markClosed();
    this.socket.destroy();
  }

  private onClose(): void {
    this.markClosed();
  }

  /** From here on the connection takes no more work and no longer holds a slot. */
  private markClosed(): void {
    this.closed = true;
    this.clearTimer();
    this.unsubscribe();
    if (!this.released) {
      this.released = true;
      this.release();
    }
  }

  private unsubscribe(): void {
    this.subscription = 'none';
    this.buffered = [];
    this.subscribers.delete(this);
  }

  private clearTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

function errorObject(e: RpcError): ErrorObject {
  return e.data === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, data: e.data };
}

/**
 * Ends our side once what was written is flushed, and lets go of the socket when the peer hangs up
 * too (or after `lingerMs`). Until then what it sends is read and thrown away: a client that
 * wrote a request just as it was refused then reads our error instead of failing with EPIPE.
 */
function closeAfterFlush(socket: net.Socket, lingerMs = 1000): void {
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  const done = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.once('end', done);
  socket.once('close', done);
  socket.end();
}

/** Tells a refused client why, at once, and closes it; it never held a slot. */
function refuseAndClose(socket: net.Socket, error: ErrorObject): void {
  socket.on('error', () => {});
  socket.on('data', () => {});
  socket.write(encodeError(null, error));
  closeAfterFlush(socket);
}

/**
 * Logs the first line of each kind at once, then at most one per `windowMs`, saying how many of
 * that kind were left out meanwhile.
 */
function rateLimitedLog(log: (line: string) => void, windowMs = 10_000): (kind: string, line: string) => void {
  const last = new Map<string, { at: number; skipped: number }>();
  return (kind, line) => {
    const now = performance.now();
    const seen = last.get(kind);
    if (seen && now - seen.at < windowMs) {
      seen.skipped++;
      return;
    }
    log(seen && seen.skipped > 0 ? `${line} (and ${seen.skipped} more like it in the last ${Math.round((now - seen.at) / 1000)} s)` : line);
    last.set(kind, { at: now, skipped: 0 });
  };
}
