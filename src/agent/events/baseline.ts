/** One telemetry sample as the baseline uses it. */
export interface UseSample {
  /** Unix milliseconds. */
  atMs: number;
  /** Site use in kW (`usedPowerKw`). */
  usedKw: number;
  /** True when an event was active: such samples never count towards a baseline. */
  duringEvent: boolean;
}

/** Samples kept at most, whatever the window: a day of 5 s samples fits well below it. */
const MAX_SAMPLES = 20_000;

/**
 * Recent site use, for event baselines. The baseline of an event is the mean use over the samples
 * taken in a window before the event began, leaving out samples taken during an event, so a
 * replacing event is measured against the uncurtailed site too.
 */
export class BaselineHistory {
  private samples: UseSample[] = [];

  constructor(private readonly windowMs: number) {}

  record(sample: UseSample): void {
    this.samples.push(sample);
    const oldest = sample.atMs - this.windowMs;
    while (this.samples.length > 0 && (this.samples[0]!.atMs < oldest || this.samples.length > MAX_SAMPLES)) this.samples.shift();
  }

  /**
   * Returns the mean use over the samples taken without an event in the window that ends at
   * `startMs`, with the number of samples used, or undefined when the window contains none.
   */
  baselineAt(startMs: number): { kw: number; samples: number } | undefined {
    const inWindow = this.samples.filter(
      (sample) => !sample.duringEvent && sample.atMs <= startMs && sample.atMs >= startMs - this.windowMs,
    );
    if (inWindow.length === 0) return undefined;
    const total = inWindow.reduce((sum, sample) => sum + sample.usedKw, 0);
    return { kw: total / inWindow.length, samples: inWindow.length };
  }
}
