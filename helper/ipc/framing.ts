// The wire format of the helper's socket: newline-delimited JSON-RPC 2.0 (one message per line,
// UTF-8, "\n" or "\r\n" ends a line). Pure: a line splitter with a byte limit, and parsing and
// building of requests, responses and notifications. No sockets here; server.ts and client.ts
// wire these to node:net.
import { ErrorCode } from './schema.js';

export type JsonRpcId = string | number | null;

/** The `error` member of a JSON-RPC response. */
export interface ErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

// ------------------------------------------------------------------ lines

export interface SplitResult {
  /** Complete lines, without their line ending, in order. */
  lines: string[];
  /**
   * A line grew past the limit. Sticky: once set, every later push returns no lines and
   * overflow, and nothing more is buffered (the caller closes the connection).
   */
  overflow: boolean;
}

/**
 * Splits a byte stream into lines, never holding more than `maxLineBytes` of an unfinished line:
 * a line longer than that is reported as soon as its bytes pass the limit, not when (if ever)
 * its newline arrives. Lines are decoded as UTF-8 only once complete, so a character split
 * across chunks is decoded whole; a trailing "\r" is dropped.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overflowed = false;

  constructor(readonly maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
  }

  /** Bytes of the unfinished line held now. */
  get buffered(): number {
    return this.size;
  }

  push(chunk: Uint8Array): SplitResult {
    const lines: string[] = [];
    if (this.overflowed) return { lines, overflow: true };
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, start);
      if (nl === -1) break;
      const piece = bytes.subarray(start, nl);
      if (this.size + piece.length > this.maxLineBytes) return this.overflow(lines);
      const whole = this.size === 0 ? piece : Buffer.concat([...this.parts, piece], this.size + piece.length);
      this.parts = [];
      this.size = 0;
      const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
      lines.push(whole.toString('utf8', 0, end));
      start = nl + 1;
    }
    if (start < bytes.length) {
      const rest = bytes.subarray(start);
      if (this.size + rest.length > this.maxLineBytes) return this.overflow(lines);
      // A copy, so a small tail does not keep a large chunk alive.
      this.parts.push(Buffer.from(rest));
      this.size += rest.length;
    }
    return { lines, overflow: false };
  }

  private overflow(lines: string[]): SplitResult {
    this.overflowed = true;
    this.parts = [];
    this.size = 0;
    return { lines, overflow: true };
  }
}

// ------------------------------------------------------------------ what the helper reads

/** One line from a client, classified. `invalid` carries the error response to send. */
export type ClientMessage =
  | { kind: 'request'; id: string | number | null; method: string; params: unknown }
  | { kind: 'notification'; method: string; params: unknown }
  | { kind: 'invalid'; id: JsonRpcId; error: ErrorObject };

const REQUEST_SHAPE = 'a request is one JSON object per line: {"jsonrpc":"2.0","id":1,"method":"status","params":{}}';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string | number | null => typeof v === 'string' || v === null || (typeof v === 'number' && Number.isFinite(v));

/**
 * Parses one line a client sent. Batches (JSON arrays) are not supported: they get one
 * InvalidRequest error, as an empty batch does in the spec. Members other than jsonrpc, id,
 * method and params are ignored. `params` is `undefined` when absent (the methods then see {}).
 */
export function parseClientLine(line: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { kind: 'invalid', id: null, error: { code: ErrorCode.ParseError, message: `parse error: the line is not valid JSON (${(e as Error).message}); ${REQUEST_SHAPE}`, data: { reason: 'parse-error' } } };
  }
  if (Array.isArray(value)) {
    return { kind: 'invalid', id: null, error: { code: ErrorCode.InvalidRequest, message: 'batch requests are not supported: send one request per line', data: { reason: 'batch-not-supported' } } };
  }
  if (!isObject(value)) {
    return invalidRequest(null, `not a JSON-RPC request: ${REQUEST_SHAPE}`);
  }
  const hasId = Object.hasOwn(value, 'id');
  if (hasId && !isId(value.id)) return invalidRequest(null, '"id" must be a string, a number or null');
  const id = hasId ? (value.id as string | number | null) : null;
  if (value.jsonrpc !== '2.0') return invalidRequest(id, `"jsonrpc" must be "2.0"; ${REQUEST_SHAPE}`);
  if (typeof value.method !== 'string' || value.method.length === 0) return invalidRequest(id, `"method" must be a non-empty string; ${REQUEST_SHAPE}`);
  const params = value.params;
  if (params !== undefined && (params === null || typeof params !== 'object')) return invalidRequest(id, '"params" must be an object');
  return hasId ? { kind: 'request', id, method: value.method, params } : { kind: 'notification', method: value.method, params };
}

function invalidRequest(id: JsonRpcId, message: string): ClientMessage {
  return { kind: 'invalid', id, error: { code: ErrorCode.InvalidRequest, message: `invalid request: ${message}`, data: { reason: 'invalid-request' } } };
}

// ------------------------------------------------------------------ what a client reads

/** One line from the helper, classified. */
export type HelperMessage =
  | { kind: 'result'; id: string | number; result: unknown }
  | { kind: 'error'; id: JsonRpcId; error: ErrorObject }
  | { kind: 'notification'; method: string; params: unknown }
  | { kind: 'invalid'; problem: string };

/** Parses one line the helper sent: a response to one of our requests, or a notification. */
export function parseHelperLine(line: string): HelperMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { kind: 'invalid', problem: `not valid JSON (${(e as Error).message})` };
  }
  if (!isObject(value)) return { kind: 'invalid', problem: 'not a JSON object' };
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', problem: '"jsonrpc" is not "2.0"' };
  if (typeof value.method === 'string') {
    if (Object.hasOwn(value, 'id')) return { kind: 'invalid', problem: 'a request from the helper (clients take none)' };
    return { kind: 'notification', method: value.method, params: value.params };
  }
  if (!Object.hasOwn(value, 'id') || !isId(value.id)) return { kind: 'invalid', problem: 'a response without a valid "id"' };
  const id = value.id;
  if (Object.hasOwn(value, 'error')) {
    const err = value.error;
    if (!isObject(err) || typeof err.code !== 'number' || !Number.isInteger(err.code) || typeof err.message !== 'string') {
      return { kind: 'invalid', problem: 'an error response whose "error" is not {code, message}' };
    }
    return { kind: 'error', id, error: { code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) } };
  }
  if (!Object.hasOwn(value, 'result')) return { kind: 'invalid', problem: 'a response with neither "result" nor "error"' };
  if (id === null) return { kind: 'invalid', problem: 'a result with a null "id"' };
  return { kind: 'result', id, result: value.result };
}

// ------------------------------------------------------------------ building lines

/** Each builder returns one line, "\n" included. They throw only for values JSON cannot hold. */
export function encodeRequest(id: string | number, method: string, params: unknown): string {
  return `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
}

export function encodeNotification(method: string, params: unknown): string {
  return `${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`;
}

export function encodeResult(id: string | number | null, result: unknown): string {
  if (result === undefined) throw new TypeError('a JSON-RPC result cannot be undefined');
  return `${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`;
}

export function encodeError(id: JsonRpcId, error: ErrorObject): string {
  const body: ErrorObject = { code: error.code, message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return `${JSON.stringify({ jsonrpc: '2.0', id, error: body })}\n`;
}
