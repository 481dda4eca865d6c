import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { buildTelemetry, type TelemetryContext } from "../../src/agent/telemetry.ts";
import { createLogger } from "../../src/logger.ts";
import { formatIssues } from "../../src/protocol/schema-helpers.ts";
import { TelemetrySchema, type PanelAmperage } from "../../src/protocol/telemetry.ts";
import { CIRCUITS, capacityKw } from "../../src/simulator/circuits.ts";
import { SiteModel, WALK_STEP_MS, type SiteSnapshot } from "../../src/simulator/site.ts";
import { ManualClock } from "../helpers/clock.ts";

const PANELS: PanelAmperage[] = [100, 150, 200];
const CONTEXT: TelemetryContext = { venId: "ven-home-042", seq: 1207, timestamp: 1764850000, legacyFields: true };

/** Samples a fresh site every `stepMs` for `count` samples. */
function sampleRun(seed: number, panelAmperage: PanelAmperage, count: number, stepMs = 5000): SiteSnapshot[] {
  const clock = new ManualClock();
  const site = new SiteModel({ seed, panelAmperage, clock });
  const snapshots: SiteSnapshot[] = [];
  for (let index = 0; index < count; index++) {
    snapshots.push(site.sample());
    clock.advance(stepMs);
  }
  return snapshots;
}

function powers(snapshot: SiteSnapshot): number[] {
  return snapshot.circuits.map((reading) => reading.powerKw);
}

function ids(snapshot: SiteSnapshot): string[] {
  return snapshot.circuits.map((reading) => reading.spec.id);
}

function collectingLogger() {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format: "json", sink: { write: (text: string) => lines.push(text) } });
  const warnings = () => lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((record) => record.level === "warn");
  return { log, warnings };
}

function telemetryProblems(value: unknown): string {
  const result = v.safeParse(TelemetrySchema, value);
  return result.success ? "" : formatIssues(result.issues);
}

describe("SiteModel", () => {
  test("same seed replays the same", () => {
    expect(sampleRun(42, 200, 50)).toEqual(sampleRun(42, 200, 50));
  });

  test("other seed differs", () => {
    expect(sampleRun(42, 200, 5).map(powers)).not.toEqual(sampleRun(43, 200, 5).map(powers));
  });

  test("draw moves over time", () => {
    const run = sampleRun(42, 200, 30);
    expect(powers(run[29]!)).not.toEqual(powers(run[0]!));
  });

  test("sampling rate does not matter", () => {
    const fine = sampleRun(7, 200, 61, 1000)[60]!;
    const coarse = sampleRun(7, 200, 13, 5000)[12]!;
    expect(powers(coarse)).toEqual(powers(fine));
  });

  test("no clock step keeps the draw", () => {
    const clock = new ManualClock();
    const site = new SiteModel({ seed: 1, panelAmperage: 200, clock });
    const first = site.sample();
    clock.advance(WALK_STEP_MS - 1);
    expect(powers(site.sample())).toEqual(powers(first));
  });

  test.each(PANELS)("circuits within capacity on %i A", (amps) => {
    for (const snapshot of sampleRun(99, amps, 400, 30_000)) {
      for (const reading of snapshot.circuits) {
        expect(reading.powerKw).toBeGreaterThanOrEqual(0);
        expect(reading.powerKw).toBeLessThanOrEqual(capacityKw(reading.spec));
      }
    }
  });

  test.each(PANELS)("total under rating on %i A", (amps) => {
    const ratingKw = (amps * 240) / 1000;
    for (const snapshot of sampleRun(5, amps, 400, 30_000)) {
      expect(powers(snapshot).reduce((sum, kw) => sum + kw, 0)).toBeLessThan(ratingKw);
    }
  });

  test("100 A panel lacks ev1 and range1", () => {
    const circuitIds = ids(sampleRun(1, 100, 1)[0]!);
    expect(circuitIds).not.toContain("ev1");
    expect(circuitIds).not.toContain("range1");
  });

  test.each([150, 200] as const)("%i A panel has every circuit", (amps) => {
    expect(ids(sampleRun(1, amps, 1)[0]!)).toEqual(CIRCUITS.map((spec) => spec.id));
  });

  test("EV disabled by default", () => {
    for (const snapshot of sampleRun(3, 200, 20)) {
      const ev = snapshot.circuits.find((reading) => reading.spec.id === "ev1");
      expect(ev?.enabled).toBe(false);
      expect(ev?.powerKw).toBe(0);
    }
  });

  test("panel change applies at once", () => {
    const clock = new ManualClock();
    const site = new SiteModel({ seed: 1, panelAmperage: 200, clock });
    site.setPanelAmperage(100);
    expect(site.amperage).toBe(100);
    expect(ids(site.sample())).not.toContain("range1");
  });

  test("snapshot carries clock time", () => {
    const clock = new ManualClock(1_764_850_000_000);
    const site = new SiteModel({ seed: 1, panelAmperage: 200, clock });
    clock.advance(2500);
    expect(site.sample().timestampMs).toBe(1_764_850_002_500);
  });
});

describe("buildTelemetry", () => {
  test.each(PANELS)("valid on %i A", (amps) => {
    const { log } = collectingLogger();
    for (const snapshot of sampleRun(11, amps, 20)) {
      expect(telemetryProblems(buildTelemetry(snapshot, CONTEXT, log))).toBe("");
    }
  });

  test.each([
    [100, 24],
    [150, 36],
    [200, 48],
  ] as const)("panelMaxKw for %i A", (amps, expected) => {
    const { log } = collectingLogger();
    expect(buildTelemetry(sampleRun(1, amps, 1)[0]!, CONTEXT, log).panelMaxKw).toBe(expected);
  });

  test("currentAmps follows usedPowerKw", () => {
    const { log } = collectingLogger();
    for (const snapshot of sampleRun(12, 200, 20)) {
      const telemetry = buildTelemetry(snapshot, CONTEXT, log);
      // Both values are rounded to 2 decimals, so they may differ by half a unit of the last place.
      expect(Math.abs(telemetry.currentAmps - (telemetry.usedPowerKw * 1000) / telemetry.panelVoltage)).toBeLessThanOrEqual(0.005 + 1e-9);
    }
  });

  test("utilisation follows usedPowerKw", () => {
    const { log } = collectingLogger();
    for (const snapshot of sampleRun(13, 150, 20)) {
      const telemetry = buildTelemetry(snapshot, CONTEXT, log);
      expect(telemetry.panelUtilizationPercent).toBeCloseTo((telemetry.usedPowerKw / telemetry.panelMaxKw) * 100, 2);
    }
  });

  test("usedPowerKw sums the loads", () => {
    const { log } = collectingLogger();
    const telemetry = buildTelemetry(sampleRun(14, 200, 1)[0]!, CONTEXT, log);
    expect(telemetry.usedPowerKw).toBeCloseTo(telemetry.loads.reduce((sum, load) => sum + load.currentPowerKw, 0), 2);
  });

  test("quiet site has no event", () => {
    const { log } = collectingLogger();
    const telemetry = buildTelemetry(sampleRun(15, 200, 1)[0]!, CONTEXT, log);
    expect(telemetry.eventId).toBeNull();
    expect(telemetry.shedPowerKw).toBe(0);
    expect(telemetry.requestedReductionKw).toBe(0);
    expect(telemetry.baselinePowerKw).toBe(telemetry.usedPowerKw);
  });

  test("critical loads cannot shed", () => {
    const { log } = collectingLogger();
    const telemetry = buildTelemetry(sampleRun(16, 200, 1)[0]!, CONTEXT, log);
    for (const load of telemetry.loads.filter((entry) => entry.critical)) expect(load.shedCapabilityKw).toBe(0);
  });

  test("legacy fields on", () => {
    const { log } = collectingLogger();
    const telemetry = buildTelemetry(sampleRun(17, 200, 1)[0]!, CONTEXT, log);
    expect(telemetry.ts).toBe(telemetry.timestamp);
    expect(telemetry.power_kw).toBe(telemetry.usedPowerKw);
    expect(telemetry.shed_kw).toBe(telemetry.shedPowerKw);
    expect(telemetry.message_num).toBe(telemetry.seq);
  });

  test("legacy fields off", () => {
    const { log } = collectingLogger();
    const telemetry = buildTelemetry(sampleRun(17, 200, 1)[0]!, { ...CONTEXT, legacyFields: false }, log);
    for (const key of ["ts", "power_kw", "shed_kw", "message_num"]) expect(telemetry).not.toHaveProperty(key);
    expect(telemetryProblems(telemetry)).toBe("");
  });

  test("survives JSON round trip", () => {
    const { log } = collectingLogger();
    const telemetry = buildTelemetry(sampleRun(18, 200, 1)[0]!, CONTEXT, log);
    expect(JSON.parse(JSON.stringify(telemetry))).toEqual(telemetry);
  });

  describe("broken circuit reading", () => {
    function withHeaterReading(powerKw: number): SiteSnapshot {
      const snapshot = sampleRun(19, 200, 1)[0]!;
      return {
        ...snapshot,
        circuits: snapshot.circuits.map((reading) => (reading.spec.id === "heater1" ? { ...reading, powerKw } : reading)),
      };
    }

    test.each([NaN, Infinity, -Infinity, -1])("%p reported as 0 kW", (powerKw) => {
      const { log } = collectingLogger();
      const telemetry = buildTelemetry(withHeaterReading(powerKw), CONTEXT, log);
      expect(telemetry.loads.find((load) => load.id === "heater1")?.currentPowerKw).toBe(0);
    });

    test.each([NaN, Infinity, -1])("%p keeps message valid", (powerKw) => {
      const { log } = collectingLogger();
      expect(telemetryProblems(buildTelemetry(withHeaterReading(powerKw), CONTEXT, log))).toBe("");
    });

    test("NaN reading is warned", () => {
      const { log, warnings } = collectingLogger();
      buildTelemetry(withHeaterReading(NaN), CONTEXT, log);
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]?.msg).toContain("heater1");
      expect(warnings()[0]?.msg).toContain("NaN");
    });

    test("NaN reading keeps other loads", () => {
      const { log } = collectingLogger();
      const healthy = buildTelemetry(withHeaterReading(1), CONTEXT, log);
      const broken = buildTelemetry(withHeaterReading(NaN), CONTEXT, log);
      expect(broken.loads.find((load) => load.id === "hvac1")).toEqual(healthy.loads.find((load) => load.id === "hvac1")!);
      expect(broken.usedPowerKw).toBeCloseTo(healthy.usedPowerKw - 1, 2);
    });
  });
});
