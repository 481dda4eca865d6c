import * as v from "valibot";
import type { EchoedId } from "../acks.ts";
import { EVENT_ID_FIELD, readVariants } from "./fields.ts";

export interface RestoreRequest {
  /** The event to end; undefined means "whatever is active or scheduled". */
  eventId: EchoedId | undefined;
}

/** Validates a `restore` command: an optional event id under any of its names. */
export const RestoreCommandSchema = v.pipe(
  v.looseObject({}),
  v.rawTransform(({ dataset, addIssue }): RestoreRequest => {
    const eventId = readVariants(dataset.value as Record<string, unknown>, EVENT_ID_FIELD, addIssue);
    return { eventId: eventId.present ? eventId.value : undefined };
  }),
);
