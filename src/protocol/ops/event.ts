import * as v from "valibot";
import type { EchoedId } from "../acks.ts";
import { EVENT_ID_FIELD, positiveNumber, readVariants, requireVariants, type FieldVariants } from "./fields.ts";

/**
 * Longest event this VEN accepts. The contract sets no maximum; a week is far above any real
 * demand-response event and keeps timer arithmetic in a safe range.
 */
export const MAX_EVENT_DURATION_S = 7 * 24 * 3600;
/** Largest random start delay, in seconds. */
export const MAX_RANDOMIZE_S = 24 * 3600;

export const SHED_KW_FIELD: FieldVariants<number> = {
  paths: ["shed_kw", "data.requestedReductionKw", "requestedReductionKw", "data.amountKw"],
  schema: positiveNumber,
  expected: "a number of kW above 0",
};

export const DURATION_FIELD: FieldVariants<number> = {
  paths: ["duration_sec", "data.duration_s", "duration_s", "data.durationS"],
  schema: v.pipe(v.number(), v.finite(), v.minValue(1), v.maxValue(MAX_EVENT_DURATION_S)),
  expected: `a number of seconds from 1 to ${MAX_EVENT_DURATION_S}`,
};

export const START_TS_FIELD: FieldVariants<number> = {
  paths: ["start_ts", "data.start_ts"],
  schema: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(99_999_999_999)),
  expected: "whole Unix seconds above 0",
};

/** 0 is a valid spread here: it means "start exactly on time". */
export const RANDOMIZE_FIELD: FieldVariants<number> = {
  paths: ["randomize_s", "data.randomize_s"],
  schema: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(MAX_RANDOMIZE_S)),
  expected: `a number of seconds from 0 to ${MAX_RANDOMIZE_S}`,
};

/** What an `event` (or `shedPanel`) command asks for, after the field variants are merged. */
export interface EventRequest {
  shedKw: number;
  durationS: number;
  /** The explicit event id, or undefined when the correlationId has to serve as the id. */
  eventId: EchoedId | undefined;
  /** Unix seconds; undefined means "now". */
  startTs: number | undefined;
  /** Upper bound of the random start delay in seconds; 0 when not asked for. */
  randomizeS: number;
}

/** Validates an `event` command and merges the variants of each field into one request. */
export const EventCommandSchema = v.pipe(
  v.looseObject({}),
  v.rawTransform(({ dataset, addIssue }): EventRequest => {
    const record = dataset.value as Record<string, unknown>;
    const shed = requireVariants(record, SHED_KW_FIELD, addIssue);
    const duration = requireVariants(record, DURATION_FIELD, addIssue);
    const eventId = readVariants(record, EVENT_ID_FIELD, addIssue);
    const start = readVariants(record, START_TS_FIELD, addIssue);
    const randomize = readVariants(record, RANDOMIZE_FIELD, addIssue);
    return {
      shedKw: shed.present ? shed.value : 0,
      durationS: duration.present ? duration.value : 0,
      eventId: eventId.present ? eventId.value : undefined,
      startTs: start.present ? start.value : undefined,
      randomizeS: randomize.present ? randomize.value : 0,
    };
  }),
);

