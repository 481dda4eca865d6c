import { describe, expect, test } from "bun:test";
import { IntervalLoop, nextTickOnGrid } from "../../src/agent/telemetry-loop.ts";
import { telemetryOffsetMs } from "../../src/simulate/fleet.ts";
import { ManualClock } from "../helpers/clock.ts";

describe("telemetry spreading", () => {
  test("first ticks of N VENs spread over the interval", () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 4, 12, 0, 0, 123));
    const count = 1000;
    const intervalMs = 5000;
    const ticks: number[][] = Array.from({ length: count }, () => []);
    // All VENs connect within 200 ms, as a fast local broker allows.
    for (let index = 0; index < count; index++) {
      clock.advance(index % 5 === 0 ? 1 : 0);
      const loop = new IntervalLoop(clock, intervalMs, () => ticks[index]!.push(clock.now()));
      loop.start(nextTickOnGrid(clock.now(), intervalMs, telemetryOffsetMs(index, count, intervalMs)));
    }
    const startedAt = clock.now();
    clock.advance(3 * intervalMs);

    const firsts = ticks.map((times) => times[0]!);
    expect(firsts.every((at) => at >= startedAt - 200 && at < startedAt + intervalMs)).toBe(true);
    // Per 500 ms slot of one interval, the fleet sends a tenth of its samples.
    const perSlot = new Map<number, number>();
    for (const at of firsts) {
      const slot = Math.floor((at % intervalMs) / 500);
      perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    }
    expect(perSlot.size).toBe(10);
    for (const n of perSlot.values()) expect(n).toBe(100);
  });

  test("each VEN then ticks every interval", () => {
    const clock = new ManualClock();
    const times: number[] = [];
    const loop = new IntervalLoop(clock, 5000, () => times.push(clock.now()));
    const first = nextTickOnGrid(clock.now(), 5000, 1234);
    loop.start(first);
    clock.advance(16_000);
    expect(times).toEqual([first, first + 5000, first + 10_000]);
    expect(times.every((at) => at % 5000 === 1234)).toBe(true);
  });

  test.each([
    [10_000, 0, 10_000],
    [10_001, 0, 15_000],
    [10_001, 1234, 11_234],
    [11_234, 1234, 11_234],
    [11_235, 1234, 16_234],
  ])("next tick after %d with offset %d is %d", (now, offset, expected) => {
    expect(nextTickOnGrid(now, 5000, offset)).toBe(expected);
  });

  test("offsets cover the interval evenly", () => {
    expect([0, 1, 2, 3].map((index) => telemetryOffsetMs(index, 4, 5000))).toEqual([0, 1250, 2500, 3750]);
  });
});
