import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../src/logger.ts";
import { DEFAULT_OUTBOX_LIMITS, FileOutbox, MemoryOutbox, type OutboxLimits } from "../../src/outbox/store.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const NOW = Date.UTC(2026, 11, 4, 12);
let dir: string;
let lines: string[];

beforeEach(async () => {
  dir = await makeTempDir("ven-outbox-");
  lines = [];
});

afterEach(async () => {
  await removeTempDir(dir);
});

const log = () => createLogger({ level: "debug", format: "pretty", sink: { write: (text) => lines.push(text) } });
const path = () => join(dir, "outbox.jsonl");
const open = (limits: OutboxLimits = DEFAULT_OUTBOX_LIMITS) => new FileOutbox(path(), limits, log(), () => NOW);

describe("FileOutbox", () => {
  test("keeps messages across reopen", () => {
    const first = open();
    first.append("telemetry", "volttron/metering", '{"seq":1}', NOW);
    first.append("ack", "ven/ack/v", '{"op":"ping"}', NOW);
    first.close();

    const second = open();
    const entries = [...second.entries()];
    expect(entries.map((entry) => entry.kind)).toEqual(["telemetry", "ack"]);
    expect(second.payloadOf(entries[0]!)).toBe('{"seq":1}');
    expect(second.payloadOf(entries[1]!)).toBe('{"op":"ping"}');
    second.close();
  });

  test("removed messages stay removed", () => {
    const first = open();
    const kept = first.append("telemetry", "t", "kept", NOW);
    const gone = first.append("telemetry", "t", "gone", NOW);
    first.remove(gone.id);
    first.close();

    const second = open();
    expect([...second.entries()].map((entry) => entry.id)).toEqual([kept.id]);
    second.close();
  });

  test("new ids continue after reopen", () => {
    const first = open();
    const last = first.append("telemetry", "t", "a", NOW);
    first.close();
    const second = open();
    expect(second.append("telemetry", "t", "b", NOW).id).toBeGreaterThan(last.id);
    second.close();
  });

  test("truncated last record is dropped", () => {
    const first = open();
    first.append("telemetry", "t", "whole", NOW);
    first.close();
    appendFileSync(path(), '{"op":"add","id":9,"kind":"telemetry","at":1,"topic":"t","payl');

    const second = open();
    expect([...second.entries()].map((entry) => second.payloadOf(entry))).toEqual(["whole"]);
    expect(lines.some((line) => line.includes("truncated last record"))).toBe(true);
    second.append("telemetry", "t", "after", NOW);
    second.close();

    const third = open();
    expect([...third.entries()].map((entry) => third.payloadOf(entry))).toEqual(["whole", "after"]);
    third.close();
  });

  test("damaged file is set aside", () => {
    const first = open();
    first.append("telemetry", "t", "one", NOW);
    first.close();
    appendFileSync(path(), "this is not json\n");
    appendFileSync(path(), `${JSON.stringify({ op: "add", id: 5, kind: "ack", at: NOW, topic: "a", payload: "two" })}\n`);

    const second = open();
    expect([...second.entries()].map((entry) => second.payloadOf(entry))).toEqual(["one", "two"]);
    expect(readdirSync(dir).some((name) => name.startsWith("outbox.jsonl.corrupt-"))).toBe(true);
    expect(lines.some((line) => line.includes("1 unreadable line(s)"))).toBe(true);
    second.close();
  });

  test("unreadable content never blocks opening", () => {
    writeFileSync(path(), Buffer.from([0xff, 0x00, 0x0a, 0x7b, 0x0a]));
    const outbox = open();
    expect(outbox.depth).toBe(0);
    outbox.close();
  });

  test("compaction keeps only waiting messages", () => {
    const outbox = open();
    const ids: number[] = [];
    for (let index = 0; index < 1500; index++) ids.push(outbox.append("telemetry", "t", `m${index}`, NOW).id);
    for (const id of ids.slice(0, 1400)) outbox.remove(id);
    expect(outbox.depth).toBe(100);
    const fileLines = readFileSync(path(), "utf8").trim().split("\n");
    expect(fileLines.length).toBeLessThan(1500);
    expect(outbox.payloadOf([...outbox.entries()][0]!)).toBe("m1400");
    outbox.close();
    const reopened = open();
    expect(reopened.depth).toBe(100);
    reopened.close();
  });

  test("file lines are flushed JSON", () => {
    const outbox = open();
    outbox.append("telemetry", "volttron/metering", '{"a":1}', NOW);
    const record = JSON.parse(readFileSync(path(), "utf8").trim()) as Record<string, unknown>;
    expect(record).toMatchObject({ op: "add", kind: "telemetry", topic: "volttron/metering", payload: '{"a":1}' });
    outbox.close();
  });
});

describe("outbox limits", () => {
  const limits = (change: Partial<OutboxLimits>): OutboxLimits => ({ ...DEFAULT_OUTBOX_LIMITS, ...change });

  test("full drops oldest telemetry first", () => {
    const outbox = new MemoryOutbox(limits({ maxMessages: 3 }));
    outbox.append("ack", "a", "ack-1", NOW);
    outbox.append("telemetry", "t", "tel-1", NOW);
    outbox.append("telemetry", "t", "tel-2", NOW);
    outbox.append("telemetry", "t", "tel-3", NOW);
    const reports = outbox.enforceLimits(NOW);
    expect([...outbox.entries()].map((entry) => outbox.payloadOf(entry))).toEqual(["ack-1", "tel-2", "tel-3"]);
    expect(reports).toEqual([{ telemetry: 1, ack: 0, reason: "full" }]);
  });

  test("acks go only when no telemetry is left", () => {
    const outbox = new MemoryOutbox(limits({ maxMessages: 1 }));
    outbox.append("ack", "a", "ack-1", NOW);
    outbox.append("ack", "a", "ack-2", NOW);
    outbox.enforceLimits(NOW);
    expect([...outbox.entries()].map((entry) => outbox.payloadOf(entry))).toEqual(["ack-2"]);
  });

  test("byte limit counts payloads", () => {
    const outbox = new MemoryOutbox(limits({ maxBytes: 10 }));
    outbox.append("telemetry", "t", "123456", NOW);
    outbox.append("telemetry", "t", "abcdef", NOW);
    outbox.enforceLimits(NOW);
    expect(outbox.depth).toBe(1);
    expect(outbox.bytes).toBe(6);
  });

  test("old telemetry expires before acks", () => {
    const hour = 3600_000;
    const outbox = new MemoryOutbox(limits({ telemetryMaxAgeMs: hour, ackMaxAgeMs: 4 * hour }));
    outbox.append("telemetry", "t", "old", NOW - 2 * hour);
    outbox.append("ack", "a", "old-ack", NOW - 2 * hour);
    outbox.append("telemetry", "t", "new", NOW);
    const reports = outbox.enforceLimits(NOW);
    expect([...outbox.entries()].map((entry) => outbox.payloadOf(entry))).toEqual(["old-ack", "new"]);
    expect(reports).toEqual([{ telemetry: 1, ack: 0, reason: "expired" }]);
  });
});
