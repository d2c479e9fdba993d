// Noticing that the machine slept: the boot clock (CLOCK_BOOTTIME) runs on through a suspend,
// the awake clock (CLOCK_MONOTONIC) stops, so the gap between them grows by the time asleep.
// After a resume the session the server held is likely gone (or behind a NAT that forgot us):
// the tunnel starts a handshake at once instead of waiting for its timers. Pure.

/** A gap that grows by more than this between two looks means the machine slept. */
export const SLEPT_AFTER_MS = 2_000;

export class SleepDetector {
  private gap: number | undefined;

  /** Both clocks now (ms); true when the machine slept since the last call. */
  observe(bootMs: number, awakeMs: number): boolean {
    const gap = bootMs - awakeMs;
    const slept = this.gap !== undefined && gap - this.gap > SLEPT_AFTER_MS;
    this.gap = gap;
    return slept;
  }
}
