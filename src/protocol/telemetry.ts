import * as v from "valibot";
import { finiteNumber, nonNegativeKw, unixSecondsSchema } from "./schema-helpers.ts";

export const LOAD_TYPES = ["hvac", "heater", "ev", "dryer", "range", "lights", "outlets", "fridge", "battery", "pv"] as const;
export const PANEL_AMPERAGES = [100, 150, 200] as const;
export type PanelAmperage = (typeof PANEL_AMPERAGES)[number];

/**
 * One circuit in `loads[]`. The key must be `id`: the backend drops a whole message whose entry
 * says `loadId`, so the schema is strict about unknown keys.
 */
export const LoadEntrySchema = v.strictObject({
  id: v.pipe(v.string(), v.minLength(1)),
  name: v.string(),
  type: v.picklist(LOAD_TYPES),
  capacityKw: nonNegativeKw,
  /** Negative while a battery discharges or PV produces. */
  currentPowerKw: finiteNumber,
  shedCapabilityKw: nonNegativeKw,
  enabled: v.boolean(),
  critical: v.boolean(),
  priority: v.pipe(v.number(), v.integer()),
});
export type LoadEntry = v.InferOutput<typeof LoadEntrySchema>;

/**
 * Telemetry as the backend accepts it. Unknown fields are allowed because the backend keeps them
 * in the raw payload; the listed ones have fixed types.
 */
export const TelemetrySchema = v.looseObject({
  schemaVersion: v.literal("1"),
  venId: v.pipe(v.string(), v.minLength(1)),
  timestamp: unixSecondsSchema,
  seq: v.pipe(v.number(), v.integer(), v.minValue(0)),
  usedPowerKw: nonNegativeKw,
  netPowerKw: v.optional(finiteNumber),
  shedPowerKw: nonNegativeKw,
  requestedReductionKw: nonNegativeKw,
  eventId: v.nullable(v.string()),
  baselinePowerKw: nonNegativeKw,
  batterySoc: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  panelAmperageRating: v.picklist(PANEL_AMPERAGES),
  panelVoltage: v.pipe(v.number(), v.integer(), v.minValue(1)),
  panelMaxKw: nonNegativeKw,
  currentAmps: nonNegativeKw,
  panelUtilizationPercent: nonNegativeKw,
  loads: v.array(LoadEntrySchema),
  ts: v.optional(unixSecondsSchema),
  power_kw: v.optional(nonNegativeKw),
  shed_kw: v.optional(nonNegativeKw),
  message_num: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
export type Telemetry = v.InferOutput<typeof TelemetrySchema>;
