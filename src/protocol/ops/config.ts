import * as v from "valibot";
import { PANEL_AMPERAGES, type PanelAmperage } from "../telemetry.ts";
import { describeReceived, readVariants, type FieldVariants } from "./fields.ts";

/** Longest telemetry interval `set` accepts: the backend marks a VEN offline after 60 s of silence. */
export const MAX_REPORT_INTERVAL_S = 55;

export const REPORT_INTERVAL_FIELD: FieldVariants<number> = {
  paths: ["data.report_interval_seconds"],
  schema: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_REPORT_INTERVAL_S)),
  expected: `whole seconds from 1 to ${MAX_REPORT_INTERVAL_S}`,
};

export const PANEL_AMPERAGE_FIELD: FieldVariants<PanelAmperage> = {
  paths: ["data.panel_amperage"],
  schema: v.picklist(PANEL_AMPERAGES),
  expected: "100, 150 or 200 (A)",
};

const SETTABLE_KEYS = ["report_interval_seconds", "panel_amperage"] as const;

/** The settings a `set` or `setConfig` command changes; at least one is present. */
export interface SetConfigRequest {
  reportIntervalS?: number;
  panelAmperage?: PanelAmperage;
}

/** Validates `set` and `setConfig`: only the two settable keys in `data`, at least one of them. */
export const SetConfigCommandSchema = v.pipe(
  v.looseObject({}),
  v.rawTransform(({ dataset, addIssue }): SetConfigRequest => {
    const record = dataset.value as Record<string, unknown>;
    const data = record.data as Record<string, unknown> | undefined;
    const request: SetConfigRequest = {};
    if (data === undefined || Object.keys(data).length === 0) {
      addIssue({ message: `data must contain ${SETTABLE_KEYS.join(" or ")}; got ${describeReceived(data)}` });
      return request;
    }
    for (const key of Object.keys(data)) {
      if (!(SETTABLE_KEYS as readonly string[]).includes(key)) {
        addIssue({ message: `data.${key} is not a setting this VEN accepts; expected ${SETTABLE_KEYS.join(" or ")}` });
      }
    }
    const interval = readVariants(record, REPORT_INTERVAL_FIELD, addIssue);
    const amperage = readVariants(record, PANEL_AMPERAGE_FIELD, addIssue);
    if (interval.present) request.reportIntervalS = interval.value;
    if (amperage.present) request.panelAmperage = amperage.value;
    return request;
  }),
);
