import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/logger.ts";
import { DisconnectDiagnosis, DisconnectLog, SHORT_LIVED_MS, TAKEOVER_AFTER } from "../../src/transport/diagnosis.ts";

describe("DisconnectDiagnosis", () => {
  test("0x8E names the takeover at once", () => {
    const diagnosis = new DisconnectDiagnosis("ven-a");
    const found = diagnosis.onClose({ at: 100_000, connectedAt: 40_000, reasonCode: 0x8e });
    expect(found).toHaveLength(1);
    expect(found[0]!.kind).toBe("takeover");
    expect(found[0]!.message).toContain("another client connected with client ID ven-a");
  });

  test("short-lived connections suggest a takeover", () => {
    const diagnosis = new DisconnectDiagnosis("ven-a");
    let at = 0;
    const results = [];
    for (let index = 0; index < TAKEOVER_AFTER; index++) {
      results.push(diagnosis.onClose({ at: at + 2000, connectedAt: at, reasonCode: undefined }));
      at += 60_000;
    }
    expect(results.slice(0, -1).every((found) => found.length === 0)).toBe(true);
    expect(results.at(-1)![0]!.message).toContain("probably using client ID ven-a");
  });

  test("a long connection resets the count", () => {
    const diagnosis = new DisconnectDiagnosis("ven-a");
    diagnosis.onClose({ at: 1000, connectedAt: 0, reasonCode: undefined });
    diagnosis.onClose({ at: 2000 + SHORT_LIVED_MS, connectedAt: 1500, reasonCode: undefined });
    expect(diagnosis.onClose({ at: 100_000, connectedAt: 99_000, reasonCode: undefined })).toEqual([]);
  });

  test("closes after one topic suggest a policy denial", () => {
    const diagnosis = new DisconnectDiagnosis("ven-a");
    diagnosis.noteRequest("subscribe", "ven/cmd/ven-a", 1000);
    expect(diagnosis.onClose({ at: 1100, connectedAt: undefined, reasonCode: undefined })).toEqual([]);
    diagnosis.noteRequest("subscribe", "ven/cmd/ven-a", 5000);
    const found = diagnosis.onClose({ at: 5050, connectedAt: undefined, reasonCode: undefined });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: "policy-denial", topic: "ven/cmd/ven-a", operation: "subscribe" });
    expect(found[0]!.message).toContain("denies subscribing to that topic");
  });

  test("late close is not blamed on the request", () => {
    const diagnosis = new DisconnectDiagnosis("ven-a");
    for (const at of [1000, 10_000, 20_000]) {
      diagnosis.noteRequest("publish", "volttron/metering", at);
      expect(diagnosis.onClose({ at: at + 5000, connectedAt: undefined, reasonCode: undefined })).toEqual([]);
    }
  });
});

describe("DisconnectLog", () => {
  function logger() {
    const lines: string[] = [];
    return { lines, log: createLogger({ level: "info", format: "pretty", sink: { write: (text) => lines.push(text) } }) };
  }

  test("repeats collapse into counts", () => {
    const { lines, log } = logger();
    const disconnects = new DisconnectLog(log);
    for (let index = 0; index < 25; index++) disconnects.record("connect ECONNREFUSED", index * 60_000, 1000);
    const warned = lines.filter((line) => line.includes("Disconnected"));
    expect(warned).toHaveLength(2);
    expect(warned[0]).toContain("Disconnected: connect ECONNREFUSED");
    expect(warned[1]).toContain("Disconnected 11 times since");
  });

  test("a new cause flushes the count", () => {
    const { lines, log } = logger();
    const disconnects = new DisconnectLog(log);
    for (let index = 0; index < 4; index++) disconnects.record("cause A", index, 1000);
    disconnects.record("cause B", 10, 1000);
    expect(lines.some((line) => line.includes("Disconnected 4 times in all") && line.includes("cause A"))).toBe(true);
    expect(lines.at(-1)).toContain("Disconnected: cause B");
  });

  test("record tells whether it logged", () => {
    const { log } = logger();
    const disconnects = new DisconnectLog(log);
    expect(disconnects.record("x", 0, 1)).toBe(true);
    expect(disconnects.record("x", 1, 1)).toBe(false);
  });
});
