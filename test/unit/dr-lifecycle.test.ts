import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Telemetry } from "../../src/protocol/telemetry.ts";
import { ManualClock } from "../helpers/clock.ts";
import { DrSetup, sequenceRandom } from "../helpers/demand-response.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), "utf8")) as Record<string, unknown>;
}

function loadKw(telemetry: Telemetry, id: string): number {
  return telemetry.loads.find((load) => load.id === id)!.currentPowerKw;
}

const EVENT = { op: "event", correlationId: "c-1", event_id: "e-1", shed_kw: 5, duration_sec: 600 };

let stateDir: string;
let setup: DrSetup;

beforeEach(async () => {
  stateDir = await makeTempDir("ven-dr-life-");
  setup = new DrSetup({ stateDir });
  setup.dr.start();
});

afterEach(async () => {
  setup.dr.stop();
  await removeTempDir(stateDir);
});

describe("event start", () => {
  test("telemetry reports the event", async () => {
    setup.samples(6);
    await setup.send(EVENT);
    const sample = setup.telemetry();
    expect(sample.eventId).toBe("e-1");
    expect(sample.requestedReductionKw).toBe(5);
    expect(sample.shedPowerKw).toBeCloseTo(Math.max(0, sample.baselinePowerKw - sample.usedPowerKw), 2);
    expect(sample.shed_kw).toBe(sample.shedPowerKw);
  });

  test("baseline is the pre-event mean", async () => {
    const before = setup.samples(6);
    await setup.send(EVENT);
    const mean = before.reduce((sum, sample) => sum + sample.usedPowerKw, 0) / before.length;
    expect(setup.telemetry().baselinePowerKw).toBeCloseTo(mean, 1);
  });

  test("baseline uses only the window", async () => {
    const early = setup.samples(120); // ten minutes of samples
    await setup.send(EVENT);
    // The default window is 300 s: the samples of the last five minutes, taken every 5 s.
    const recent = early.slice(-61);
    const mean = recent.reduce((sum, sample) => sum + sample.usedPowerKw, 0) / recent.length;
    expect(setup.telemetry().baselinePowerKw).toBeCloseTo(mean, 1);
  });

  test("no samples: baseline from present draw", async () => {
    await setup.send(EVENT);
    const sample = setup.telemetry();
    expect(sample.baselinePowerKw).toBeGreaterThan(sample.usedPowerKw);
  });

  test("use drops by the acked shed", async () => {
    const before = setup.samples(6);
    const ack = await setup.send(EVENT);
    const during = setup.telemetry();
    expect(before.at(-1)!.usedPowerKw - during.usedPowerKw).toBeCloseTo(ack.actual_shed_kw!, 0);
  });

  test("curtailment follows the contract order", async () => {
    setup.samples(2);
    const ack = await setup.send({ ...EVENT, shed_kw: 100 });
    const ids = ack.circuits_curtailed!.map((entry) => entry.id);
    // ev1 is off by default, so it draws nothing to shed.
    expect(ids).toEqual(["heater1", "dryer1", "range1", "outlets1", "lights1"]);
  });

  test("shares cap each circuit", async () => {
    setup.samples(2);
    const ack = await setup.send({ ...EVENT, shed_kw: 100 });
    const shares: Record<string, number> = { heater1: 1, dryer1: 1, range1: 0.8, outlets1: 0.7, lights1: 0.5 };
    for (const entry of ack.circuits_curtailed!) {
      expect(entry.curtailed_kw).toBeCloseTo(entry.original_kw * shares[entry.id]!, 1);
      expect(entry.final_kw).toBeCloseTo(entry.original_kw - entry.curtailed_kw, 1);
    }
  });

  test("partial fulfilment is accepted", async () => {
    const ack = await setup.send({ ...EVENT, shed_kw: 100 });
    expect(ack.status).toBe("accepted");
    expect(ack.actual_shed_kw!).toBeLessThan(100);
    expect(ack.actual_shed_kw!).toBeGreaterThan(0);
  });

  test("critical circuits are never touched", async () => {
    const before = setup.telemetry();
    const ack = await setup.send({ ...EVENT, shed_kw: 100 });
    expect(ack.circuits_curtailed!.some((entry) => entry.critical)).toBe(false);
    const during = setup.telemetry();
    expect(loadKw(during, "hvac1")).toBe(loadKw(before, "hvac1"));
    expect(loadKw(during, "fridge1")).toBe(loadKw(before, "fridge1"));
  });

  test("stops once the request is met", async () => {
    const ack = await setup.send({ ...EVENT, shed_kw: 0.5 });
    expect(ack.circuits_curtailed).toHaveLength(1);
    expect(ack.circuits_curtailed![0]!.id).toBe("heater1");
    expect(ack.actual_shed_kw).toBe(0.5);
  });

  test("curtailed circuits stay, others move", async () => {
    await setup.send({ ...EVENT, shed_kw: 100 });
    const during = setup.samples(30);
    for (const sample of during) expect(loadKw(sample, "heater1")).toBe(0);
    const hvac = new Set(during.map((sample) => loadKw(sample, "hvac1")));
    expect(hvac.size).toBeGreaterThan(1);
    for (const sample of during) expect(sample.eventId).toBe("e-1");
  });

  test("one second is a valid duration", async () => {
    const ack = await setup.send({ ...EVENT, duration_sec: 1 });
    expect(ack.status).toBe("accepted");
    setup.clock.advance(1000);
    expect(setup.ownAcks.map((own) => own.reason)).toEqual(["expired"]);
  });
});

describe("event replacement and repeats", () => {
  test("second event replaces the first", async () => {
    await setup.send({ ...EVENT, shed_kw: 2 });
    const second = await setup.send({ ...EVENT, correlationId: "c-2", event_id: "e-2", shed_kw: 3 });
    expect(setup.dr.events.event?.eventId).toBe("e-2");
    expect(second.requested_shed_kw).toBe(3);
  });

  test("replacement starts from uncurtailed state", async () => {
    const first = await setup.send({ ...EVENT, shed_kw: 2 });
    const second = await setup.send({ ...EVENT, correlationId: "c-2", event_id: "e-2", shed_kw: 2 });
    expect(second.circuits_curtailed).toEqual(first.circuits_curtailed!);
  });

  test("replaced event gets a restore ack", async () => {
    await setup.send(EVENT);
    await setup.send({ ...EVENT, correlationId: "c-2", event_id: "e-2" });
    expect(setup.ownAcks).toHaveLength(1);
    expect(setup.ownAcks[0]).toMatchObject({ op: "restore", event_id: "e-1", reason: "replaced", correlationId: null });
  });

  test("same id and request: original result", async () => {
    const first = await setup.send(EVENT);
    setup.samples(3);
    const again = await setup.send({ ...EVENT, correlationId: "c-resent" });
    expect(again.circuits_curtailed).toEqual(first.circuits_curtailed!);
    expect(again.actual_shed_kw).toBe(first.actual_shed_kw!);
    expect(again.correlationId).toBe("c-resent");
    expect(setup.logs.filter((line) => line.includes("Event \"e-1\" started")).length).toBe(1);
  });

  test("same id, new request replaces", async () => {
    await setup.send(EVENT);
    const changed = await setup.send({ ...EVENT, correlationId: "c-3", shed_kw: 1 });
    expect(changed.requested_shed_kw).toBe(1);
    expect(setup.dr.events.event?.requestedKw).toBe(1);
    expect(setup.ownAcks).toHaveLength(0);
  });

  test("same correlationId: same ack, once", async () => {
    const first = await setup.send(EVENT);
    setup.clock.advance(5000);
    const again = await setup.send({ ...EVENT, shed_kw: 1 });
    expect(again).toEqual(first);
    expect(setup.dr.events.event?.requestedKw).toBe(5);
  });

  test("same correlationId after window acts", async () => {
    await setup.send(EVENT);
    setup.clock.advance(3601 * 1000);
    const later = await setup.send({ ...EVENT, event_id: "e-9" });
    expect(later.event_id).toBe("e-9");
  });
});

describe("scheduled events", () => {
  const startTs = () => Math.floor(setup.clock.now() / 1000) + 120;

  test("future start_ts schedules", async () => {
    const start = startTs();
    const ack = await setup.send({ ...EVENT, start_ts: start });
    expect(ack.status).toBe("accepted");
    expect(ack.scheduled).toBe(true);
    expect(ack.start_ts).toBe(start);
    expect(setup.telemetry().eventId).toBeNull();
  });

  test("scheduled event starts on time", async () => {
    const start = startTs();
    await setup.send({ ...EVENT, start_ts: start });
    setup.clock.advance(119_000);
    expect(setup.telemetry().eventId).toBeNull();
    setup.clock.advance(1000);
    expect(setup.telemetry().eventId).toBe("e-1");
    expect(setup.dr.events.event?.phase).toBe("active");
  });

  test("scheduled event ends after its duration", async () => {
    await setup.send({ ...EVENT, start_ts: startTs(), duration_sec: 60 });
    setup.clock.advance(179_000);
    expect(setup.ownAcks).toHaveLength(0);
    setup.clock.advance(1000);
    expect(setup.ownAcks[0]?.reason).toBe("expired");
  });

  test("randomize_s delays the start", async () => {
    const random = new DrSetup({ stateDir, random: sequenceRandom([0.25]) });
    const ack = await random.send({ ...EVENT, randomize_s: 200 });
    expect(ack.scheduled).toBe(true);
    expect(ack.start_ts).toBe(Math.floor(random.clock.now() / 1000) + 50);
    random.clock.advance(49_000);
    expect(random.telemetry().eventId).toBeNull();
    random.clock.advance(1000);
    expect(random.telemetry().eventId).toBe("e-1");
  });

  test("randomize_s 0 starts at once", async () => {
    const ack = await setup.send({ ...EVENT, randomize_s: 0 });
    expect(ack.scheduled).toBeUndefined();
    expect(setup.telemetry().eventId).toBe("e-1");
  });

  test("restore cancels a scheduled event", async () => {
    await setup.send({ ...EVENT, start_ts: startTs() });
    const ack = await setup.send({ op: "restore", correlationId: "r-1", event_id: "e-1" });
    expect(ack.reason).toBe("cancelled");
    setup.clock.advance(200_000);
    expect(setup.telemetry().eventId).toBeNull();
  });

  test("new event replaces a scheduled one", async () => {
    await setup.send({ ...EVENT, start_ts: startTs() });
    await setup.send({ ...EVENT, correlationId: "c-2", event_id: "e-2" });
    expect(setup.telemetry().eventId).toBe("e-2");
    setup.clock.advance(200_000);
    expect(setup.telemetry().eventId).toBe("e-2");
  });

  test("past start still running starts now", async () => {
    const ack = await setup.send({ ...EVENT, start_ts: Math.floor(setup.clock.now() / 1000) - 100 });
    expect(ack.status).toBe("accepted");
    expect(ack.end_ts).toBe(Math.floor(setup.clock.now() / 1000) + 500);
  });

  test("event already over is rejected", async () => {
    const ack = await setup.send({ ...EVENT, start_ts: Math.floor(setup.clock.now() / 1000) - 700 });
    expect(ack.status).toBe("rejected");
    expect(ack.event_id).toBe("e-1");
  });
});

describe("event end", () => {
  test("expiry publishes the expired ack", async () => {
    await setup.send(fixture("command-event"));
    setup.clock.advance(900_000);
    const expected = fixture("ack-restore-expired");
    expect(setup.ownAcks).toHaveLength(1);
    const own = setup.ownAcks[0]!;
    expect({ ...own, ts: 0, timestamp: 0 }).toEqual({ ...expected, ts: 0, timestamp: 0 } as typeof own);
  });

  test("expiry restores the site", async () => {
    await setup.send({ ...EVENT, shed_kw: 100 });
    expect(loadKw(setup.telemetry(), "heater1")).toBe(0);
    setup.clock.advance(600_000);
    const after = setup.telemetry();
    expect(loadKw(after, "heater1")).toBeGreaterThan(0);
    expect(after.eventId).toBeNull();
    expect(after.shedPowerKw).toBe(0);
  });

  test("correlationId id expires with it", async () => {
    await setup.send({ op: "event", correlationId: "corr-7", shed_kw: 1, duration_sec: 10 });
    setup.clock.advance(10_000);
    expect(setup.ownAcks[0]?.event_id).toBe("corr-7");
  });

  test("restore after expiry: already_ended", async () => {
    await setup.send({ ...EVENT, duration_sec: 10 });
    setup.clock.advance(10_000);
    const ack = await setup.send({ op: "restore", correlationId: "r-1", event_id: "e-1" });
    expect(ack.reason).toBe("already_ended");
  });

  test("restore without id ends the event", async () => {
    await setup.send(EVENT);
    const ack = await setup.send({ op: "restore", correlationId: "r-2" });
    expect(ack.event_id).toBe("e-1");
    expect(ack.reason).toBe("restored");
    setup.clock.advance(700_000);
    expect(setup.ownAcks).toHaveLength(0);
  });
});

describe("restart", () => {
  function restartAt(clock: ManualClock): DrSetup {
    setup.dr.stop();
    const next = new DrSetup({ stateDir, clock });
    next.dr.start();
    return next;
  }

  test("running event is resumed", async () => {
    await setup.send({ ...EVENT, shed_kw: 100 });
    const later = restartAt(new ManualClock(setup.clock.now() + 60_000));
    const sample = later.telemetry();
    expect(sample.eventId).toBe("e-1");
    expect(loadKw(sample, "heater1")).toBe(0);
    later.clock.advance(540_000);
    expect(later.ownAcks.map((own) => own.reason)).toEqual(["expired"]);
    expect(later.telemetry().eventId).toBeNull();
  });

  test("ended meanwhile: expired ack", async () => {
    await setup.send(EVENT);
    const later = restartAt(new ManualClock(setup.clock.now() + 3_600_000));
    expect(later.ownAcks).toHaveLength(1);
    expect(later.ownAcks[0]).toMatchObject({ op: "restore", reason: "expired", event_id: "e-1", correlationId: null });
    expect(later.telemetry().eventId).toBeNull();
  });

  test("scheduled event survives restart", async () => {
    await setup.send({ ...EVENT, start_ts: Math.floor(setup.clock.now() / 1000) + 120 });
    const later = restartAt(new ManualClock(setup.clock.now() + 60_000));
    expect(later.telemetry().eventId).toBeNull();
    later.clock.advance(60_000);
    expect(later.telemetry().eventId).toBe("e-1");
  });

  test("repeat after restart: original result", async () => {
    const first = await setup.send(EVENT);
    const later = restartAt(new ManualClock(setup.clock.now() + 60_000));
    const again = await later.send({ ...EVENT, correlationId: "c-resent" });
    expect(again.circuits_curtailed).toEqual(first.circuits_curtailed!);
    expect(later.logs.some((line) => line.includes("started"))).toBe(false);
  });

  test("correlationId remembered across restart", async () => {
    const first = await setup.send(EVENT);
    const later = restartAt(new ManualClock(setup.clock.now() + 60_000));
    expect(await later.send({ ...EVENT, shed_kw: 1 })).toEqual(first);
    expect(later.dr.events.event?.requestedKw).toBe(5);
  });

  test("restore after restart: already_ended", async () => {
    await setup.send({ ...EVENT, duration_sec: 10 });
    setup.clock.advance(10_000);
    const later = restartAt(new ManualClock(setup.clock.now() + 60_000));
    const ack = await later.send({ op: "restore", correlationId: "r-9", event_id: "e-1" });
    expect(ack.reason).toBe("already_ended");
  });

  test("damaged state file is set aside", async () => {
    await Bun.write(`${stateDir}/event.json`, "{not json");
    const later = restartAt(new ManualClock(setup.clock.now()));
    expect(later.telemetry().eventId).toBeNull();
    expect(later.logs.some((line) => line.includes("is damaged"))).toBe(true);
  });
});
