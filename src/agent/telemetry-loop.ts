import type { Clock, TimerHandle } from "../clock.ts";

/**
 * Calls `tick` every interval on the given clock. Ticks are scheduled from the start time, not from
 * the previous tick, so the period does not drift. After a stall (a suspended process), missed
 * ticks are skipped rather than fired in a burst.
 */
export class IntervalLoop {
  private timer: TimerHandle | undefined;
  private nextAt = 0;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private intervalMs: number,
    private readonly tick: () => void,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /**
   * Starts with a tick right away, then one every interval. With `firstAtMs` in the future, the
   * first tick waits until then instead.
   */
  start(firstAtMs?: number): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    if (firstAtMs === undefined || firstAtMs <= now) {
      this.nextAt = now;
      this.fire();
      return;
    }
    this.nextAt = firstAtMs;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Applies a new interval: the pending tick is dropped and the next one comes one new interval from now. */
  setIntervalMs(intervalMs: number): void {
    this.intervalMs = intervalMs;
    if (!this.running) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.nextAt = this.clock.now() + intervalMs;
    this.schedule();
  }

  private fire(): void {
    if (!this.running) return;
    try {
      this.tick();
    } catch (error) {
      this.onError(error);
    } finally {
      const now = this.clock.now();
      this.nextAt += this.intervalMs;
      if (this.nextAt <= now) this.nextAt = now + this.intervalMs - ((now - this.nextAt) % this.intervalMs);
      // The wall clock was set back (e.g. a clock that started in 1970 corrected, or NTP
      // stepping back): start the schedule again from now instead of waiting for the old one.
      if (this.nextAt - now > this.intervalMs) this.nextAt = now + this.intervalMs;
      this.schedule();
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, this.nextAt - this.clock.now()));
  }
}

/** Returns the first time at or after `nowMs` that is `offsetMs` past a whole multiple of `intervalMs`. */
export function nextTickOnGrid(nowMs: number, intervalMs: number, offsetMs: number): number {
  return Math.ceil((nowMs - offsetMs) / intervalMs) * intervalMs + offsetMs;
}
