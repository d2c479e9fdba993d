// The tray's and the notifications' words about the tunnel; the ones the CLI and the window share
// live in helper/ipc/tunnel-words.ts.
export { HELPER_DOWN_TEXT, helperDownVerdict, HOLD_LINE, HOLD_TEXT, noReplyText, WANTS_TUNNEL } from '../../helper/ipc/tunnel-words.js';

/** What a reconnecting tunnel means, in words. */
export const RECONNECTING_TEXT = 'the server stopped answering…';
