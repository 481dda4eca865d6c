import * as v from "valibot";
import { EchoedIdSchema, type EchoedId } from "./acks.ts";
import { escapeControl } from "../text.ts";
import { formatIssues } from "./schema-helpers.ts";

/**
 * The command envelope. Fields the backend sends at the top level (`event_id`, `shed_kw`,
 * `duration_sec`) are kept, because op handlers read them next to their `data` variants.
 */
export const CommandEnvelopeSchema = v.looseObject({
  op: v.pipe(v.string("op must be a string"), v.minLength(1, "op must not be empty")),
  correlationId: v.optional(EchoedIdSchema),
  venId: v.optional(v.string("venId must be a string")),
  // valibot's looseObject also accepts arrays, so they are excluded before it.
  data: v.optional(
    v.pipe(
      v.custom<Record<string, unknown>>(
        (value) => value !== null && typeof value === "object" && !Array.isArray(value),
        "data must be an object",
      ),
      v.looseObject({}),
    ),
  ),
});
export type CommandEnvelope = v.InferOutput<typeof CommandEnvelopeSchema>;

/** Ops that concern an event: their acks carry `event_id`, which may fall back to the correlationId. */
export const EVENT_OPS: ReadonlySet<string> = new Set(["event", "shedPanel"]);

export type DecodedCommand =
  | { kind: "command"; command: CommandEnvelope }
  | {
      kind: "invalid";
      /** Description of the problem, with the field path where there is one. */
      problem: string;
      op: string | null;
      correlationId: EchoedId | null;
      eventId: EchoedId | undefined;
    };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a command payload without throwing. Whatever can be read of a broken payload
 * (correlationId, op, event id) is returned so the rejection ack can still be matched.
 */
export function decodeCommand(payload: Uint8Array): DecodedCommand {
  let text: string;
  try {
    text = strictUtf8.decode(payload);
  } catch {
    const lenient = new TextDecoder("utf-8").decode(payload);
    return invalid("payload is not valid UTF-8", scanForIds(lenient));
  }
  if (text.trim().length === 0) return invalid("payload is empty", scanForIds(text));

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return invalid(`payload is not JSON (${escapeControl((error as Error).message)})`, scanForIds(text));
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
    return invalid(`payload is ${kind}, expected a JSON object`, {});
  }

  const record = parsed as Record<string, unknown>;
  const result = v.safeParse(CommandEnvelopeSchema, record);
  const ids = readIds(record);
  if (!result.success) return invalid(formatIssues(result.issues), ids);
  return { kind: "command", command: result.output };
}

interface ReadableIds {
  op?: string | undefined;
  correlationId?: EchoedId | undefined;
  eventId?: EchoedId | undefined;
}

function invalid(problem: string, ids: ReadableIds): DecodedCommand {
  const op = ids.op ?? null;
  const correlationId = ids.correlationId ?? null;
  const eventId = ids.eventId ?? (op !== null && EVENT_OPS.has(op) ? (correlationId ?? undefined) : undefined);
  return { kind: "invalid", problem, op, correlationId, eventId };
}

function asId(value: unknown): EchoedId | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return undefined;
}

function readIds(record: Record<string, unknown>): ReadableIds {
  const data = record.data !== null && typeof record.data === "object" ? (record.data as Record<string, unknown>) : {};
  return {
    op: typeof record.op === "string" && record.op.length > 0 ? record.op : undefined,
    correlationId: asId(record.correlationId),
    eventId: asId(record.event_id) ?? asId(data.event_id) ?? asId(record.eventId),
  };
}

/** Pulls ids out of text that is not valid JSON, so a rejection ack can still reach the sender. */
function scanForIds(text: string): ReadableIds {
  const op = scanValue(text, "op");
  return {
    op: typeof op === "string" ? op : undefined,
    correlationId: scanValue(text, "correlationId"),
    // The first `event_id` found may sit at the top level or inside `data`; both name the event.
    eventId: scanValue(text, "event_id") ?? scanValue(text, "eventId"),
  };
}

/** Finds `"key": "string"` or `"key": number` in broken JSON text and returns the value as sent. */
function scanValue(text: string, key: string): EchoedId | undefined {
  const match = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*"|-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`).exec(text);
  if (!match?.[1]) return undefined;
  try {
    return asId(JSON.parse(match[1]));
  } catch {
    return undefined;
  }
}


/**
 * Returns the event id of a valid command: `event_id`, `data.event_id` or `eventId`; for event ops
 * without one, the correlationId serves as the id.
 */
export function eventIdOf(command: CommandEnvelope): EchoedId | undefined {
  const explicit = readIds(command as Record<string, unknown>).eventId;
  if (explicit !== undefined) return explicit;
  return EVENT_OPS.has(command.op) ? command.correlationId : undefined;
}

/** Returns a short, escaped excerpt of a payload for logs, never the whole of a large payload. */
export function payloadExcerpt(payload: Uint8Array, maxChars = 120): string {
  const text = new TextDecoder("utf-8").decode(payload.subarray(0, maxChars * 4));
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return JSON.stringify(cut);
}
