// Words and numbers as the UI shows them. Pure.
import type { ServerInfo, TunnelState } from '../api.js';
import { bytesText } from '../../helper/ipc/tunnel-words.js';

/** 512 B, 3.4 kB, 120 MB: SI units, like the `umbra` CLI. */
export const formatBytes = (n: number): string => bytesText(n, '—');

/** 0:42, 12:03, 1:02:03, 2 d 03:04:05 — for a ticking clock. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600) % 24;
  const d = Math.floor(total / 86400);
  const pad = (x: number) => String(x).padStart(2, '0');
  if (d > 0) return `${d} d ${pad(h)}:${pad(m)}:${pad(s)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${m}:${pad(s)}`;
}

export const STATE_WORDS: Record<TunnelState, string> = {
  disconnected: 'Disconnected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnecting: 'Disconnecting…',
  error: 'Error',
};

export { HOLD_TEXT, noReplyText, pathMtuText, WANTS_TUNNEL } from '../../helper/ipc/tunnel-words.js';

/** What a reconnecting tunnel means (after "Reconnecting:"). */
export const RECONNECTING_TEXT = 'the server stopped answering. The tunnel stays up while Umbra waits for an answer.';


/** "Stockholm, Sweden"; the server's name stands in for a missing city. */
export function placeLabel(s: Pick<ServerInfo, 'name' | 'city' | 'country'>): string {
  return [s.city ?? s.name, s.country].filter((x): x is string => !!x && x.trim() !== '').join(', ');
}

/** A message with its first letter in capitals (the helper writes them to follow a colon). */
export function sentence(message: string): string {
  const m = message.trim();
  return m.length === 0 ? m : m[0]!.toUpperCase() + m.slice(1);
}

/** Lowercase, without accents: "São Paulo" matches "sao". */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
