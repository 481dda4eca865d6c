import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { parseDuration } from "../../src/simulate/duration.ts";

describe("parseDuration", () => {
  test.each([
    ["40", 40_000],
    ["2.5", 2500],
    ["40s", 40_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["500ms", 500],
    [" 10s ", 10_000],
  ])("%p is %d ms", (text, expected) => {
    expect(parseDuration("duration", text)).toBe(expected);
  });

  test.each(["", "0", "0s", "-5", "5x", "s", "5 m", "1e3", "5M", "abc"])("%p is rejected", (text) => {
    expect(() => parseDuration("duration", text)).toThrow(UsageError);
  });

  test("error names the flag and the value", () => {
    expect(() => parseDuration("interval", "5x")).toThrow('--interval must be a positive duration in seconds or with a unit (ms, s, m, h); got "5x"');
  });
});
