// The one link to the helper, for the Electron main process and the browser-mode host (plain
// Node: no electron import here). It holds one IpcClient at a time, reconnects with a backoff
// when the helper is not running or goes away, subscribes every new connection to the helper's
// events (so they keep flowing across restarts), and reports reachability in the IpcError's own
// words, which already say how to start the helper. Calls reject with an UmbraError-shaped
// plain value: {code, message}, code being the RpcError's number or the IpcError's kind.
import { EventEmitter } from 'node:events';
import { IpcClient, IpcError, type CallArgs } from '../../helper/ipc/client.js';
import { RpcError, type HelperEvent, type MethodName, type Params, type Result } from '../../helper/ipc/schema.js';

export type Snapshot = Result<'subscribe'>;

/** An error as it crosses to the UI: a code and a message a person can act on. */
export interface LinkError {
  code: number | string;
  message: string;
}

export interface HelperLinkOptions {
  socketPath: string;
  /** Delays between failed connection attempts, the last one repeating. Default 250, 500, 1000, 2000, 5000 ms. */
  backoffMs?: number[];
  /** How to connect (tests). Default: IpcClient.connect with a 5 s timeout. */
  connect?: (path: string) => Promise<IpcClient>;
}

export type HelperLinkEvents = {
  /** Each helper event, in the helper's order, from every connection's subscription. */
  event: [HelperEvent];
  /** Whether the helper can be reached; on every change (and when the reason why not changes). */
  reachable: [boolean, string | undefined];
};

const DEFAULT_BACKOFF_MS = [250, 500, 1000, 2000, 5000];

/** Any rejection as a plain {code, message}. */
export function toLinkError(e: unknown): LinkError {
  if (e instanceof RpcError) return { code: e.code, message: e.message };
  if (e instanceof IpcError) return { code: e.kind, message: e.message };
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    if ((typeof code === 'number' || typeof code === 'string') && typeof message === 'string') return { code, message };
  }
  if (e instanceof Error) return { code: 'error', message: e.message };
  return { code: 'error', message: String(e) };
}

export class HelperLink extends EventEmitter<HelperLinkEvents> {
  readonly socketPath: string;
  private readonly backoffMs: number[];
  private readonly connectFn: (path: string) => Promise<IpcClient>;
  private client: IpcClient | undefined;
  /** The connection attempt under way, if any. */
  private attempt: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private started = false;
  private stopped = false;
  private isReachable = false;
  /** Why the helper cannot be reached (undefined while reachable or before the first attempt). */
  private why: string | undefined;
  private whyCode: number | string | undefined;
  /** Whether `reachable` was ever reported (the first outcome is always reported). */
  private reported = false;

  constructor(opts: HelperLinkOptions) {
    super();
    this.socketPath = opts.socketPath;
    this.backoffMs = opts.backoffMs && opts.backoffMs.length > 0 ? [...opts.backoffMs] : DEFAULT_BACKOFF_MS;
    this.connectFn = opts.connect ?? ((path) => IpcClient.connect(path, { timeoutMs: 5000 }));
  }

  get reachable(): boolean {
    return this.isReachable;
  }

  /** Why the helper cannot be reached, in words; undefined while it can (or before the first try). */
  get message(): string | undefined {
    return this.why;
  }

  /** The same with its code ('not-running', 'permission-denied', …); undefined while reachable. */
  get error(): LinkError | undefined {
    return this.why === undefined ? undefined : { code: this.whyCode ?? 'not-running', message: this.why };
  }

  /** Starts connecting (and reconnecting whenever the connection is lost). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.connectNow();
  }

  /** Stops reconnecting and closes the connection (for good). Calls in flight reject with {code: 'closed'}. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.attempt?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    await c?.close();
  }

  /** Calls a helper method; rejects with a plain {code, message}. */
  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    const client = await this.current();
    try {
      return await client.call(method, ...([params] as CallArgs<M>));
    } catch (e) {
      throw toLinkError(e);
    }
  }

  /** Subscribes on the current connection (if not already) and returns the helper's picture now. */
  async snapshot(): Promise<Snapshot> {
    const client = await this.current();
    try {
      return await client.subscribe(this.onEvent);
    } catch (e) {
      throw toLinkError(e);
    }
  }

  // ---------------------------------------------------------------- internals

  /** One listener for every connection (IpcClient keeps a Set, so subscribing again adds nothing). */
  private readonly onEvent = (event: HelperEvent): void => {
    this.emit('event', event);
  };

  /** The open connection, waiting for an attempt under way; else rejects with why there is none. */
  private async current(): Promise<IpcClient> {
    if (!this.client && this.attempt) await this.attempt.catch(() => undefined);
    const c = this.client;
    if (c && !c.closed) return c;
    if (this.stopped) throw { code: 'closed', message: 'the connection to the Umbra helper is closed' } satisfies LinkError;
    if (!this.started) throw { code: 'closed', message: 'the link to the Umbra helper is not started' } satisfies LinkError;
    throw this.error ?? ({ code: 'not-running', message: 'the Umbra helper cannot be reached' } satisfies LinkError);
  }

  private connectNow(): void {
    this.timer = undefined;
    if (this.stopped || this.attempt) return;
    this.attempt = this.tryConnect().finally(() => {
      this.attempt = undefined;
    });
  }

  private async tryConnect(): Promise<void> {
    let client: IpcClient | undefined;
    try {
      client = await this.connectFn(this.socketPath);
      if (this.stopped) {
        await client.close();
        return;
      }
      // Subscribe at once, so events flow on every connection (after a restart too).
      await client.subscribe(this.onEvent);
    } catch (e) {
      await client?.close().catch(() => undefined);
      if (this.stopped) return;
      this.setReachable(false, toLinkError(e));
      this.retryLater();
      return;
    }
    if (this.stopped) {
      await client.close();
      return;
    }
    this.failures = 0;
    this.client = client;
    const c = client;
    c.once('close', (reason) => this.onClose(c, reason));
    if (c.closed) {
      this.onClose(c, undefined);
      return;
    }
    this.setReachable(true, undefined);
  }

  private onClose(c: IpcClient, reason: Error | undefined): void {
    if (this.client !== c) return;
    this.client = undefined;
    if (this.stopped) return;
    this.setReachable(false, reason ? toLinkError(reason) : { code: 'closed', message: 'the connection to the Umbra helper was closed' });
    // Straight away once: a helper that restarts is often back at once, and a failed attempt
    // replaces "closed the connection" with the plainer "not running (no socket at …)".
    this.connectNow();
  }

  private retryLater(): void {
    if (this.stopped || this.timer) return;
    const delay = this.backoffMs[Math.min(this.failures, this.backoffMs.length - 1)]!;
    this.failures++;
    this.timer = setTimeout(() => this.connectNow(), delay);
  }

  private setReachable(reachable: true, why: undefined): void;
  private setReachable(reachable: false, why: LinkError): void;
  private setReachable(reachable: boolean, why: LinkError | undefined): void {
    const message = reachable ? undefined : why?.message;
    if (this.reported && reachable === this.isReachable && message === this.why) return;
    this.reported = true;
    this.isReachable = reachable;
    this.why = message;
    this.whyCode = reachable ? undefined : why?.code;
    this.emit('reachable', reachable, message);
  }
}
