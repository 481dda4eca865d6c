import { describe, expect, test } from "bun:test";
import { formatJsonLine, type ReceivedMessage } from "../../src/listen/format.ts";

const AT = Date.UTC(2026, 11, 4, 12, 0, 0, 250);

function message(payload: string | Buffer, retained = false): ReceivedMessage {
  return { topic: "ven/telemetry/ven-a", payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), retained, receivedAtMs: AT };
}

function parsedLine(line: string): Record<string, unknown> {
  expect(line.endsWith("\n")).toBe(true);
  expect(line.slice(0, -1)).not.toContain("\n");
  return JSON.parse(line) as Record<string, unknown>;
}

describe("jsonl line", () => {
  test("compact JSON payload", () => {
    const record = parsedLine(formatJsonLine(message('{"venId":"ven-a","seq":3,"nested":{"x":[1,2]}}')));
    expect(record).toEqual({ receivedAt: "2026-12-04T12:00:00.250Z", topic: "ven/telemetry/ven-a", payload: { venId: "ven-a", seq: 3, nested: { x: [1, 2] } } });
  });

  test("multi-line JSON stays one line", () => {
    const record = parsedLine(formatJsonLine(message('{\n  "seq": 4\n}\n')));
    expect(record.payload).toEqual({ seq: 4 });
  });

  test("padded JSON payload", () => {
    const record = parsedLine(formatJsonLine(message('  {"seq":5}\t ')));
    expect(record.payload).toEqual({ seq: 5 });
  });

  test.each(["42", '"text"', "null", "[1,2]"])("scalar JSON %p", (payload) => {
    expect(parsedLine(formatJsonLine(message(payload))).payload).toEqual(JSON.parse(payload));
  });

  test("retained flag before payload", () => {
    const line = formatJsonLine(message('{"seq":1}', true));
    expect(parsedLine(line).retained).toBe(true);
    expect(line.indexOf('"retained"')).toBeLessThan(line.indexOf('"payload"'));
  });

  test.each([
    ["not JSON", Buffer.from("hello"), "hello"],
    ["empty", Buffer.alloc(0), ""],
    ["truncated JSON", Buffer.from('{"seq":'), '{"seq":'],
  ])("%s payload", (_name, payload, raw) => {
    const record = parsedLine(formatJsonLine(message(payload)));
    expect(record.notJson).toBe(true);
    expect(record.raw).toBe(raw);
    expect(record.bytes).toBe(payload.length);
    expect(record.payload).toBeUndefined();
  });

  test("invalid UTF-8 payload", () => {
    const record = parsedLine(formatJsonLine(message(Buffer.from([0x7b, 0xff, 0x7d]))));
    expect(record.notJson).toBe(true);
    expect(record.bytes).toBe(3);
  });
});
