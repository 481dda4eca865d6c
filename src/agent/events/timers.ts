import type { Clock, TimerHandle } from "../../clock.ts";

/**
 * Longest single timer. Runtimes keep timer delays in a signed 32-bit number of milliseconds
 * (about 24.8 days), so a later time is reached by re-arming in steps of at most one day.
 */
const MAX_TIMER_STEP_MS = 24 * 3600 * 1000;

/** A timer that fires at a point in time on the given clock, however far away. */
export class AtTimer {
  private handle: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  /** Replaces any pending time with `atMs` (Unix milliseconds); a time in the past fires at once. */
  set(atMs: number, callback: () => void): void {
    this.clear();
    const arm = () => {
      const remaining = atMs - this.clock.now();
      if (remaining > MAX_TIMER_STEP_MS) {
        this.handle = this.clock.setTimeout(arm, MAX_TIMER_STEP_MS);
        return;
      }
      this.handle = this.clock.setTimeout(() => {
        this.handle = undefined;
        callback();
      }, Math.max(0, remaining));
    };
    arm();
  }

  clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
