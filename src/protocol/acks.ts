import * as v from "valibot";
import { finiteNumber, nonNegativeKw, unixSecondsSchema } from "./schema-helpers.ts";

export const ACK_STATUSES = ["success", "accepted", "rejected", "error"] as const;
export type AckStatus = (typeof ACK_STATUSES)[number];

/** Error codes a rejected or failed ack can carry. */
export const ACK_ERROR_CODES = {
  /** Not UTF-8, not JSON, not an object, or a field of the wrong type. */
  invalidCommand: "invalid_command",
  /** The `op` is not one this VEN carries out. */
  unsupportedOp: "unsupported_op",
  /** The command names another VEN in `venId`. */
  wrongVen: "wrong_ven",
  /** `loadId` names no circuit of this panel. */
  unknownLoad: "unknown_load",
  /** `restore` names an event that is neither active nor recently ended. */
  unknownEvent: "unknown_event",
  /** The VEN failed while carrying out a valid command. */
  internal: "internal_error",
} as const;
export type AckErrorCode = (typeof ACK_ERROR_CODES)[keyof typeof ACK_ERROR_CODES];

/** Ids are echoed exactly as they arrived, so a numeric correlationId comes back as a number. */
export const EchoedIdSchema = v.union([v.string(), v.pipe(v.number(), v.finite())]);
export type EchoedId = v.InferOutput<typeof EchoedIdSchema>;

export const CircuitCurtailedSchema = v.strictObject({
  id: v.string(),
  name: v.string(),
  breaker_amps: v.pipe(v.number(), v.integer()),
  original_kw: nonNegativeKw,
  curtailed_kw: nonNegativeKw,
  final_kw: nonNegativeKw,
  critical: v.boolean(),
});

/**
 * Every acknowledgement. The backend stores an ack only when it has `op`, `status` and a non-null
 * `event_id`, so `event_id`, when present, is never null.
 */
export const AckSchema = v.pipe(
  v.looseObject({
    op: v.pipe(v.string(), v.minLength(1)),
    status: v.picklist(ACK_STATUSES),
    ok: v.boolean(),
    venId: v.pipe(v.string(), v.minLength(1)),
    correlationId: v.nullable(EchoedIdSchema),
    ts: unixSecondsSchema,
    timestamp: unixSecondsSchema,
    event_id: v.optional(EchoedIdSchema),
    error: v.optional(v.looseObject({ code: v.string(), message: v.string() })),
    pong: v.optional(v.literal(true)),
    reason: v.optional(v.string()),
    requested_shed_kw: v.optional(nonNegativeKw),
    actual_shed_kw: v.optional(nonNegativeKw),
    battery_kw: v.optional(finiteNumber),
    circuits_curtailed: v.optional(v.array(CircuitCurtailedSchema)),
    data: v.optional(v.looseObject({})),
  }),
  v.check((ack) => ack.ok === (ack.status === "success" || ack.status === "accepted"), "ok must be true exactly for success and accepted"),
  v.check((ack) => ack.ts === ack.timestamp, "ts and timestamp must be equal"),
  v.check(
    (ack) => (ack.status === "rejected" || ack.status === "error") === (ack.error !== undefined),
    "rejected and error acks carry an error, others do not",
  ),
);
export type Ack = v.InferOutput<typeof AckSchema>;

export interface AckContext {
  venId: string;
  timestamp: number;
}

export interface AckFields {
  op: string;
  correlationId: EchoedId | null;
  eventId?: EchoedId | undefined;
  extra?: Record<string, unknown>;
}

/** Builds a `success` or `accepted` ack. */
export function positiveAck(context: AckContext, status: "success" | "accepted", fields: AckFields): Ack {
  return {
    op: fields.op,
    status,
    ok: true,
    venId: context.venId,
    correlationId: fields.correlationId,
    ...(fields.eventId === undefined ? {} : { event_id: fields.eventId }),
    ...fields.extra,
    ts: context.timestamp,
    timestamp: context.timestamp,
  };
}

/** Builds a `rejected` or `error` ack with its error code and a message naming the problem. */
export function negativeAck(
  context: AckContext,
  status: "rejected" | "error",
  fields: AckFields & { code: AckErrorCode; message: string },
): Ack {
  return {
    op: fields.op,
    status,
    ok: false,
    venId: context.venId,
    correlationId: fields.correlationId,
    ...(fields.eventId === undefined ? {} : { event_id: fields.eventId }),
    error: { code: fields.code, message: fields.message },
    ...fields.extra,
    ts: context.timestamp,
    timestamp: context.timestamp,
  };
}
