import { describe, expect, test } from "bun:test";
import { Backoff } from "../../src/transport/backoff.ts";

const MIN_MS = 1000;
const MAX_MS = 30_000;

/** Returns the delays of `count` consecutive calls with a fixed random value. */
function delays(random: number, count: number, options = { minDelayMs: MIN_MS, maxDelayMs: MAX_MS }): number[] {
  const backoff = new Backoff({ ...options, random: () => random });
  return Array.from({ length: count }, () => backoff.next());
}

describe("Backoff", () => {
  test("lowest random stays at min", () => {
    expect(delays(0, 8)).toEqual(Array(8).fill(MIN_MS));
  });

  test("highest random doubles to max", () => {
    expect(delays(1, 8)).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  test("middle random splits the range", () => {
    expect(delays(0.5, 4)).toEqual([1500, 2500, 4500, 8500]);
  });

  test.each([0, 0.25, 0.5, 0.999999])("within bounds for random %p", (random) => {
    delays(random, 60).forEach((delay, attempt) => {
      expect(delay).toBeGreaterThanOrEqual(MIN_MS);
      expect(delay).toBeLessThanOrEqual(Math.min(MAX_MS, MIN_MS * 2 ** (attempt + 1)));
    });
  });

  test("never exceeds max after many", () => {
    expect(Math.max(...delays(1, 200))).toBe(MAX_MS);
  });

  test("whole milliseconds", () => {
    for (const delay of delays(0.3333, 10)) expect(Number.isInteger(delay)).toBe(true);
  });

  test("max below doubling caps early", () => {
    expect(delays(1, 3, { minDelayMs: 1000, maxDelayMs: 1500 })).toEqual([1500, 1500, 1500]);
  });

  test("reset starts over", () => {
    const backoff = new Backoff({ minDelayMs: MIN_MS, maxDelayMs: MAX_MS, random: () => 1 });
    for (let index = 0; index < 5; index++) backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(2 * MIN_MS);
    expect(backoff.next()).toBe(4 * MIN_MS);
  });

  test("counts attempts", () => {
    const backoff = new Backoff({ minDelayMs: MIN_MS, maxDelayMs: MAX_MS, random: () => 0 });
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(2);
  });
});
