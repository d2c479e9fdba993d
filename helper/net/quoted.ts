// Text from outside quoted in a message, cut short: a 64 KiB line must not come back whole.

const MAX_QUOTED_CHARS = 60;

export function quoted(text: string): string {
  return `"${text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text}"`;
}
