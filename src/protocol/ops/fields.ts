import * as v from "valibot";
import { EchoedIdSchema, type EchoedId } from "../acks.ts";

/**
 * One command field that the contract lets arrive under several names, such as `shed_kw` at the
 * top level or `data.requestedReductionKw`. Paths are dot paths from the command's top level.
 */
export interface FieldVariants<T> {
  /** Every accepted path, in the order the contract lists them. */
  paths: readonly string[];
  schema: v.GenericSchema<unknown, T>;
  /** What a valid value is, for messages: "a number of kW above 0". */
  expected: string;
  /** Whether two values mean the same; strict equality when unset. */
  same?: (a: T, b: T) => boolean;
}

/** Result of reading one field: its value and the path it came from, or nothing when absent. */
export type FieldRead<T> = { present: true; value: T; path: string } | { present: false; invalid: boolean };

type AddIssue = (info: { message: string }) => void;

/** Returns the value at a dot path, and whether the key is there at all (a present null counts). */
export function valueAt(record: Record<string, unknown>, path: string): { present: boolean; value: unknown } {
  let current: unknown = record;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current) || !Object.hasOwn(current, key)) {
      return { present: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { present: true, value: current };
}

/** Formats a received value for a message: JSON, cut to 60 characters. */
export function describeReceived(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * Reads a field from all of its variants. Every present variant is validated on its own, so a
 * present 0 is reported as an error instead of passing over to the next name; two valid variants
 * that disagree make the command ambiguous. Problems are added as issues and the field then reads
 * as absent.
 */
export function readVariants<T>(record: Record<string, unknown>, field: FieldVariants<T>, addIssue: AddIssue): FieldRead<T> {
  const found: { path: string; value: T }[] = [];
  let invalid = false;
  for (const path of field.paths) {
    const { present, value } = valueAt(record, path);
    if (!present) continue;
    const result = v.safeParse(field.schema, value);
    if (!result.success) {
      addIssue({ message: `${path} must be ${field.expected}; got ${describeReceived(value)}` });
      invalid = true;
      continue;
    }
    found.push({ path, value: result.output });
  }
  if (invalid || found.length === 0) return { present: false, invalid };

  const first = found[0]!;
  const same = field.same ?? ((a: T, b: T) => a === b);
  const conflict = found.find((candidate) => !same(candidate.value, first.value));
  if (conflict) {
    addIssue({
      message: `ambiguous: ${first.path} is ${describeReceived(first.value)} but ${conflict.path} is ${describeReceived(conflict.value)}; send one of them, or the same value in both`,
    });
    return { present: false, invalid: true };
  }
  return { present: true, value: first.value, path: first.path };
}

/** Reads a field like `readVariants`, and adds an issue naming every accepted path when none is there. */
export function requireVariants<T>(record: Record<string, unknown>, field: FieldVariants<T>, addIssue: AddIssue): FieldRead<T> {
  const read = readVariants(record, field, addIssue);
  if (!read.present && !read.invalid) {
    const where = field.paths.length > 1 ? `one of ${field.paths.join(", ")}` : field.paths[0];
    addIssue({ message: `${field.paths[0]} is missing: expected ${field.expected} in ${where}` });
  }
  return read;
}

/** A finite number above 0. */
export const positiveNumber = v.pipe(v.number(), v.finite(), v.gtValue(0));

/** An event id as the backend sends it: a non-empty string or a finite number, echoed unchanged. */
export const EventIdSchema = v.pipe(
  EchoedIdSchema,
  v.check((id) => typeof id !== "string" || id.length > 0),
);

export const EVENT_ID_FIELD: FieldVariants<EchoedId> = {
  paths: ["event_id", "data.event_id", "eventId"],
  schema: EventIdSchema,
  expected: "a non-empty string or a number",
};

/** Joins the messages of failed parses into one line for a rejection. */
export function issueMessages(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.map((issue) => issue.message).join("; ");
}
