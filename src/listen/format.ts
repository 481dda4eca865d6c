import { payloadExcerpt } from "../protocol/commands.ts";

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  retained: boolean;
  receivedAtMs: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a payload as JSON, or returns undefined when it is not UTF-8 JSON. */
export function parseJsonPayload(payload: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(strictUtf8.decode(payload)) };
  } catch {
    return undefined;
  }
}

/**
 * Formats a message as one JSON object: `receivedAt`, `topic`, and the parsed `payload`, or for a payload
 * that is not JSON, `notJson: true` with a short `raw` excerpt and its size in `bytes`.
 */
export function formatJsonLine(message: ReceivedMessage): string {
  const record: Record<string, unknown> = {
    receivedAt: new Date(message.receivedAtMs).toISOString(),
    topic: message.topic,
  };
  if (message.retained) record.retained = true;
  const parsed = parseJsonPayload(message.payload);
  if (parsed) {
    record.payload = parsed.value;
  } else {
    record.notJson = true;
    record.raw = JSON.parse(payloadExcerpt(message.payload, 200)) as string;
    record.bytes = message.payload.length;
  }
  return `${JSON.stringify(record)}\n`;
}

function number(value: unknown, digits = 2): string {
  return typeof value === "number" ? value.toFixed(digits) : "?";
}

/** Formats a message as a short human-readable line for a terminal. */
export function formatPrettyLine(message: ReceivedMessage): string {
  const time = new Date(message.receivedAtMs).toISOString().slice(11, 23);
  const retained = message.retained ? " (retained)" : "";
  const parsed = parseJsonPayload(message.payload);
  if (!parsed) {
    return `${time} ${message.topic}${retained}  not JSON, ${message.payload.length} bytes: ${payloadExcerpt(message.payload, 80)}\n`;
  }
  const value = parsed.value as Record<string, unknown> | null;
  let summary: string;
  if (value && typeof value === "object" && "usedPowerKw" in value && "seq" in value) {
    const event = value.eventId ? ` event ${String(value.eventId)} shed ${number(value.shedPowerKw)} kW` : "";
    summary = `${String(value.venId)} seq ${String(value.seq)} used ${number(value.usedPowerKw)} kW of ${number(value.panelMaxKw, 0)} kW${event}`;
  } else if (value && typeof value === "object" && "status" in value && "instance" in value) {
    const reason = value.reason ? ` (${String(value.reason)})` : "";
    summary = `${String(value.venId)} ${String(value.status)}${reason} instance ${String(value.instance)}`;
  } else if (value && typeof value === "object" && "op" in value && "status" in value) {
    const error = value.error && typeof value.error === "object" ? ` ${JSON.stringify(value.error)}` : "";
    summary = `${String(value.venId)} ack ${String(value.op)} ${String(value.status)} correlationId ${JSON.stringify(value.correlationId)}${error}`;
  } else {
    const text = JSON.stringify(value);
    summary = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }
  return `${time} ${message.topic}${retained}  ${summary}\n`;
}
