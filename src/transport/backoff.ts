/**
 * Reconnect delays: exponential growth with full jitter, never below the minimum delay, so a
 * fleet that lost its broker together does not come back in lockstep.
 */
export interface BackoffOptions {
  minDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Returns the delay before the next attempt and counts one more failed attempt. */
  next(): number {
    // The range doubles with each attempt and starts at twice the minimum, so even the first
    // retries of a fleet are spread out.
    const ceiling = Math.min(this.options.maxDelayMs, this.options.minDelayMs * 2 ** (this.attempt + 1));
    if (this.attempt < 32) this.attempt++;
    const delay = this.options.minDelayMs + this.random() * (ceiling - this.options.minDelayMs);
    return Math.round(delay);
  }

  /** Starts again from the minimum delay, after a connection stayed up long enough. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
