import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DR_VEN_ID, DrSetup } from "../helpers/demand-response.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), "utf8")) as Record<string, unknown>;
}

const CIRCUIT_KEYS = ["breaker_amps", "critical", "curtailed_kw", "final_kw", "id", "name", "original_kw"];

let stateDir: string;
let setup: DrSetup;

beforeEach(async () => {
  stateDir = await makeTempDir("ven-dr-ops-");
  setup = new DrSetup({ stateDir });
  setup.samples(3);
});

afterEach(async () => {
  await removeTempDir(stateDir);
});

describe("event op", () => {
  test("fixture event is accepted", async () => {
    const ack = await setup.send(fixture("command-event"));
    const expected = fixture("ack-event");
    expect(ack.status).toBe("accepted");
    expect(ack.op).toBe(expected.op as string);
    expect(ack.event_id).toBe(expected.event_id as string);
    expect(ack.correlationId).toBe(expected.correlationId as string);
    expect(ack.requested_shed_kw).toBe(5);
    expect(ack.actual_shed_kw).toBeGreaterThan(0);
  });

  test("circuit entries have exactly seven keys", async () => {
    const ack = await setup.send(fixture("command-event"));
    expect(ack.circuits_curtailed!.length).toBeGreaterThan(0);
    for (const entry of ack.circuits_curtailed!) expect(Object.keys(entry).sort()).toEqual(CIRCUIT_KEYS);
  });

  test("fixture keys match our ack keys", async () => {
    const ack = await setup.send(fixture("command-event"));
    const expectedEntry = (fixture("ack-event").circuits_curtailed as Record<string, unknown>[])[0]!;
    expect(Object.keys(ack.circuits_curtailed![0]!).sort()).toEqual(Object.keys(expectedEntry).sort());
  });

  test("legacy shedPanel uses correlationId", async () => {
    const ack = await setup.send(fixture("command-shedPanel-legacy"));
    expect(ack.status).toBe("accepted");
    expect(ack.op).toBe("shedPanel");
    expect(ack.event_id).toBe("legacy-17");
    expect(ack.requested_shed_kw).toBe(2.5);
    expect(setup.dr.events.event?.durationS).toBe(600);
  });

  test.each([
    ["shed_kw", { shed_kw: 3 }],
    ["data.requestedReductionKw", { data: { requestedReductionKw: 3 } }],
    ["requestedReductionKw", { requestedReductionKw: 3 }],
    ["data.amountKw", { data: { amountKw: 3 } }],
  ])("kW from %s", async (_name, fields) => {
    const ack = await setup.send({ op: "event", correlationId: "kw", event_id: "e-kw", duration_sec: 60, ...fields });
    expect(ack.status).toBe("accepted");
    expect(ack.requested_shed_kw).toBe(3);
  });

  test.each([
    ["duration_sec", { duration_sec: 120 }],
    ["data.duration_s", { data: { duration_s: 120 } }],
    ["duration_s", { duration_s: 120 }],
    ["data.durationS", { data: { durationS: 120 } }],
  ])("duration from %s", async (_name, fields) => {
    const ack = await setup.send({ op: "event", correlationId: "d", event_id: "e-d", shed_kw: 1, ...fields });
    expect(ack.status).toBe("accepted");
    expect(setup.dr.events.event?.durationS).toBe(120);
  });

  test.each([
    ["event_id", { event_id: "x-1" }, "x-1"],
    ["data.event_id", { data: { event_id: "x-2" } }, "x-2"],
    ["eventId", { eventId: "x-3" }, "x-3"],
    ["numeric event_id", { event_id: 77 }, 77],
    ["correlationId", {}, "corr-id"],
  ])("event id from %s", async (_name, fields, expected) => {
    const ack = await setup.send({ op: "event", correlationId: "corr-id", shed_kw: 1, duration_sec: 60, ...fields });
    expect(ack.event_id).toBe(expected);
    expect(setup.dr.events.event?.eventId).toBe(expected);
  });

  test("fixture rejection: zero duration", async () => {
    const ack = await setup.send({ op: "event", correlationId: "evt-bad-1", shed_kw: 5, duration_sec: 0 });
    const expected = fixture("ack-rejected");
    expect(ack.status).toBe("rejected");
    expect(ack.error?.code).toBe((expected.error as { code: string }).code);
    expect(ack.event_id).toBe(expected.event_id as string);
    expect(ack.error?.message).toContain("duration_sec");
    expect(ack.error?.message).toContain("got 0");
  });

  test.each([
    ["zero kW", { shed_kw: 0, duration_sec: 60 }, "shed_kw must be a number of kW above 0; got 0"],
    ["negative kW", { shed_kw: -2, duration_sec: 60 }, "shed_kw must be a number of kW above 0; got -2"],
    ["string kW", { shed_kw: "5", duration_sec: 60 }, 'shed_kw must be a number of kW above 0; got "5"'],
    ["null kW", { shed_kw: null, duration_sec: 60 }, "shed_kw must be a number of kW above 0; got null"],
    ["zero data kW", { data: { amountKw: 0 }, requestedReductionKw: 4, duration_sec: 60 }, "data.amountKw must be a number of kW above 0; got 0"],
    ["short duration", { shed_kw: 1, duration_s: 0.5 }, "duration_s must be a number of seconds from 1 to 604800; got 0.5"],
    ["negative randomize", { shed_kw: 1, duration_sec: 60, randomize_s: -1 }, "randomize_s must be a number of seconds from 0 to 86400; got -1"],
    ["zero start_ts", { shed_kw: 1, duration_sec: 60, start_ts: 0 }, "start_ts must be whole Unix seconds above 0; got 0"],
    ["empty event_id", { shed_kw: 1, duration_sec: 60, event_id: "" }, 'event_id must be a non-empty string or a number; got ""'],
  ])("rejects %s", async (_name, fields, message) => {
    const ack = await setup.send({ op: "event", correlationId: "bad", ...fields });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.code).toBe("invalid_command");
    expect(ack.error?.message).toContain(message);
  });

  test("present zero never falls through", async () => {
    const ack = await setup.send({ op: "event", correlationId: "zero", shed_kw: 0, data: { requestedReductionKw: 5 }, duration_sec: 60 });
    expect(ack.status).toBe("rejected");
    expect(setup.dr.events.event).toBeUndefined();
  });

  test("missing duration is rejected", async () => {
    const ack = await setup.send({ op: "event", correlationId: "nodur", shed_kw: 2 });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.message).toContain("duration_sec is missing");
    expect(ack.error?.message).toContain("data.durationS");
    expect(ack.event_id).toBe("nodur");
  });

  test("missing kW is rejected", async () => {
    const ack = await setup.send({ op: "event", correlationId: "nokw", event_id: "e-1", duration_sec: 60 });
    expect(ack.error?.message).toContain("shed_kw is missing");
    expect(ack.event_id).toBe("e-1");
  });

  test.each([
    ["kW", { shed_kw: 5, data: { requestedReductionKw: 4 }, duration_sec: 60 }, "shed_kw is 5 but data.requestedReductionKw is 4"],
    ["duration", { shed_kw: 5, duration_sec: 60, data: { duration_s: 90 } }, "duration_sec is 60 but data.duration_s is 90"],
    ["event id", { shed_kw: 5, duration_sec: 60, event_id: "a", data: { event_id: "b" } }, 'event_id is "a" but data.event_id is "b"'],
    ["start", { shed_kw: 5, duration_sec: 60, start_ts: 1764850000, data: { start_ts: 1764850001 } }, "start_ts is 1764850000 but data.start_ts is 1764850001"],
  ])("ambiguous %s is rejected", async (_name, fields, message) => {
    const ack = await setup.send({ op: "event", correlationId: "amb", ...fields });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.message).toContain("ambiguous");
    expect(ack.error?.message).toContain(message);
  });

  test("ambiguous event id still echoes one", async () => {
    const ack = await setup.send({ op: "event", correlationId: "amb", shed_kw: 5, duration_sec: 60, event_id: "a", data: { event_id: "b" } });
    expect(ack.event_id).toBe("a");
  });

  test("agreeing variants are fine", async () => {
    const ack = await setup.send({ op: "event", correlationId: "agree", shed_kw: 5, data: { requestedReductionKw: 5.0, duration_s: 60 }, duration_sec: 60 });
    expect(ack.status).toBe("accepted");
  });

  test("other venId is rejected", async () => {
    const ack = await setup.send({ op: "event", venId: "ven-other", correlationId: "w", event_id: "e-w", shed_kw: 1, duration_sec: 60 });
    expect(ack.error?.code).toBe("wrong_ven");
    expect(ack.event_id).toBe("e-w");
    expect(setup.dr.events.event).toBeUndefined();
  });
});

describe("restore op", () => {
  test("fixture restore ends the event", async () => {
    await setup.send(fixture("command-event"));
    const ack = await setup.send(fixture("command-restore"));
    expect(ack.status).toBe("success");
    expect(ack.event_id).toBe("evt-7c1e20aa");
    expect(ack.reason).toBe("restored");
    expect(setup.dr.events.event).toBeUndefined();
  });

  test("nothing active: already_ended", async () => {
    const ack = await setup.send({ op: "restore", correlationId: "r-0" });
    expect(ack.status).toBe("success");
    expect(ack.reason).toBe("already_ended");
  });

  test("unknown id is rejected", async () => {
    const ack = await setup.send({ op: "restore", correlationId: "r-1", event_id: "never-seen" });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.code).toBe("unknown_event");
    expect(ack.event_id).toBe("never-seen");
  });

  test("ended id: already_ended", async () => {
    await setup.send({ op: "event", correlationId: "c-1", event_id: "e-1", shed_kw: 1, duration_sec: 60 });
    await setup.send({ op: "restore", correlationId: "r-2", event_id: "e-1" });
    const ack = await setup.send({ op: "restore", correlationId: "r-3", event_id: "e-1" });
    expect(ack.status).toBe("success");
    expect(ack.reason).toBe("already_ended");
    expect(ack.event_id).toBe("e-1");
  });

  test("other id leaves the event", async () => {
    await setup.send({ op: "event", correlationId: "c-1", event_id: "e-1", shed_kw: 1, duration_sec: 60 });
    const ack = await setup.send({ op: "restore", correlationId: "r-4", event_id: "e-2" });
    expect(ack.status).toBe("rejected");
    expect(setup.dr.events.event?.eventId).toBe("e-1");
  });

  test("ambiguous id is rejected", async () => {
    const ack = await setup.send({ op: "restore", correlationId: "r-5", event_id: "a", eventId: "b" });
    expect(ack.error?.message).toContain("ambiguous");
  });
});

describe("get op", () => {
  test.each(["status", "config", "loads"])("get %s answers in data", async (what) => {
    const ack = await setup.send({ op: "get", correlationId: `g-${what}`, data: { what } });
    expect(ack.status).toBe("success");
    expect(ack.data?.what).toBe(what);
  });

  test("loads lists every circuit", async () => {
    const ack = await setup.send({ op: "get", correlationId: "g-1", data: { what: "loads" } });
    const loads = ack.data?.loads as { id: string }[];
    expect(loads.map((load) => load.id)).toEqual(setup.dr.site.circuitIds());
  });

  test("config reports the interval", async () => {
    const ack = await setup.send({ op: "get", correlationId: "g-2", data: { what: "config" } });
    expect(ack.data?.report_interval_seconds).toBe(5);
    expect(ack.data?.panel_amperage).toBe(200);
  });

  test("status reports the event", async () => {
    await setup.send({ op: "event", correlationId: "c-1", event_id: "e-1", shed_kw: 1, duration_sec: 60 });
    const ack = await setup.send({ op: "get", correlationId: "g-3", data: { what: "status" } });
    expect((ack.data?.event as { event_id: string }).event_id).toBe("e-1");
    expect(ack.data?.venId).toBe(DR_VEN_ID);
  });

  test.each([
    ["unknown target", { what: "weather" }, 'data.what must be "status", "config" or "loads"; got "weather"'],
    ["missing what", {}, "data.what is missing"],
  ])("get rejects %s", async (_name, data, message) => {
    const ack = await setup.send({ op: "get", correlationId: "g-bad", data });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.message).toContain(message);
  });
});

describe("set op", () => {
  test("fixture setConfig applies interval", async () => {
    const ack = await setup.send(fixture("command-setConfig"));
    expect(ack.status).toBe("success");
    expect(ack.data?.applied).toEqual({ report_interval_seconds: 10 });
    expect(setup.intervalS).toBe(10);
  });

  test("set applies panel amperage", async () => {
    const ack = await setup.send({ op: "set", correlationId: "s-1", data: { panel_amperage: 100 } });
    expect(ack.data?.applied).toEqual({ panel_amperage: 100 });
    expect(setup.dr.site.amperage).toBe(100);
  });

  test.each([
    ["interval 0", { report_interval_seconds: 0 }, "data.report_interval_seconds must be whole seconds from 1 to 55; got 0"],
    ["interval 56", { report_interval_seconds: 56 }, "got 56"],
    ["interval 2.5", { report_interval_seconds: 2.5 }, "got 2.5"],
    ["amperage 120", { panel_amperage: 120 }, "data.panel_amperage must be 100, 150 or 200 (A); got 120"],
    ["other key", { report_interval_seconds: 5, colour: "red" }, "data.colour is not a setting this VEN accepts"],
    ["empty data", {}, "data must contain report_interval_seconds or panel_amperage"],
  ])("set rejects %s", async (_name, data, message) => {
    const ack = await setup.send({ op: "setConfig", correlationId: "s-bad", data });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.message).toContain(message);
    expect(setup.intervalS).toBe(5);
  });

  test("rejected set applies nothing", async () => {
    await setup.send({ op: "set", correlationId: "s-2", data: { report_interval_seconds: 9, panel_amperage: 120 } });
    expect(setup.intervalS).toBe(5);
    expect(setup.dr.site.amperage).toBe(200);
  });
});

describe("setLoad and shedLoad ops", () => {
  test("fixture setLoad enables ev1", async () => {
    const ack = await setup.send(fixture("command-setLoad"));
    expect(ack.status).toBe("success");
    const ev = setup.telemetry().loads.find((load) => load.id === "ev1");
    expect(ev?.enabled).toBe(true);
    expect(ev?.currentPowerKw).toBeGreaterThan(0);
  });

  test("unknown loadId lists known ids", async () => {
    const ack = await setup.send({ op: "setLoad", correlationId: "l-1", data: { loadId: "pool1", enabled: false } });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.code).toBe("unknown_load");
    expect(ack.error?.message).toContain("hvac1, heater1, ev1, dryer1, range1, lights1, outlets1, fridge1");
  });

  test("setLoad needs a boolean", async () => {
    const ack = await setup.send({ op: "setLoad", correlationId: "l-2", data: { loadId: "ev1", enabled: "yes" } });
    expect(ack.error?.message).toContain('data.enabled must be true or false; got "yes"');
  });

  test("shedLoad limits one circuit", async () => {
    const before = setup.telemetry().loads.find((load) => load.id === "heater1")!.currentPowerKw;
    const ack = await setup.send({ op: "shedLoad", correlationId: "l-3", data: { loadId: "heater1", reduceKw: 1, durationS: 60 } });
    expect(ack.status).toBe("accepted");
    const after = setup.telemetry().loads.find((load) => load.id === "heater1")!.currentPowerKw;
    expect(after).toBeCloseTo(before - 1, 1);
  });

  test("shedLoad ends after its duration", async () => {
    await setup.send({ op: "shedLoad", correlationId: "l-4", data: { loadId: "heater1", reduceKw: 100, durationS: 30 } });
    expect(setup.telemetry().loads.find((load) => load.id === "heater1")!.currentPowerKw).toBe(0);
    setup.clock.advance(31_000);
    expect(setup.telemetry().loads.find((load) => load.id === "heater1")!.currentPowerKw).toBeGreaterThan(0);
  });

  test("shedLoad refuses critical circuits", async () => {
    const ack = await setup.send({ op: "shedLoad", correlationId: "l-5", data: { loadId: "hvac1", reduceKw: 1, durationS: 60 } });
    expect(ack.status).toBe("rejected");
    expect(ack.error?.message).toContain("critical");
  });

  test.each([
    ["zero kW", { loadId: "heater1", reduceKw: 0, durationS: 60 }, "data.reduceKw must be a number of kW above 0; got 0"],
    ["no duration", { loadId: "heater1", reduceKw: 1 }, "data.durationS is missing"],
    ["no loadId", { reduceKw: 1, durationS: 60 }, "data.loadId is missing"],
  ])("shedLoad rejects %s", async (_name, data, message) => {
    const ack = await setup.send({ op: "shedLoad", correlationId: "l-bad", data });
    expect(ack.error?.message).toContain(message);
  });

  test("shedLoad unknown loadId", async () => {
    const ack = await setup.send({ op: "shedLoad", correlationId: "l-6", data: { loadId: "pool1", reduceKw: 1, durationS: 60 } });
    expect(ack.error?.code).toBe("unknown_load");
  });
});

describe("other ops", () => {
  test("ping still answers", async () => {
    expect((await setup.send(fixture("command-ping"))).status).toBe("success");
  });

  test("unknown op lists supported ops", async () => {
    const ack = await setup.send({ op: "dance", correlationId: "o-1" });
    expect(ack.error?.code).toBe("unsupported_op");
    expect(ack.error?.message).toContain("ping, event, shedPanel, restore, get, set, setConfig, setLoad, shedLoad");
  });
});
