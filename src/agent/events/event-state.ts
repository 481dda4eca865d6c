import type { CircuitCurtailedSchema, EchoedId } from "../../protocol/acks.ts";
import type * as v from "valibot";

export type CircuitCurtailed = v.InferOutput<typeof CircuitCurtailedSchema>;

/** Result of an event when it began: the proof its `accepted` ack carries. */
export interface EventResult {
  baselineKw: number;
  /** Reduction planned from curtailment alone, in kW. */
  achievedKw: number;
  /** Battery discharge planned to cover the rest, in kW; 0 without a battery. */
  batteryKw: number;
  circuits: CircuitCurtailed[];
  /** The limit each curtailed circuit is held at, in kW, by circuit id. */
  limits: [string, number][];
}

/** The event the VEN is running or waiting to run. */
export interface EventRecord {
  eventId: EchoedId;
  correlationId: EchoedId | null;
  /** The request as JSON text; the same id with the same fingerprint is a repeat, not a new event. */
  fingerprint: string;
  requestedKw: number;
  durationS: number;
  /** Unix milliseconds, after any random delay. */
  startMs: number;
  endMs: number;
  phase: "scheduled" | "active";
  /** Set once the event is active. */
  result?: EventResult | undefined;
}

/** An event that ended recently, so a later `restore` for it returns `already_ended`. */
export interface EndedEvent {
  eventId: EchoedId;
  endedAtMs: number;
}

/** The content of the event state file. */
export interface EventStateFile {
  version: 1;
  current: EventRecord | null;
  ended: EndedEvent[];
}

export function isEventStateFile(value: unknown): value is EventStateFile {
  const file = value as EventStateFile;
  if (typeof value !== "object" || value === null || file.version !== 1 || !Array.isArray(file.ended)) return false;
  if (file.current === null) return true;
  const current = file.current as Partial<EventRecord> | undefined;
  return (
    typeof current === "object" &&
    (typeof current.eventId === "string" || typeof current.eventId === "number") &&
    typeof current.startMs === "number" &&
    typeof current.endMs === "number" &&
    typeof current.requestedKw === "number" &&
    (current.phase === "scheduled" || current.phase === "active")
  );
}
