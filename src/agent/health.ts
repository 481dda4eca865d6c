import { readFileSync } from "node:fs";
import type { Clock } from "../clock.ts";
import { stateFile, writeFileAtomic } from "./state-dir.ts";

export const HEALTH_FILE = "health.json";

/** Content of the health file that `ven status` reads, rewritten as the agent's state changes. */
export interface HealthRecord {
  venId: string;
  pid: number;
  instance: string;
  /** ISO time of the last rewrite. */
  updatedAt: string;
  intervalS: number;
  connected: boolean;
  /** ISO time the present state (connected or not) began. */
  since: string;
  lastTelemetryPublishedAt: string | null;
  lastTelemetryAckedAt: string | null;
  outbox: { depth: number; oldestAt: string | null };
  lastError: string | null;
  takeoverSuspected: string | null;
  refusedSubscriptions: string[];
  waitingForClock: boolean;
  stopped: boolean;
}

/**
 * Keeps the health file in the state directory current. Writes are atomic and at most one per
 * second unless the connection state changes.
 */
export class HealthFile {
  private record: HealthRecord;
  private lastWrite = 0;
  private readonly path: string;

  constructor(
    stateDir: string,
    private readonly clock: Clock,
    initial: Pick<HealthRecord, "venId" | "pid" | "instance" | "intervalS">,
  ) {
    this.path = stateFile(stateDir, HEALTH_FILE);
    const now = new Date(clock.now()).toISOString();
    this.record = {
      ...initial,
      updatedAt: now,
      connected: false,
      since: now,
      lastTelemetryPublishedAt: null,
      lastTelemetryAckedAt: null,
      outbox: { depth: 0, oldestAt: null },
      lastError: null,
      takeoverSuspected: null,
      refusedSubscriptions: [],
      waitingForClock: false,
      stopped: false,
    };
    this.write(true);
  }

  get current(): Readonly<HealthRecord> {
    return this.record;
  }

  update(change: Partial<HealthRecord>, force = false): void {
    const connectionChanged = change.connected !== undefined && change.connected !== this.record.connected;
    if (connectionChanged) change.since = new Date(this.clock.now()).toISOString();
    this.record = { ...this.record, ...change };
    this.write(force || connectionChanged);
  }

  private write(force: boolean): void {
    const now = this.clock.now();
    if (!force && now - this.lastWrite < 1000) return;
    this.lastWrite = now;
    this.record.updatedAt = new Date(now).toISOString();
    try {
      writeFileAtomic(this.path, `${JSON.stringify(this.record, null, 2)}\n`);
    } catch {
      // The health file is a report; failing to write it must not stop the agent.
    }
  }
}

export function readHealth(stateDir: string): HealthRecord | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(stateDir, HEALTH_FILE), "utf8")) as HealthRecord;
  } catch {
    return undefined;
  }
}

/**
 * Judges a health record: healthy when the process is alive, connected, no subscription was
 * refused, and telemetry was acknowledged within three intervals. Returns the problems found.
 */
export function healthProblems(record: HealthRecord, nowMs: number, processAlive: (pid: number) => boolean): string[] {
  const problems: string[] = [];
  if (record.stopped) problems.push("the VEN is stopped");
  else if (!processAlive(record.pid)) problems.push(`process ${record.pid} is not running (the VEN stopped without a clean shutdown)`);
  if (!record.connected) problems.push(`not connected since ${record.since}${record.lastError ? `: ${record.lastError}` : ""}`);
  if (record.refusedSubscriptions.length > 0) problems.push(`subscription rejected by the broker: ${record.refusedSubscriptions.join(", ")}`);
  if (record.takeoverSuspected) problems.push(record.takeoverSuspected);
  if (record.waitingForClock) problems.push("waiting for the system clock to be set");
  const acked = record.lastTelemetryAckedAt ? Date.parse(record.lastTelemetryAckedAt) : undefined;
  const limitMs = Math.max(3 * record.intervalS * 1000, 15_000);
  if (!record.stopped && record.connected && (acked === undefined ? nowMs - Date.parse(record.since) > limitMs : nowMs - acked > limitMs)) {
    problems.push(`no telemetry acknowledged by the broker in the last ${Math.round(limitMs / 1000)} s`);
  }
  return problems;
}
