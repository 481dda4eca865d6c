import { describe, expect, test } from "bun:test";
import { ConnectPacer } from "../../src/simulate/pacer.ts";
import { ManualClock } from "../helpers/clock.ts";

/** The largest number of times inside any window [t, t + 1000) that starts at one of them. */
function maxPerSecond(times: number[]): number {
  let max = 0;
  for (let start = 0, end = 0; start < times.length; start++) {
    while (end < times.length && times[end]! < times[start]! + 1000) end++;
    max = Math.max(max, end - start);
  }
  return max;
}

describe("ConnectPacer", () => {
  test.each([1, 7, 100, 2500])("never more than %d per second", (rate) => {
    const clock = new ManualClock();
    const pacer = new ConnectPacer(clock, rate);
    const times: number[] = [];
    const count = rate * 3 + 5;
    for (let index = 0; index < count; index++) pacer.add(() => times.push(clock.now()));
    const neededMs = (count / rate + 1) * 1000;
    for (let step = 0; step < neededMs; step++) clock.advance(1);
    expect(times).toHaveLength(count);
    expect(maxPerSecond(times)).toBeLessThanOrEqual(rate);
  });

  test("spaces tasks evenly", () => {
    const clock = new ManualClock();
    const start = clock.now();
    const pacer = new ConnectPacer(clock, 100);
    const times: number[] = [];
    for (let index = 0; index < 5; index++) pacer.add(() => times.push(clock.now() - start));
    clock.advance(100);
    expect(times).toEqual([0, 10, 20, 30, 40]);
  });

  test("late timers catch up within the limit", () => {
    const clock = new ManualClock();
    const pacer = new ConnectPacer(clock, 100);
    const times: number[] = [];
    for (let index = 0; index < 400; index++) pacer.add(() => times.push(clock.now()));
    // Big steps stand for an event loop that runs timers late.
    for (let step = 0; step < 10; step++) clock.advance(700);
    expect(times).toHaveLength(400);
    expect(maxPerSecond(times)).toBeLessThanOrEqual(100);
  });

  test("idle pacer allows no burst", () => {
    const clock = new ManualClock();
    const pacer = new ConnectPacer(clock, 10);
    const times: number[] = [];
    pacer.add(() => times.push(clock.now()));
    clock.advance(60_000);
    for (let index = 0; index < 30; index++) pacer.add(() => times.push(clock.now()));
    clock.advance(5000);
    expect(maxPerSecond(times.slice(1))).toBeLessThanOrEqual(10);
  });

  test("stop drops waiting tasks", () => {
    const clock = new ManualClock();
    const pacer = new ConnectPacer(clock, 10);
    let ran = 0;
    for (let index = 0; index < 20; index++) pacer.add(() => ran++);
    clock.advance(450);
    pacer.stop();
    clock.advance(5000);
    expect(ran).toBe(5);
    expect(pacer.waiting).toBe(0);
    expect(clock.pending).toBe(0);
  });

  test.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("rate %p is rejected", (rate) => {
    expect(() => new ConnectPacer(new ManualClock(), rate)).toThrow(RangeError);
  });
});
