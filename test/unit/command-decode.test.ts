import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { CommandEnvelopeSchema, decodeCommand, eventIdOf, payloadExcerpt, type DecodedCommand } from "../../src/protocol/commands.ts";

const ONE_MEGABYTE = 1024 * 1024;

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Decodes and asserts the result is invalid, so tests can read its fields. */
function decodeInvalid(payload: Uint8Array): Extract<DecodedCommand, { kind: "invalid" }> {
  const decoded = decodeCommand(payload);
  if (decoded.kind !== "invalid") throw new Error(`expected an invalid command, got ${JSON.stringify(decoded.command)}`);
  return decoded;
}

/** Decodes and asserts the result is a command. */
function decodeValid(text: string): v.InferOutput<typeof CommandEnvelopeSchema> {
  const decoded = decodeCommand(bytes(text));
  if (decoded.kind !== "command") throw new Error(`expected a command, got problem: ${decoded.problem}`);
  return decoded.command;
}

describe("decodeCommand", () => {
  test.each([
    ["empty payload", new Uint8Array(0), /empty/],
    ["blank payload", bytes("  \n\t"), /empty/],
    ["open brace", bytes("{"), /not JSON/],
    ["null", bytes("null"), /null, expected a JSON object/],
    ["array", bytes("[]"), /an array, expected a JSON object/],
    ["string", bytes('"text"'), /a string, expected a JSON object/],
    ["number", bytes("42"), /a number, expected a JSON object/],
    ["invalid UTF-8", Uint8Array.from([0xff, 0xfe, 0x7b]), /not valid UTF-8/],
    ["1 MB of letters", bytes("a".repeat(ONE_MEGABYTE)), /not JSON/],
    ["op as number", bytes('{"op":5}'), /^op: op must be a string/],
    ["op missing", bytes('{"correlationId":"c-1"}'), /op/],
    ["venId as number", bytes('{"op":"ping","venId":7}'), /^venId: venId must be a string/],
    ["data as string", bytes('{"op":"ping","data":"x"}'), /^data: data must be an object/],
  ] as const)("rejects %s", (_name, payload, problem) => {
    expect(decodeInvalid(payload).problem).toMatch(problem);
  });

  test("decodes valid ping", () => {
    const command = decodeValid('{"op":"ping","correlationId":"p-1"}');
    expect(command).toEqual({ op: "ping", correlationId: "p-1" });
  });

  test("decodes unknown op", () => {
    expect(decodeValid('{"op":"dance"}').op).toBe("dance");
  });

  test("keeps extra fields", () => {
    const command = decodeValid('{"op":"event","shed_kw":2.5,"note":{"a":1}}');
    expect(command).toEqual({ op: "event", shed_kw: 2.5, note: { a: 1 } });
  });

  test("accepts byte order mark", () => {
    const payload = Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes('{"op":"ping"}')]);
    expect(decodeCommand(payload).kind).toBe("command");
  });

  test("keeps numeric correlationId", () => {
    expect(decodeValid('{"op":"ping","correlationId":42}').correlationId).toBe(42);
  });

  test("reads correlationId from wrong types", () => {
    const decoded = decodeInvalid(bytes('{"op":5,"correlationId":"c-5"}'));
    expect(decoded.correlationId).toBe("c-5");
  });

  test("reads numeric id from wrong types", () => {
    const decoded = decodeInvalid(bytes('{"op":"ping","venId":1,"correlationId":8}'));
    expect(decoded.correlationId).toBe(8);
  });

  test("reads ids from truncated JSON", () => {
    const decoded = decodeInvalid(bytes('{"op":"ping","correlationId":"c-1",'));
    expect(decoded.correlationId).toBe("c-1");
    expect(decoded.op).toBe("ping");
  });

  test("reads escaped id from truncated JSON", () => {
    const decoded = decodeInvalid(bytes('{"correlationId":"c-\\"q\\"",'));
    expect(decoded.correlationId).toBe('c-"q"');
  });

  test("reads ids from invalid UTF-8", () => {
    const head = bytes('{"op":"ping","correlationId":"c-2","note":"');
    const payload = Uint8Array.from([...head, 0xff, 0xfe, ...bytes('"}')]);
    const decoded = decodeInvalid(payload);
    expect(decoded.problem).toMatch(/not valid UTF-8/);
    expect(decoded.correlationId).toBe("c-2");
  });

  test("finds no id in plain junk", () => {
    const decoded = decodeInvalid(bytes("hello"));
    expect(decoded.correlationId).toBeNull();
    expect(decoded.op).toBeNull();
  });

  test("broken event falls back to correlationId", () => {
    expect(decodeInvalid(bytes('{"op":"event","correlationId":"c-3",')).eventId).toBe("c-3");
  });

  test("broken event reads event_id", () => {
    expect(decodeInvalid(bytes('{"op":"event","event_id":"e-1","correlationId":"c-3",')).eventId).toBe("e-1");
  });

  test("broken ping has no event id", () => {
    expect(decodeInvalid(bytes('{"op":"ping","correlationId":"c-4",')).eventId).toBeUndefined();
  });

  // The truncated-JSON scan reads only string values of op, correlationId and event_id.
  test("reads numeric id from truncated JSON", () => {
    expect(decodeInvalid(bytes('{"op":"ping","correlationId":17,')).correlationId).toBe(17);
  });

  // The JSON parser's message quotes the offending bytes as they are.
  test("problem has no control characters", () => {
    expect(decodeInvalid(bytes("\u001b[2J")).problem).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  test("broken event reads eventId", () => {
    expect(decodeInvalid(bytes('{"op":"event","eventId":"e-2","correlationId":"c-6",')).eventId).toBe("e-2");
  });
});

describe("eventIdOf", () => {
  test.each([
    ["event_id", { op: "restore", event_id: "e-1" }, "e-1"],
    ["data.event_id", { op: "restore", data: { event_id: "e-2" } }, "e-2"],
    ["eventId", { op: "restore", eventId: "e-3" }, "e-3"],
    ["event_id before correlationId", { op: "event", event_id: "e-4", correlationId: "c-4" }, "e-4"],
    ["event falls back", { op: "event", correlationId: "c-5" }, "c-5"],
    ["shedPanel falls back", { op: "shedPanel", correlationId: "c-6" }, "c-6"],
    ["numeric event_id", { op: "event", event_id: 7 }, 7],
    ["numeric correlationId", { op: "event", correlationId: 8 }, 8],
    ["string digits stay string", { op: "event", event_id: "9" }, "9"],
  ] as const)("reads %s", (_name, command, expected) => {
    expect(eventIdOf(v.parse(CommandEnvelopeSchema, command))).toBe(expected);
  });

  test.each([
    ["restore", { op: "restore", correlationId: "c-7" }],
    ["ping", { op: "ping", correlationId: "c-8" }],
    ["event without ids", { op: "event" }],
    ["null event_id", { op: "restore", event_id: null }],
  ] as const)("none for %s", (_name, command) => {
    expect(eventIdOf(v.parse(CommandEnvelopeSchema, command))).toBeUndefined();
  });
});

describe("payloadExcerpt", () => {
  const huge = bytes("a".repeat(ONE_MEGABYTE));

  test("short for 1 MB", () => {
    expect(payloadExcerpt(huge).length).toBeLessThanOrEqual(130);
  });

  test("marks the cut", () => {
    expect(payloadExcerpt(huge)).toEndWith('…"');
  });

  test("keeps small payloads whole", () => {
    expect(payloadExcerpt(bytes('{"op":"ping"}'))).toBe(JSON.stringify('{"op":"ping"}'));
  });

  test("escapes control characters", () => {
    const excerpt = payloadExcerpt(bytes('a\nb\u0000"c'));
    expect(excerpt).toBe('"a\\nb\\u0000\\"c"');
  });

  test("replaces invalid bytes", () => {
    expect(payloadExcerpt(Uint8Array.from([0x61, 0xff]))).toBe('"a\uFFFD"');
  });

  test("honours maxChars", () => {
    expect(payloadExcerpt(huge, 10)).toBe(`"${"a".repeat(10)}…"`);
  });
});
