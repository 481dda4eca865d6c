import * as v from "valibot";
import { requireVariants, type FieldVariants } from "./fields.ts";

export const GET_TARGETS = ["status", "config", "loads"] as const;
export type GetTarget = (typeof GET_TARGETS)[number];

export const WHAT_FIELD: FieldVariants<GetTarget> = {
  paths: ["data.what"],
  schema: v.picklist(GET_TARGETS),
  expected: GET_TARGETS.map((target) => JSON.stringify(target)).join(", ").replace(/, ([^,]*)$/, " or $1"),
};

/** Validates a `get` command: `data.what` names what to report. */
export const GetCommandSchema = v.pipe(
  v.looseObject({}),
  v.rawTransform(({ dataset, addIssue }): { what: GetTarget } => {
    const what = requireVariants(dataset.value as Record<string, unknown>, WHAT_FIELD, addIssue);
    return { what: what.present ? what.value : "status" };
  }),
);
