// A client of the helper's socket, for the `umbra` CLI and the Electron main process. Everything
// crosses the schema twice: params are checked before they are sent, results and events when
// they arrive. Errors are values: RpcError for what the helper answered (code, message, data),
// IpcError for what happened to the connection (with a `kind` and a message saying what to do).
//
// Ordering: every message from the helper is handled in its own macrotask, in arrival order, so
// the code after `await client.call(...)` (or `await client.subscribe(...)`) runs before any
// event that the helper sent after that reply, and after every event it sent before it.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { encodeRequest, LineSplitter, parseHelperLine } from './framing.js';
import {
  CONTROL_GROUP, EVENT_METHOD, MAX_REPLY_LINE_BYTES, RpcError,
  type HelperEvent, type MethodName, type Params, type Result,
} from './schema.js';
import { validateEvent, validateParams, validateResult } from './validation.js';

export type IpcErrorKind =
  /** No socket, or nothing listens on it. */
  | 'not-running'
  /** The socket refused us (EACCES): not root and not in the group. */
  | 'permission-denied'
  /** Another failure to connect. */
  | 'unreachable'
  /** Connecting or a call took too long. */
  | 'timeout'
  /** The connection is closed (by us or the helper). */
  | 'closed'
  /** The helper sent something this client cannot understand. */
  | 'protocol';

/** A problem with the connection itself, as opposed to an error the helper answered. */
export class IpcError extends Error {
  /**
   * How to start the helper, for a terminal (the CLI prints it after the message). Apart from the
   * message because windows give their own, fitted to how the copy was installed.
   */
  readonly hint: string | undefined;
  constructor(readonly kind: IpcErrorKind, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.name = 'IpcError';
    this.hint = options?.hint;
  }
}

/** What starts the helper: its unit for an installed copy (.deb, the AppImage's installer); a checkout has its own way. */
const START_HINT = 'start it with sudo systemctl start umbrad (in a source checkout: sudo npx umbrad serve)';

/** The IpcError for a failed connect(), in words a person can act on. */
export function describeConnectError(err: NodeJS.ErrnoException, socketPath: string): IpcError {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new IpcError('not-running', `the Umbra helper is not running (no socket at ${socketPath})`, { cause: err, hint: START_HINT });
    case 'ECONNREFUSED':
      return new IpcError('not-running', `the Umbra helper is not running (nothing listens on ${socketPath})`, { cause: err, hint: START_HINT });
    case 'EACCES':
    case 'EPERM':
      return new IpcError(
        'permission-denied',
        `permission denied on ${socketPath}: only root and members of the ${CONTROL_GROUP} group may control Umbra. Add yourself: sudo usermod -aG ${CONTROL_GROUP} $USER, then log out and in`,
        { cause: err },
      );
    default:
      return new IpcError('unreachable', `cannot reach the Umbra helper at ${socketPath}: ${err.message}`, { cause: err });
  }
}

export interface ConnectOptions {
  /** How long connecting may take. Default 5000 ms. */
  timeoutMs?: number;
  /** How long each call may take; 0: no limit. Default 30000 ms. */
  callTimeoutMs?: number;
  /** Longest line read from the helper. Default MAX_REPLY_LINE_BYTES. */
  maxLineBytes?: number;
}

/** `params` may be left out for methods whose params are all optional. */
export type CallArgs<M extends MethodName> = Record<never, never> extends Params<M> ? [params?: Params<M>] : [params: Params<M>];

interface Pending {
  method: MethodName;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

interface ClientEvents {
  /** Once, when the connection is gone; with the reason unless we closed it. */
  close: [reason: Error | undefined];
  /** Something went wrong that no call is waiting for (only emitted when someone listens). */
  error: [error: Error];
}

export class IpcClient extends EventEmitter<ClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: HelperEvent) => void>();
  private readonly splitter: LineSplitter;
  private readonly callTimeoutMs: number;
  private closedBy: Error | undefined;
  private isClosed = false;
  private shuttingDown = false;

  /**
   * Connects; rejects with an IpcError that says what to do (not running, permission, timeout).
   * A full listen queue (EAGAIN: many connections arriving at once, or someone flooding the
   * socket) is tried again until the timeout, with a short growing pause.
   */
  static connect(socketPath: string, opts: ConnectOptions = {}): Promise<IpcClient> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      let socket: net.Socket | undefined;
      let retry: NodeJS.Timeout | undefined;
      let pause = 10;
      const timer = setTimeout(() => {
        clearTimeout(retry);
        socket?.destroy();
        reject(new IpcError('timeout', `the Umbra helper did not accept a connection on ${socketPath} within ${timeoutMs} ms: check it with sudo systemctl status umbrad`));
      }, timeoutMs);
      const attempt = () => {
        const s = net.connect(socketPath);
        socket = s;
        s.once('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'EAGAIN') {
            retry = setTimeout(attempt, pause);
            pause = Math.min(pause * 2, 200);
            return;
          }
          clearTimeout(timer);
          reject(describeConnectError(e, socketPath));
        });
        s.once('connect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          resolve(new IpcClient(s, socketPath, opts));
        });
      };
      attempt();
    });
  }

  private constructor(
    private readonly socket: net.Socket,
    readonly socketPath: string,
    opts: ConnectOptions,
  ) {
    super();
    this.splitter = new LineSplitter(opts.maxLineBytes ?? MAX_REPLY_LINE_BYTES);
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const reason = e.code === 'ECONNRESET' || e.code === 'EPIPE'
        ? new IpcError('closed', 'the Umbra helper closed the connection (did it stop or restart?)', { cause: e })
        : new IpcError('unreachable', `the connection to the Umbra helper failed: ${e.message}`, { cause: e });
      setImmediate(() => this.shutdown(reason));
    });
    socket.on('close', () => {
      setImmediate(() => this.shutdown(new IpcError('closed', 'the Umbra helper closed the connection (did it stop or restart?)')));
    });
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Calls a method. Resolves with its result, checked against the schema; rejects with the
   * RpcError the helper answered, an RpcError(InvalidParams) when `params` fail the schema (then
   * nothing is sent), or an IpcError when the connection fails or the call times out.
   */
  call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<Result<M>> {
    if (this.isClosed || this.shuttingDown) return Promise.reject(this.closedBy ?? new IpcError('closed', 'the connection to the Umbra helper is closed'));
    const checked = validateParams(method, args[0]);
    if (!checked.ok) return Promise.reject(checked.error);
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      const timer = this.callTimeoutMs > 0
        ? setTimeout(() => {
          this.pending.delete(id);
          reject(new IpcError('timeout', `the Umbra helper did not answer ${method} within ${this.callTimeoutMs < 1000 ? `${this.callTimeoutMs} ms` : `${Math.round(this.callTimeoutMs / 1000)} s`}: check it with sudo systemctl status umbrad`));
        }, this.callTimeoutMs)
        : undefined;
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(encodeRequest(id, method, checked.value));
    });
  }

  /**
   * Subscribes this connection to the helper's events: `onEvent` gets each one, in order, from
   * the moment of the returned snapshot on (the snapshot's continuation runs first).
   */
  async subscribe(onEvent: (event: HelperEvent) => void): Promise<Result<'subscribe'>> {
    this.eventListeners.add(onEvent);
    try {
      return await this.call('subscribe');
    } catch (e) {
      this.eventListeners.delete(onEvent);
      throw e;
    }
  }

  /** Closes the connection; pending calls reject with IpcError('closed'). Resolves once closed. */
  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.once('close', () => resolve()));
    this.closedBy ??= new IpcError('closed', 'the connection to the Umbra helper was closed');
    this.shuttingDown = true;
    this.socket.destroy();
    return done;
  }

  // ---------------------------------------------------------------- input

  private onData(chunk: Buffer): void {
    const { lines, overflow } = this.splitter.push(chunk);
    for (const line of lines) {
      if (line.trim() !== '') setImmediate(() => this.dispatch(line));
    }
    if (overflow) {
      const e = new IpcError('protocol', `the Umbra helper sent a line longer than ${this.splitter.maxLineBytes} bytes`);
      setImmediate(() => this.shutdown(e));
      this.socket.destroy();
    }
  }

  private dispatch(line: string): void {
    if (this.isClosed) return;
    const msg = parseHelperLine(line);
    switch (msg.kind) {
      case 'result': {
        const call = typeof msg.id === 'number' ? this.take(msg.id) : undefined;
        if (!call) return;
        const checked = validateResult(call.method, msg.result);
        if (checked.ok) call.resolve(checked.value);
        else call.reject(new IpcError('protocol', `the Umbra helper's reply to ${call.method} does not match this client's schema (${checked.problem}): are the helper and the client the same version?`));
        return;
      }
      case 'error': {
        const error = new RpcError(msg.error.code, msg.error.message, msg.error.data);
        if (msg.id === null) {
          // Not about one request: the helper refuses this connection (permission, too many
          // clients, a line too long). Every call fails with it; the helper closes next.
          this.closedBy ??= error;
          for (const id of [...this.pending.keys()]) this.take(id)!.reject(error);
          this.emitError(error);
          return;
        }
        const call = typeof msg.id === 'number' ? this.take(msg.id) : undefined;
        call?.reject(error);
        return;
      }
      case 'notification': {
        if (msg.method !== EVENT_METHOD) return;
        const checked = validateEvent(msg.params);
        if (!checked.ok) {
          this.emitError(new IpcError('protocol', `the Umbra helper pushed an event this client cannot read (${checked.problem}): are the helper and the client the same version?`));
          return;
        }
        for (const listener of this.eventListeners) {
          try {
            listener(checked.value);
          } catch (e) {
            this.emitError(e instanceof Error ? e : new Error(String(e)));
          }
        }
        return;
      }
      case 'invalid':
        this.emitError(new IpcError('protocol', `the Umbra helper sent something this client cannot read: ${msg.problem}`));
        return;
    }
  }

  private take(id: number): Pending | undefined {
    const call = this.pending.get(id);
    if (!call) return undefined;
    this.pending.delete(id);
    if (call.timer) clearTimeout(call.timer);
    return call;
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** Runs after every line that arrived before it (it is queued behind them). */
  private shutdown(reason: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.destroy();
    const weClosed = this.shuttingDown;
    const error = this.closedBy ?? reason;
    this.closedBy = error;
    for (const id of [...this.pending.keys()]) this.take(id)!.reject(error);
    this.eventListeners.clear();
    this.emit('close', weClosed ? undefined : error);
  }
}
