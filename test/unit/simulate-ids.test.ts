import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { simulatedVenIds } from "../../src/simulate/ids.ts";

describe("simulatedVenIds", () => {
  test("default range starts at 000001", () => {
    expect(simulatedVenIds({ prefix: "sim", offset: 0, count: 3 })).toEqual(["sim-000001", "sim-000002", "sim-000003"]);
  });

  test("offset shifts the first number", () => {
    expect(simulatedVenIds({ prefix: "P", offset: 5000, count: 2 })).toEqual(["P-005001", "P-005002"]);
  });

  test("processes with adjacent offsets do not overlap", () => {
    const first = simulatedVenIds({ prefix: "sim", offset: 0, count: 1000 });
    const second = simulatedVenIds({ prefix: "sim", offset: 1000, count: 1000 });
    const all = new Set([...first, ...second]);
    expect(all.size).toBe(2000);
    expect(second[0]).toBe("sim-001001");
  });

  test("numbers over six digits are not cut", () => {
    expect(simulatedVenIds({ prefix: "sim", offset: 999_999, count: 2 })).toEqual(["sim-1000000", "sim-1000001"]);
  });

  test.each(["", "a b", "sim/1", "sim+", "ü"])("prefix %p is rejected", (prefix) => {
    expect(() => simulatedVenIds({ prefix, offset: 0, count: 1 })).toThrow(UsageError);
    expect(() => simulatedVenIds({ prefix, offset: 0, count: 1 })).toThrow(/--id-prefix/);
  });

  test("ids over 128 characters are rejected", () => {
    expect(() => simulatedVenIds({ prefix: "x".repeat(122), offset: 0, count: 1 })).toThrow(/at most 128/);
    expect(simulatedVenIds({ prefix: "x".repeat(121), offset: 0, count: 1 })[0]).toHaveLength(128);
  });
});
