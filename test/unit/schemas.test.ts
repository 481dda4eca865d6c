import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { AckSchema } from "../../src/protocol/acks.ts";
import { CommandEnvelopeSchema } from "../../src/protocol/commands.ts";
import { formatIssues } from "../../src/protocol/schema-helpers.ts";
import { StatusSchema } from "../../src/protocol/status.ts";
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";

type Json = Record<string, any>;

/** Reads a fresh copy of a fixture from test/fixtures, so each test may change it freely. */
function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), "utf8")) as Json;
}

/** Lists the dot path of every issue, empty when the value is valid. */
function issuePaths(schema: v.GenericSchema, value: unknown): string[] {
  const result = v.safeParse(schema, value);
  return result.success ? [] : result.issues.map((issue) => v.getDotPath(issue) ?? "");
}

function problems(schema: v.GenericSchema, value: unknown): string {
  const result = v.safeParse(schema, value);
  return result.success ? "" : formatIssues(result.issues);
}

describe("fixtures", () => {
  test.each([
    ["telemetry", TelemetrySchema],
    ["telemetry-during-event", TelemetrySchema],
    ["ack-ping", AckSchema],
    ["ack-event", AckSchema],
    ["ack-rejected", AckSchema],
    ["ack-restore-expired", AckSchema],
    ["status-online", StatusSchema],
    ["status-offline", StatusSchema],
    ["command-ping", CommandEnvelopeSchema],
    ["command-event", CommandEnvelopeSchema],
    ["command-restore", CommandEnvelopeSchema],
    ["command-setConfig", CommandEnvelopeSchema],
    ["command-setLoad", CommandEnvelopeSchema],
    ["command-shedPanel-legacy", CommandEnvelopeSchema],
  ] as const)("%s is valid", (name, schema) => {
    expect(problems(schema, fixture(name))).toBe("");
  });
});

describe("TelemetrySchema", () => {
  // Each change breaks one rule of the backend, which drops the whole message.
  const breakages: [string, (message: Json) => void, string][] = [
    ["timestamp in milliseconds", (m) => (m.timestamp = m.timestamp * 1000), "timestamp"],
    ["timestamp as numeric string", (m) => (m.timestamp = String(m.timestamp)), "timestamp"],
    ["ts without timestamp", (m) => delete m.timestamp, "timestamp"],
    ["venId as number", (m) => (m.venId = 42), "venId"],
    [
      "load keyed loadId",
      (m) => {
        m.loads[0].loadId = m.loads[0].id;
        delete m.loads[0].id;
      },
      "loads.0.id",
    ],
    ["panelVoltage 239.5", (m) => (m.panelVoltage = 239.5), "panelVoltage"],
    ["priority 1.5", (m) => (m.loads[1].priority = 1.5), "loads.1.priority"],
    ["loads null", (m) => (m.loads = null), "loads"],
    ["negative usedPowerKw", (m) => (m.usedPowerKw = -0.5), "usedPowerKw"],
  ];

  test.each(breakages)("rejects %s", (_name, breakIt, path) => {
    const message = fixture("telemetry");
    breakIt(message);
    expect(issuePaths(TelemetrySchema, message)).toContain(path);
  });

  test("rejects unknown load key", () => {
    const message = fixture("telemetry");
    message.loads[0].loadId = "hvac1";
    expect(issuePaths(TelemetrySchema, message)).toContain("loads.0.loadId");
  });

  test("accepts empty loads", () => {
    const message = fixture("telemetry");
    message.loads = [];
    expect(problems(TelemetrySchema, message)).toBe("");
  });

  test("accepts unknown top-level fields", () => {
    const message = fixture("telemetry");
    message.firmware = "2.1";
    expect(problems(TelemetrySchema, message)).toBe("");
  });

  test("accepts negative load power", () => {
    const message = fixture("telemetry");
    message.loads[0].currentPowerKw = -3.2;
    expect(problems(TelemetrySchema, message)).toBe("");
  });
});

describe("AckSchema", () => {
  const breakages: [string, string, (ack: Json) => void][] = [
    ["rejected without error", "ack-rejected", (a) => delete a.error],
    ["success with error", "ack-ping", (a) => (a.error = { code: "internal_error", message: "x" })],
    ["ok false on success", "ack-ping", (a) => (a.ok = false)],
    ["ok true on rejected", "ack-rejected", (a) => (a.ok = true)],
    ["event_id null", "ack-event", (a) => (a.event_id = null)],
    ["extra key in circuits_curtailed", "ack-event", (a) => (a.circuits_curtailed[0].extra = 1)],
    ["missing key in circuits_curtailed", "ack-event", (a) => delete a.circuits_curtailed[0].breaker_amps],
    ["ts unlike timestamp", "ack-ping", (a) => (a.ts = a.timestamp + 1)],
    ["unknown status", "ack-ping", (a) => (a.status = "done")],
    ["timestamp in milliseconds", "ack-ping", (a) => (a.ts = a.timestamp = a.timestamp * 1000)],
  ];

  test.each(breakages)("rejects %s", (_name, name, breakIt) => {
    const ack = fixture(name);
    breakIt(ack);
    expect(v.safeParse(AckSchema, ack).success).toBe(false);
  });

  test("accepts numeric correlationId", () => {
    const ack = fixture("ack-ping");
    ack.correlationId = 17;
    expect(problems(AckSchema, ack)).toBe("");
  });

  test("accepts null correlationId", () => {
    const ack = fixture("ack-ping");
    ack.correlationId = null;
    expect(problems(AckSchema, ack)).toBe("");
  });
});

describe("StatusSchema", () => {
  test("rejects unknown offline reason", () => {
    const status = fixture("status-offline");
    status.reason = "crashed";
    expect(issuePaths(StatusSchema, status)).toContain("reason");
  });

  test("rejects empty instance", () => {
    const status = fixture("status-online");
    status.instance = "";
    expect(issuePaths(StatusSchema, status)).toContain("instance");
  });
});

describe("CommandEnvelopeSchema", () => {
  test.each([
    ["op missing", {}, "op"],
    ["op empty", { op: "" }, "op"],
    ["op as number", { op: 3 }, "op"],
    ["venId as number", { op: "ping", venId: 7 }, "venId"],
    ["correlationId as object", { op: "ping", correlationId: {} }, "correlationId"],
  ] as const)("rejects %s", (_name, command, path) => {
    expect(issuePaths(CommandEnvelopeSchema, command)).toContain(path);
  });

  // valibot 1.5 looseObject takes any object, arrays included.
  test("rejects data as array", () => {
    expect(issuePaths(CommandEnvelopeSchema, { op: "ping", data: [] })).toContain("data");
  });

  test("keeps top-level backend fields", () => {
    const command = v.parse(CommandEnvelopeSchema, fixture("command-event"));
    expect(command.duration_sec).toBe(900);
  });
});
