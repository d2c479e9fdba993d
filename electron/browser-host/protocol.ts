// What crosses between the browser-mode host and its page script (bridge-client.ts). The page
// script may import only types from here (it is served as one file, so it repeats the constants,
// typed against these so that a mismatch does not compile).
import type { HelperEvent, Result } from '../../helper/ipc/schema.js';
import type { HostInfo } from '../../helper/ipc/tunnel-words.js';

/** Every /api request carries the session's token in this header (else 403). */
export const TOKEN_HEADER = 'x-umbra-token';
/** POST, JSON {method, params} → CallResponse. */
export const CALL_PATH = '/api/call';
/** POST, JSON {method, params} → CallResponse: an app method the host answers (split tunnelling's apps). */
export const APP_PATH = '/api/app';
/** GET → text/event-stream of StreamMessage (read with fetch, which can send the token header). */
export const EVENTS_PATH = '/api/events';
/** The page script, served next to index.html. */
export const BRIDGE_PATH = '/umbra-bridge.js';
/** Where the page keeps the token once it has taken it out of the address bar. */
export const TOKEN_STORAGE_KEY = 'umbra.browserHostToken';

interface WireError {
  code: number | string;
  message: string;
}

export interface CallRequest {
  method: string;
  params?: unknown;
}

/** Always HTTP 200 once the request is accepted: the helper's answer, or its error as a value. */
export type CallResponse = { result: unknown } | { error: WireError };

/**
 * The event stream. Each stream starts with `reachable`; whenever the helper is (again)
 * reachable, a `snapshot` follows (or `snapshot-error`), then the helper's events in its order.
 * SSE `event:` is the type, `data:` the JSON below.
 */
export type StreamMessage =
  /**
   * `code` and `message` (while unreachable): the IpcError's kind ('not-running', …) and words;
   * `host`: how this copy was installed and whether the helper's last status held a block.
   */
  | { type: 'reachable'; reachable: boolean; code?: number | string; message?: string; host?: HostInfo }
  | { type: 'snapshot'; snapshot: Result<'subscribe'> }
  | { type: 'snapshot-error'; error: WireError }
  | { type: 'event'; event: HelperEvent };
