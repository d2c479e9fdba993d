// TAI64N timestamps (§5.4.2): 8 bytes big-endian seconds since 1970 offset by 2^62 + 10 (TAI
// label), then 4 bytes big-endian nanoseconds. Responders accept only increasing timestamps,
// which stops a captured initiation from being replayed.

const TAI64_BASE = 2n ** 62n + 10n;

export function tai64n(wallClockMs: number): Uint8Array {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  const seconds = Math.floor(wallClockMs / 1000);
  view.setBigUint64(0, TAI64_BASE + BigInt(seconds));
  view.setUint32(8, Math.floor((wallClockMs - seconds * 1000) * 1e6));
  return out;
}

/** True when timestamp a is strictly later than b (both 12-byte TAI64N). */
export function isAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return false;
}
