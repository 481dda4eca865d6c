import { describe, expect, test } from "bun:test";
import { ManualClock } from "../helpers/clock.ts";

describe("ManualClock", () => {
  test("starts at given time", () => {
    expect(new ManualClock(1000).now()).toBe(1000);
  });

  test("advance moves now", () => {
    const clock = new ManualClock(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
  });

  test("fires due timers in order", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b"), 20);
    clock.setTimeout(() => fired.push("a"), 10);
    clock.setTimeout(() => fired.push("c"), 20);
    clock.advance(20);
    expect(fired).toEqual(["a", "b", "c"]);
  });

  test("callbacks see their due time", () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 30);
    clock.advance(100);
    expect(seen).toEqual([30]);
  });

  test("leaves later timers waiting", () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimeout(() => (fired = true), 101);
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(1);
  });

  test("fires timers set by callbacks", () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const again = () => {
      seen.push(clock.now());
      clock.setTimeout(again, 10);
    };
    clock.setTimeout(again, 10);
    clock.advance(35);
    expect(seen).toEqual([10, 20, 30]);
  });

  test("zero delay set by callback fires", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => clock.setTimeout(() => fired.push("inner"), 0), 5);
    clock.advance(5);
    expect(fired).toEqual(["inner"]);
  });

  test("clearTimeout cancels", () => {
    const clock = new ManualClock(0);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.advance(20);
    expect(fired).toBe(false);
  });

  test("callback can cancel a later timer", () => {
    const clock = new ManualClock(0);
    let fired = false;
    const later = clock.setTimeout(() => (fired = true), 20);
    clock.setTimeout(() => clock.clearTimeout(later), 10);
    clock.advance(30);
    expect(fired).toBe(false);
  });
});
