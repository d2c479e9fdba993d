// A bare line-based socket client for tests of the IPC server: it sends whatever it is told
// (garbage included) and hands back each line the server sends, parsed.
import net from 'node:net';
import { LineSplitter } from '../framing.js';

export class RawClient {
  private readonly lines: unknown[] = [];
  private readonly waiters: ((line: unknown) => void)[] = [];
  private readonly splitter = new LineSplitter(64 * 1024 * 1024);
  /** Resolves when the server has closed the connection (or it broke). */
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk).lines) {
        const value: unknown = JSON.parse(line);
        const waiter = this.waiters.shift();
        if (waiter) waiter(value);
        else this.lines.push(value);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      resolve();
    }));
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  write(text: string | Uint8Array): void {
    this.socket.write(text);
  }

  request(id: string | number | null, method: string, params?: unknown): void {
    this.write(`${JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })}\n`);
  }

  /** The next line from the server; rejects after `timeoutMs`. */
  next(timeoutMs = 3000): Promise<unknown> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no line from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (line: unknown) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a request and waits for the next line (for sequential use). */
  async call(id: string | number, method: string, params?: unknown): Promise<unknown> {
    this.request(id, method, params);
    return this.next();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
