import { describe, expect, test } from "bun:test";
import { dailyFactor } from "../../src/simulator/daily-profile.ts";
import { SiteModel } from "../../src/simulator/site.ts";
import { ManualClock } from "../helpers/clock.ts";

const MIDNIGHT = Date.UTC(2026, 11, 4, 0, 0, 0);
const HOUR = 3_600_000;

describe("dailyFactor", () => {
  test("lights peak in the evening", () => {
    expect(dailyFactor("lights", MIDNIGHT + 19 * HOUR)).toBeGreaterThan(dailyFactor("lights", MIDNIGHT + 3 * HOUR) * 3);
  });

  test("EV charges at night", () => {
    expect(dailyFactor("ev", MIDNIGHT + 2 * HOUR)).toBeGreaterThan(dailyFactor("ev", MIDNIGHT + 12 * HOUR));
  });

  test("fridge has no daily pattern", () => {
    expect(dailyFactor("fridge", MIDNIGHT + 7 * HOUR)).toBe(1);
  });

  test("interpolates between hours", () => {
    const halfPast = dailyFactor("range", MIDNIGHT + 17.5 * HOUR);
    expect(halfPast).toBeCloseTo((dailyFactor("range", MIDNIGHT + 17 * HOUR) + dailyFactor("range", MIDNIGHT + 18 * HOUR)) / 2, 10);
  });

  test("wraps around midnight", () => {
    expect(dailyFactor("hvac", MIDNIGHT + 24 * HOUR)).toBe(dailyFactor("hvac", MIDNIGHT));
  });
});

describe("SiteModel time scale", () => {
  test("time scale moves the simulated day", () => {
    const clock = new ManualClock(MIDNIGHT);
    const fast = new SiteModel({ seed: 3, panelAmperage: 200, clock, timeScale: 1440 });
    clock.advance(30_000);
    fast.sample();
    // 30 s at 1440 times real time is 12 simulated hours.
    expect(fast.simulatedTime()).toBe(MIDNIGHT + 12 * HOUR);
  });

  test("real time by default", () => {
    const clock = new ManualClock(MIDNIGHT);
    const site = new SiteModel({ seed: 3, panelAmperage: 200, clock });
    clock.advance(30_000);
    site.sample();
    expect(site.simulatedTime()).toBe(MIDNIGHT + 30_000);
  });
});
