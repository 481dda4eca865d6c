import type { Clock, TimerHandle } from "../../src/clock.ts";

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A clock that moves only when a test calls `advance`. Timers fire in time order, including timers
 * that callbacks schedule during the advance.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(startMs: number = Date.UTC(2026, 11, 4, 12, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((timer) => timer.id !== id);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.current = Math.max(this.current, due.at);
      due.callback();
    }
    this.current = target;
  }

  /** Jumps to `ms` without firing the timers on the way, like a system clock being set. */
  set(ms: number): void {
    const shift = ms - this.current;
    this.current = ms;
    for (const timer of this.timers) timer.at += shift;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }
}
