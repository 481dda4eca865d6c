import * as v from "valibot";
import { MAX_EVENT_DURATION_S } from "./event.ts";
import { positiveNumber, requireVariants, type FieldVariants } from "./fields.ts";

export const LOAD_ID_FIELD: FieldVariants<string> = {
  paths: ["data.loadId"],
  schema: v.pipe(v.string(), v.minLength(1)),
  expected: "a circuit id such as \"ev1\"",
};

export const ENABLED_FIELD: FieldVariants<boolean> = {
  paths: ["data.enabled"],
  schema: v.boolean(),
  expected: "true or false",
};

export const REDUCE_KW_FIELD: FieldVariants<number> = {
  paths: ["data.reduceKw"],
  schema: positiveNumber,
  expected: "a number of kW above 0",
};

export const LOAD_DURATION_FIELD: FieldVariants<number> = {
  paths: ["data.durationS"],
  schema: v.pipe(v.number(), v.finite(), v.minValue(1), v.maxValue(MAX_EVENT_DURATION_S)),
  expected: `a number of seconds from 1 to ${MAX_EVENT_DURATION_S}`,
};

export interface SetLoadRequest {
  loadId: string;
  enabled: boolean;
}

export interface ShedLoadRequest {
  loadId: string;
  reduceKw: number;
  durationS: number;
}

/** Validates `setLoad`: `data.loadId` and `data.enabled`, both required. */
export const SetLoadCommandSchema = v.pipe(
  v.looseObject({}),
  v.rawTransform(({ dataset, addIssue }): SetLoadRequest => {
    const record = dataset.value as Record<string, unknown>;
    const loadId = requireVariants(record, LOAD_ID_FIELD, addIssue);
    const enabled = requireVariants(record, ENABLED_FIELD, addIssue);
    return { loadId: loadId.present ? loadId.value : "", enabled: enabled.present ? enabled.value : false };
  }),
);

/** Validates `shedLoad`: `data.loadId`, `data.reduceKw` and `data.durationS`, all required. */
export const ShedLoadCommandSchema = v.pipe(
  v.looseObject({}),
  v.rawTransform(({ dataset, addIssue }): ShedLoadRequest => {
    const record = dataset.value as Record<string, unknown>;
    const loadId = requireVariants(record, LOAD_ID_FIELD, addIssue);
    const reduce = requireVariants(record, REDUCE_KW_FIELD, addIssue);
    const duration = requireVariants(record, LOAD_DURATION_FIELD, addIssue);
    return {
      loadId: loadId.present ? loadId.value : "",
      reduceKw: reduce.present ? reduce.value : 0,
      durationS: duration.present ? duration.value : 0,
    };
  }),
);
