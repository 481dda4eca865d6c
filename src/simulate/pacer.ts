import type { Clock, TimerHandle } from "../clock.ts";

/**
 * Runs queued tasks at no more than `ratePerSecond`. Tasks are spaced 1000 / rate ms apart like a
 * token bucket that holds one token, and a sliding window also keeps every 1000 ms window of the
 * clock at `ceil(rate)` tasks or fewer, even when timers fire late and overdue tasks catch up.
 * Tasks that fall due together (a rate above the clock's millisecond timers) run in one callback.
 */
export class ConnectPacer {
  private readonly queue: (() => void)[] = [];
  private readonly spacingMs: number;
  /** Clock times of the last `limit` tasks, as a ring indexed by task number. */
  private readonly recent: number[] = [];
  private readonly limit: number;
  /** Clock time at which the next task is due on the spaced schedule. */
  private nextAt = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private ran = 0;

  constructor(
    private readonly clock: Clock,
    ratePerSecond: number,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number; got ${ratePerSecond}`);
    this.spacingMs = 1000 / ratePerSecond;
    this.limit = Math.ceil(ratePerSecond);
  }

  /** Queues a task; it runs as soon as the rate allows, possibly before this returns. */
  add(task: () => void): void {
    if (this.stopped) return;
    // An idle pacer starts its schedule again from now, so a pause does not allow a burst.
    if (this.queue.length === 0 && this.timer === undefined) this.nextAt = Math.max(this.nextAt, this.clock.now());
    this.queue.push(task);
    this.pump();
  }

  /** Tasks still waiting. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Tasks run so far. */
  get started(): number {
    return this.ran;
  }

  /** Drops the waiting tasks; none runs after this. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    if (this.timer || this.stopped) return;
    const now = this.clock.now();
    while (this.queue.length > 0) {
      const windowOpensAt = this.ran >= this.limit ? this.recent[this.ran % this.limit]! + 1000 : Number.NEGATIVE_INFINITY;
      const dueAt = Math.max(this.nextAt, windowOpensAt);
      if (dueAt > now) {
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(dueAt - now));
        return;
      }
      const task = this.queue.shift()!;
      this.nextAt += this.spacingMs;
      this.recent[this.ran % this.limit] = now;
      this.ran++;
      task();
      if (this.stopped) return;
    }
  }
}
