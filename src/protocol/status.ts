import * as v from "valibot";
import { unixSecondsSchema } from "./schema-helpers.ts";

export const OFFLINE_REASONS = ["shutdown", "connection_lost"] as const;

/** The retained presence message on the status topic. */
export const StatusSchema = v.looseObject({
  venId: v.pipe(v.string(), v.minLength(1)),
  status: v.picklist(["online", "offline"]),
  timestamp: unixSecondsSchema,
  version: v.string(),
  /** Host name, process id and start time, e.g. `site-gw-7/4121/1764849985`. */
  instance: v.pipe(v.string(), v.minLength(1)),
  reason: v.optional(v.picklist(OFFLINE_REASONS)),
});
export type Status = v.InferOutput<typeof StatusSchema>;
export type OfflineReason = (typeof OFFLINE_REASONS)[number];

export function onlineStatus(fields: { venId: string; timestamp: number; version: string; instance: string }): Status {
  return { venId: fields.venId, status: "online", timestamp: fields.timestamp, version: fields.version, instance: fields.instance };
}

export function offlineStatus(
  fields: { venId: string; timestamp: number; version: string; instance: string },
  reason: OfflineReason,
): Status {
  return { venId: fields.venId, status: "offline", reason, timestamp: fields.timestamp, version: fields.version, instance: fields.instance };
}
