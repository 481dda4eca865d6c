import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Battery } from "../../src/simulator/battery.ts";
import { SiteModel } from "../../src/simulator/site.ts";
import type { Telemetry } from "../../src/protocol/telemetry.ts";
import { ManualClock } from "../helpers/clock.ts";
import { DrSetup } from "../helpers/demand-response.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

function battery(telemetry: Telemetry) {
  return telemetry.loads.find((load) => load.type === "battery");
}

function loadKw(telemetry: Telemetry, id: string): number {
  return telemetry.loads.find((load) => load.id === id)!.currentPowerKw;
}

let stateDir: string;

beforeEach(async () => {
  stateDir = await makeTempDir("ven-dr-battery-");
});

afterEach(async () => {
  await removeTempDir(stateDir);
});

describe("Battery", () => {
  test("discharge drains energy", () => {
    const store = new Battery({ capacityKwh: 10, maxPowerKw: 5 });
    store.discharge(5);
    store.advance(3_600_000);
    expect(store.soc).toBeCloseTo(0.5, 5);
  });

  test("discharge capped at max power", () => {
    const store = new Battery({ capacityKwh: 10, maxPowerKw: 5 });
    store.discharge(8);
    expect(store.powerKw).toBe(-5);
  });

  test("empty battery gives nothing", () => {
    const store = new Battery({ capacityKwh: 10, maxPowerKw: 5 }, 0);
    store.discharge(3);
    expect(store.powerKw).toBe(0);
  });

  test("recharge stops when full", () => {
    const store = new Battery({ capacityKwh: 10, maxPowerKw: 5 }, 0.9);
    store.recharge();
    expect(store.powerKw).toBe(5);
    store.advance(3_600_000);
    expect(store.soc).toBe(1);
    store.recharge();
    expect(store.powerKw).toBe(0);
  });
});

describe("site without battery", () => {
  test("no battery fields by default", async () => {
    const setup = new DrSetup({ stateDir });
    const sample = setup.telemetry();
    expect(sample.batterySoc).toBeUndefined();
    expect(sample.netPowerKw).toBeUndefined();
    expect(battery(sample)).toBeUndefined();
  });

  test("event ack has no battery_kw", async () => {
    const setup = new DrSetup({ stateDir });
    const ack = await setup.send({ op: "event", correlationId: "c", event_id: "e", shed_kw: 100, duration_sec: 60 });
    expect(ack).not.toHaveProperty("battery_kw");
  });
});

describe("site with battery", () => {
  const flags = { batteryCapacity: "10", batteryPower: "4" };

  test("telemetry reports soc and net power", () => {
    const setup = new DrSetup({ stateDir, flags });
    const sample = setup.telemetry();
    expect(sample.batterySoc).toBe(1);
    expect(sample.netPowerKw).toBe(sample.usedPowerKw);
    expect(battery(sample)).toMatchObject({ id: "battery1", type: "battery", capacityKw: 4, currentPowerKw: 0 });
  });

  test("covers what curtailment cannot", async () => {
    const setup = new DrSetup({ stateDir, flags });
    setup.samples(3);
    const ack = await setup.send({ op: "event", correlationId: "c", event_id: "e", shed_kw: 100, duration_sec: 600 });
    expect(ack.battery_kw).toBe(4);
    expect(ack.circuits_curtailed!.some((entry) => entry.id === "battery1")).toBe(false);
    const sample = setup.telemetry();
    expect(battery(sample)!.currentPowerKw).toBe(-4);
    expect(sample.netPowerKw).toBeCloseTo(sample.loads.reduce((sum, load) => sum + load.currentPowerKw, 0), 1);
  });

  test("not used when curtailment suffices", async () => {
    const setup = new DrSetup({ stateDir, flags });
    const ack = await setup.send({ op: "event", correlationId: "c", event_id: "e", shed_kw: 0.5, duration_sec: 600 });
    expect(ack.battery_kw).toBe(0);
    expect(battery(setup.telemetry())!.currentPowerKw).toBe(0);
  });

  test("soc falls during the event", async () => {
    const setup = new DrSetup({ stateDir, flags });
    await setup.send({ op: "event", correlationId: "c", event_id: "e", shed_kw: 100, duration_sec: 3600 });
    setup.telemetry();
    setup.clock.advance(30 * 60_000);
    expect(setup.telemetry().batterySoc).toBeCloseTo(0.8, 2);
  });

  test("recharges after the event", async () => {
    const setup = new DrSetup({ stateDir, flags });
    await setup.send({ op: "event", correlationId: "c", event_id: "e", shed_kw: 100, duration_sec: 600 });
    setup.telemetry();
    setup.clock.advance(600_000);
    const after = setup.telemetry();
    expect(battery(after)!.currentPowerKw).toBe(4);
    setup.clock.advance(600_000);
    expect(setup.telemetry().batterySoc!).toBeGreaterThan(after.batterySoc!);
  });

  test("battery power needs a capacity", () => {
    expect(() => new DrSetup({ stateDir, flags: { batteryPower: "4" } })).toThrow(/battery-capacity/);
  });
});

describe("time scale", () => {
  test("walk runs faster, readings replay", () => {
    const slowClock = new ManualClock();
    const fastClock = new ManualClock();
    const slow = new SiteModel({ seed: 7, panelAmperage: 200, clock: slowClock });
    const fast = new SiteModel({ seed: 7, panelAmperage: 200, clock: fastClock, timeScale: 60 });
    slowClock.advance(600_000);
    fastClock.advance(10_000);
    expect(fast.sample().circuits.map((reading) => reading.powerKw)).toEqual(slow.sample().circuits.map((reading) => reading.powerKw));
  });

  test("timestamps stay in real time", () => {
    const clock = new ManualClock();
    const fast = new SiteModel({ seed: 7, panelAmperage: 200, clock, timeScale: 60 });
    clock.advance(5000);
    expect(fast.sample().timestampMs).toBe(clock.now());
  });

  test("event expiry stays in real time", async () => {
    const setup = new DrSetup({ stateDir, flags: { timeScale: "60" } });
    await setup.send({ op: "event", correlationId: "c", event_id: "e", shed_kw: 1, duration_sec: 60 });
    setup.clock.advance(59_000);
    expect(setup.ownAcks).toHaveLength(0);
    setup.clock.advance(1000);
    expect(setup.ownAcks).toHaveLength(1);
  });
});

describe("setLoad and shedLoad during an event", () => {
  const EVENT = { op: "event", correlationId: "c", event_id: "e", shed_kw: 100, duration_sec: 600 };

  test("switched-on circuit keeps the event limit", async () => {
    const setup = new DrSetup({ stateDir });
    await setup.send(EVENT);
    await setup.send({ op: "setLoad", correlationId: "l-1", data: { loadId: "heater1", enabled: false } });
    await setup.send({ op: "setLoad", correlationId: "l-2", data: { loadId: "heater1", enabled: true } });
    expect(loadKw(setup.telemetry(), "heater1")).toBe(0);
  });

  test("circuit switched on mid-event counts against shed", async () => {
    const setup = new DrSetup({ stateDir });
    setup.samples(3);
    await setup.send({ ...EVENT, shed_kw: 1 });
    const before = setup.telemetry();
    await setup.send({ op: "setLoad", correlationId: "l-3", data: { loadId: "ev1", enabled: true } });
    const after = setup.telemetry();
    expect(after.baselinePowerKw).toBe(before.baselinePowerKw);
    expect(after.usedPowerKw).toBeGreaterThan(before.usedPowerKw);
    expect(after.shedPowerKw).toBe(0);
  });

  test("shedLoad lowers use, not the ack", async () => {
    const setup = new DrSetup({ stateDir });
    setup.samples(3);
    const ack = await setup.send({ ...EVENT, shed_kw: 0.5 });
    const before = setup.telemetry();
    const shed = await setup.send({ op: "shedLoad", correlationId: "l-4", data: { loadId: "dryer1", reduceKw: 1, durationS: 600 } });
    const after = setup.telemetry();
    const achieved = (shed.data as { achieved_kw: number }).achieved_kw;
    expect(achieved).toBeGreaterThan(0);
    expect(after.usedPowerKw).toBeCloseTo(before.usedPowerKw - achieved, 1);
    expect(after.shedPowerKw).toBeCloseTo(Math.max(0, after.baselinePowerKw - after.usedPowerKw), 2);
    expect(setup.dr.events.event?.result?.achievedKw).toBe(ack.actual_shed_kw!);
  });

  test("shedLoad outlives the event", async () => {
    const setup = new DrSetup({ stateDir });
    await setup.send({ ...EVENT, duration_sec: 60 });
    await setup.send({ op: "shedLoad", correlationId: "l-5", data: { loadId: "heater1", reduceKw: 100, durationS: 120 } });
    setup.clock.advance(60_000);
    expect(setup.telemetry().eventId).toBeNull();
    expect(loadKw(setup.telemetry(), "heater1")).toBe(0);
  });
});
