import { describe, expect, test } from "bun:test";
import { formatStatsInterval, formatStatsSummary, type ReceivedMessage } from "../../src/listen/format.ts";
import { SEQ_WINDOW, TelemetryStats } from "../../src/listen/stats.ts";
import { ManualClock } from "../helpers/clock.ts";

const TOPIC = "ven/telemetry/x";

/** Builds a telemetry-like message from `venId` with `seq`, stamped `ageMs` before the clock's now. */
function telemetry(clock: ManualClock, venId: string, seq: number, ageMs = 0): ReceivedMessage {
  const timestamp = Math.floor((clock.now() - ageMs) / 1000);
  const payload = Buffer.from(JSON.stringify({ schemaVersion: "1", venId, seq, timestamp, usedPowerKw: 1 }));
  return { topic: TOPIC, payload, retained: false, receivedAtMs: clock.now() };
}

function raw(clock: ManualClock, text: string | Buffer): ReceivedMessage {
  return { topic: TOPIC, payload: Buffer.isBuffer(text) ? text : Buffer.from(text), retained: false, receivedAtMs: clock.now() };
}

function feed(stats: TelemetryStats, clock: ManualClock, venId: string, seqs: number[]): void {
  for (const seq of seqs) stats.record(telemetry(clock, venId, seq));
}

describe("telemetry stats", () => {
  test("in-order seq has no problems", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [5, 6, 7, 8]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.messages).toBe(4);
    expect(ven.firstSeq).toBe(5);
    expect(ven.lastSeq).toBe(8);
    expect(ven.gaps).toBe(0);
    expect(ven.duplicates).toBe(0);
    expect(ven.late).toBe(0);
  });

  test("gap counts skipped seq", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2, 5, 9]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.gaps).toBe(5);
    expect(ven.missing).toBe(5);
  });

  test("duplicate seq counted once each", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2, 2, 3, 2, 3]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.duplicates).toBe(3);
    expect(ven.gaps).toBe(0);
    expect(ven.messages).toBe(6);
  });

  test("late arrival fills its gap", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2, 4, 5, 3]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.gaps).toBe(1);
    expect(ven.filled).toBe(1);
    expect(ven.missing).toBe(0);
    expect(ven.late).toBe(1);
    expect(ven.duplicates).toBe(0);
    expect(ven.lastSeq).toBe(3);
  });

  test("late arrival then repeat is duplicate", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 3, 2, 2]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.late).toBe(1);
    expect(ven.duplicates).toBe(1);
  });

  test("seq before first one is late", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [10, 11, 9]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.late).toBe(1);
    expect(ven.duplicates).toBe(0);
    expect(ven.gaps).toBe(0);
  });

  test("seq far below highest is restart", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    const high = SEQ_WINDOW + 50;
    feed(stats, clock, "ven-a", [high, high + 1, 0, 1, 2]);
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.restarts).toBe(1);
    expect(ven.duplicates).toBe(0);
    expect(ven.late).toBe(0);
    expect(ven.gaps).toBe(0);
  });

  test("huge jump counts as gap", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 100_001]);
    expect(stats.summary(clock.now()).perVen[0]!.gaps).toBe(99_999);
  });

  test("VENs are tracked apart", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2]);
    feed(stats, clock, "ven-b", [1, 3]);
    const summary = stats.summary(clock.now());
    expect(summary.vensTotal).toBe(2);
    expect(summary.perVen.map((ven) => ven.venId)).toEqual(["ven-a", "ven-b"]);
    expect(summary.perVen[0]!.gaps).toBe(0);
    expect(summary.perVen[1]!.gaps).toBe(1);
    expect(summary.totals.gaps).toBe(1);
    expect(summary.totals.messages).toBe(4);
  });

  test("delay from payload timestamp", () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 0, 0));
    const stats = new TelemetryStats(clock.now());
    stats.record(telemetry(clock, "ven-a", 1, 0));
    clock.advance(2500);
    // Stamped at whole second 2, received at 2.5 s: 500 ms.
    stats.record(telemetry(clock, "ven-a", 2, 0));
    // Stamped at second 0, received at 2.5 s: 2500 ms.
    stats.record(telemetry(clock, "ven-a", 3, 2500));
    const delay = stats.summary(clock.now()).perVen[0]!.delay;
    expect(delay.count).toBe(3);
    expect(delay.minMs).toBe(0);
    expect(delay.maxMs).toBe(2500);
    expect(delay.sumMs).toBe(3000);
  });

  test("missing timestamp gives no delay", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    stats.record(raw(clock, JSON.stringify({ venId: "ven-a", seq: 1 })));
    stats.record(raw(clock, JSON.stringify({ venId: "ven-a", seq: 2, timestamp: "1796417171" })));
    const ven = stats.summary(clock.now()).perVen[0]!;
    expect(ven.messages).toBe(2);
    expect(ven.delay.count).toBe(0);
  });

  test("payloads without venId or seq", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    stats.record(raw(clock, "not json"));
    stats.record(raw(clock, Buffer.from([0xff, 0xfe, 0x00])));
    stats.record(raw(clock, "[1,2]"));
    stats.record(raw(clock, "null"));
    stats.record(raw(clock, JSON.stringify({ venId: 7, seq: 1 })));
    stats.record(raw(clock, JSON.stringify({ venId: "ven-a", seq: 1.5 })));
    stats.record(raw(clock, JSON.stringify({ venId: "ven-a" })));
    const summary = stats.summary(clock.now());
    expect(summary.messages).toBe(7);
    expect(summary.notJson).toBe(2);
    expect(summary.withoutSeq).toBe(5);
    expect(summary.vensTotal).toBe(0);
  });

  test("interval covers only its messages", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2, 4]);
    clock.advance(10_000);
    const first = stats.takeInterval(clock.now());
    expect(first.messages).toBe(3);
    expect(first.messagesPerSecond).toBeCloseTo(0.3, 6);
    expect(first.totals.gaps).toBe(1);
    expect(first.vens).toBe(1);

    feed(stats, clock, "ven-b", [1]);
    clock.advance(5_000);
    const second = stats.takeInterval(clock.now());
    expect(second.messages).toBe(1);
    expect(second.messagesPerSecond).toBeCloseTo(0.2, 6);
    expect(second.totals.gaps).toBe(0);
    expect(second.vens).toBe(1);
    expect(second.vensTotal).toBe(2);
    expect(second.perVen.map((ven) => ven.venId)).toEqual(["ven-b"]);
  });

  test("late fill in later interval", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 3]);
    clock.advance(1000);
    stats.takeInterval(clock.now());
    feed(stats, clock, "ven-a", [2]);
    clock.advance(1000);
    const second = stats.takeInterval(clock.now());
    expect(second.totals.gaps).toBe(0);
    expect(second.totals.late).toBe(1);
    const summary = stats.summary(clock.now());
    expect(summary.totals.gaps).toBe(1);
    expect(summary.perVen[0]!.missing).toBe(0);
  });

  test("summary spans all intervals", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2]);
    clock.advance(1000);
    stats.takeInterval(clock.now());
    feed(stats, clock, "ven-a", [2, 5]);
    clock.advance(1000);
    const summary = stats.summary(clock.now());
    expect(summary.messages).toBe(4);
    expect(summary.messagesPerSecond).toBeCloseTo(2, 6);
    expect(summary.totals.duplicates).toBe(1);
    expect(summary.totals.gaps).toBe(2);
  });
});

describe("stats formatting", () => {
  function sampleStats(clock: ManualClock): TelemetryStats {
    const stats = new TelemetryStats(clock.now());
    feed(stats, clock, "ven-a", [1, 2, 2, 4]);
    feed(stats, clock, "ven-b", [7, 8]);
    stats.record(raw(clock, "not json"));
    clock.advance(10_000);
    return stats;
  }

  test("jsonl interval object", () => {
    const clock = new ManualClock();
    const line = formatStatsInterval(sampleStats(clock).takeInterval(clock.now()), "jsonl");
    expect(line.endsWith("\n")).toBe(true);
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record.type).toBe("interval");
    expect(record.messages).toBe(7);
    expect(record.messagesPerSecond).toBe(0.7);
    expect(record.vens).toBe(2);
    expect(record.gaps).toBe(1);
    expect(record.duplicates).toBe(1);
    expect(record.notJson).toBe(1);
    const perVen = record.perVen as Array<Record<string, unknown>>;
    expect(perVen.map((ven) => ven.venId)).toEqual(["ven-a", "ven-b"]);
    expect(perVen[0]!.lastSeq).toBe(4);
  });

  test("pretty interval lists troubled VENs", () => {
    const clock = new ManualClock();
    const text = formatStatsInterval(sampleStats(clock).takeInterval(clock.now()), "pretty");
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("7 msg");
    expect(lines[0]).toContain("0.7 msg/s");
    expect(lines[0]).toContain("VENs 2");
    expect(lines[0]).toContain("not JSON 1");
    expect(lines[1]).toContain("ven-a");
    expect(lines[1]).toContain("gaps 1");
    expect(lines[1]).toContain("duplicates 1");
  });

  test("pretty summary table", () => {
    const clock = new ManualClock();
    const text = formatStatsSummary(sampleStats(clock).summary(clock.now()), "pretty");
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toContain("Summary: 7 messages in 10.0 s");
    expect(lines[1]).toMatch(/^venId\s+messages\s+first seq\s+last seq\s+gaps\s+missing\s+duplicates\s+late\s+restarts/);
    expect(lines[2]).toMatch(/^ven-a\s+4\s+1\s+4\s+1\s+1\s+1\s+0\s+0\s+0\s+0$/);
    expect(lines[3]).toMatch(/^ven-b\s+2\s+7\s+8\s+0\s+0\s+0\s+0\s+0\s+0\s+0$/);
    expect(lines[4]).toMatch(/^total\s+6\s+-\s+-\s+1\s+1\s+1\s+0\s+0\s+0\s+0$/);
  });

  test("jsonl summary object", () => {
    const clock = new ManualClock();
    const record = JSON.parse(formatStatsSummary(sampleStats(clock).summary(clock.now()), "jsonl")) as Record<string, unknown>;
    expect(record.type).toBe("summary");
    expect(record.messages).toBe(7);
    expect(record.missing).toBe(1);
    expect((record.perVen as unknown[]).length).toBe(2);
  });

  test("empty summary has no delay", () => {
    const clock = new ManualClock();
    const stats = new TelemetryStats(clock.now());
    const record = JSON.parse(formatStatsSummary(stats.summary(clock.now()), "jsonl")) as { delay: Record<string, unknown> };
    expect(record.delay.meanMs).toBeNull();
    expect(record.delay.maxMs).toBeNull();
  });
});
