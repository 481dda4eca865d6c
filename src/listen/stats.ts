import { parseJsonPayload, type ReceivedMessage } from "./format.ts";

/**
 * A VEN's `seq` further below the highest one seen than this is taken as a restart of its
 * counter (for example after its state directory was lost), not as a very late message.
 * Duplicates are also detected only within this window below the highest `seq`.
 */
export const SEQ_WINDOW = 1024;
/** A jump ahead in `seq` by more than this is counted as a gap, but its numbers are not tracked for late arrival. */
const MAX_TRACKED_MISSING = 1024;

/** Figures for one VEN, over one interval or over the whole run. */
export interface VenFigures {
  messages: number;
  /** Sequence numbers found skipped when a higher `seq` arrived. */
  gaps: number;
  /** Skipped sequence numbers that arrived later, counted in `late` too. */
  filled: number;
  /** A `seq` that already arrived, within the window below the highest `seq`. */
  duplicates: number;
  /** Messages that arrived after a higher `seq` of the same VEN. */
  late: number;
  /** Times the `seq` started over. */
  restarts: number;
  delay: DelayFigures;
}

/** Delay from the payload's `timestamp` (whole Unix seconds) to arrival, in milliseconds. */
export interface DelayFigures {
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

export interface VenSummary extends VenFigures {
  venId: string;
  /** Skipped sequence numbers that never arrived: `gaps` minus `filled`. */
  missing: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
}

export interface IntervalReport {
  /** Start and end of the interval, in Unix milliseconds. */
  startMs: number;
  endMs: number;
  messages: number;
  messagesPerSecond: number;
  /** VENs with at least one message in this interval. */
  vens: number;
  /** VENs seen since the start. */
  vensTotal: number;
  /** Messages whose payload is not UTF-8 JSON. */
  notJson: number;
  /** JSON messages without a string `venId` and an integer `seq`. */
  withoutSeq: number;
  totals: VenFigures;
  /** Only the VENs that had messages in this interval, sorted by venId. */
  perVen: VenSummary[];
}

export interface SummaryReport extends Omit<IntervalReport, "perVen"> {
  perVen: VenSummary[];
}

function emptyDelay(): DelayFigures {
  return { count: 0, sumMs: 0, minMs: Number.POSITIVE_INFINITY, maxMs: Number.NEGATIVE_INFINITY };
}

function emptyFigures(): VenFigures {
  return { messages: 0, gaps: 0, filled: 0, duplicates: 0, late: 0, restarts: 0, delay: emptyDelay() };
}

function addDelay(target: DelayFigures, delayMs: number): void {
  target.count++;
  target.sumMs += delayMs;
  target.minMs = Math.min(target.minMs, delayMs);
  target.maxMs = Math.max(target.maxMs, delayMs);
}

function addFigures(target: VenFigures, source: VenFigures): void {
  target.messages += source.messages;
  target.gaps += source.gaps;
  target.filled += source.filled;
  target.duplicates += source.duplicates;
  target.late += source.late;
  target.restarts += source.restarts;
  target.delay.count += source.delay.count;
  target.delay.sumMs += source.delay.sumMs;
  target.delay.minMs = Math.min(target.delay.minMs, source.delay.minMs);
  target.delay.maxMs = Math.max(target.delay.maxMs, source.delay.maxMs);
}

/** Tracks the `seq` numbers of one VEN: what is missing, what came twice, what came late. */
class SeqTracker {
  firstSeq: number | undefined;
  highestSeq: number | undefined;
  lastSeq: number | undefined;
  private readonly missing = new Set<number>();
  private readonly seen = new Set<number>();

  /** Classifies one `seq` and adds the outcome to `figures`. */
  record(seq: number, figures: VenFigures): void {
    this.lastSeq = seq;
    const highest = this.highestSeq;
    if (highest === undefined) {
      this.firstSeq = seq;
      this.highestSeq = seq;
      this.seen.add(seq);
      return;
    }

    if (seq > highest) {
      const skipped = seq - highest - 1;
      figures.gaps += skipped;
      if (skipped <= MAX_TRACKED_MISSING) {
        for (let missingSeq = highest + 1; missingSeq < seq; missingSeq++) this.missing.add(missingSeq);
      }
      this.highestSeq = seq;
      this.seen.add(seq);
      this.forgetBelow(seq - SEQ_WINDOW);
      return;
    }

    if (this.missing.delete(seq)) {
      figures.filled++;
      figures.late++;
      this.seen.add(seq);
      return;
    }
    if (this.seen.has(seq)) {
      figures.duplicates++;
      return;
    }
    if (seq <= highest - SEQ_WINDOW) {
      figures.restarts++;
      this.missing.clear();
      this.seen.clear();
      this.highestSeq = seq;
      this.seen.add(seq);
      return;
    }
    // Inside the window, never seen and never missed: older than the first seq this listener saw.
    figures.late++;
    this.seen.add(seq);
  }

  private forgetBelow(limit: number): void {
    if (this.seen.size > 2 * SEQ_WINDOW) {
      for (const old of this.seen) if (old <= limit) this.seen.delete(old);
    }
    if (this.missing.size > MAX_TRACKED_MISSING) {
      for (const old of this.missing) if (old <= limit) this.missing.delete(old);
    }
  }
}

interface VenState {
  tracker: SeqTracker;
  total: VenFigures;
  interval: VenFigures;
}

/**
 * Counts telemetry per VEN for `ven listen --stats`: messages, gaps, duplicates and late arrivals
 * found from `seq`, and the delay from the payload's `timestamp` to arrival. `takeInterval` returns
 * the figures since the previous call, `summary` those since the start.
 */
export class TelemetryStats {
  private readonly vens = new Map<string, VenState>();
  private readonly startedAtMs: number;
  private intervalStartMs: number;
  private intervalMessages = 0;
  private intervalNotJson = 0;
  private intervalWithoutSeq = 0;
  private totalMessages = 0;
  private totalNotJson = 0;
  private totalWithoutSeq = 0;

  constructor(startMs: number) {
    this.startedAtMs = startMs;
    this.intervalStartMs = startMs;
  }

  record(message: ReceivedMessage): void {
    this.intervalMessages++;
    this.totalMessages++;
    const parsed = parseJsonPayload(message.payload);
    if (!parsed) {
      this.intervalNotJson++;
      this.totalNotJson++;
      return;
    }

    const value = parsed.value as Record<string, unknown> | null;
    const venId = value && typeof value === "object" ? value.venId : undefined;
    const seq = value && typeof value === "object" ? value.seq : undefined;
    if (typeof venId !== "string" || typeof seq !== "number" || !Number.isSafeInteger(seq)) {
      this.intervalWithoutSeq++;
      this.totalWithoutSeq++;
      return;
    }

    const state = this.stateOf(venId);
    state.interval.messages++;
    state.tracker.record(seq, state.interval);
    const timestamp = (value as Record<string, unknown>).timestamp;
    if (typeof timestamp === "number" && Number.isFinite(timestamp)) {
      addDelay(state.interval.delay, message.receivedAtMs - timestamp * 1000);
    }
  }

  /** Returns the figures since the previous call and starts a new interval at `nowMs`. */
  takeInterval(nowMs: number): IntervalReport {
    const totals = emptyFigures();
    const perVen: VenSummary[] = [];
    for (const [venId, state] of this.vens) {
      if (state.interval.messages === 0) continue;
      addFigures(totals, state.interval);
      addFigures(state.total, state.interval);
      perVen.push(this.summaryOf(venId, state, state.interval));
      state.interval = emptyFigures();
    }
    perVen.sort((a, b) => (a.venId < b.venId ? -1 : a.venId > b.venId ? 1 : 0));

    const report: IntervalReport = {
      startMs: this.intervalStartMs,
      endMs: nowMs,
      messages: this.intervalMessages,
      messagesPerSecond: ratePerSecond(this.intervalMessages, nowMs - this.intervalStartMs),
      vens: perVen.length,
      vensTotal: this.vens.size,
      notJson: this.intervalNotJson,
      withoutSeq: this.intervalWithoutSeq,
      totals,
      perVen,
    };
    this.intervalStartMs = nowMs;
    this.intervalMessages = 0;
    this.intervalNotJson = 0;
    this.intervalWithoutSeq = 0;
    return report;
  }

  /** Closes the running interval and returns the figures since the start, one row per VEN seen. */
  summary(nowMs: number): SummaryReport {
    this.takeInterval(nowMs);
    const totals = emptyFigures();
    const perVen: VenSummary[] = [];
    for (const [venId, state] of this.vens) {
      addFigures(totals, state.total);
      perVen.push(this.summaryOf(venId, state, state.total));
    }
    perVen.sort((a, b) => (a.venId < b.venId ? -1 : a.venId > b.venId ? 1 : 0));
    return {
      startMs: this.startedAtMs,
      endMs: nowMs,
      messages: this.totalMessages,
      messagesPerSecond: ratePerSecond(this.totalMessages, nowMs - this.startedAtMs),
      vens: perVen.length,
      vensTotal: perVen.length,
      notJson: this.totalNotJson,
      withoutSeq: this.totalWithoutSeq,
      totals,
      perVen,
    };
  }

  private stateOf(venId: string): VenState {
    let state = this.vens.get(venId);
    if (!state) {
      state = { tracker: new SeqTracker(), total: emptyFigures(), interval: emptyFigures() };
      this.vens.set(venId, state);
    }
    return state;
  }

  private summaryOf(venId: string, state: VenState, figures: VenFigures): VenSummary {
    return {
      venId,
      firstSeq: state.tracker.firstSeq,
      lastSeq: state.tracker.lastSeq,
      ...figures,
      missing: figures.gaps - figures.filled,
      delay: { ...figures.delay },
    };
  }
}

function ratePerSecond(messages: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (messages * 1000) / elapsedMs : 0;
}
