import { unixSeconds, type Clock } from "../../clock.ts";
import type { Logger } from "../../logger.ts";
import { ACK_ERROR_CODES, negativeAck, positiveAck, type Ack, type AckContext, type EchoedId } from "../../protocol/acks.ts";
import type { EventRequest } from "../../protocol/ops/event.ts";
import type { RestoreRequest } from "../../protocol/ops/restore.ts";
import { planCurtailment } from "../../simulator/curtailment.ts";
import type { SiteModel } from "../../simulator/site.ts";
import { round2, type EventTelemetry } from "../telemetry.ts";
import { stateFile } from "../state-dir.ts";
import type { BaselineHistory } from "./baseline.ts";
import { isEventStateFile, type EndedEvent, type EventRecord, type EventResult, type EventStateFile } from "./event-state.ts";
import { readStateJson, writeStateJson } from "./json-file.ts";
import { AtTimer } from "./timers.ts";

export const EVENT_STATE_FILE = "event.json";
/** How long an ended event is remembered for `restore`, and how many at most. */
const ENDED_MEMORY_MS = 24 * 3600 * 1000;
const MAX_ENDED = 256;

export interface EventManagerOptions {
  site: SiteModel;
  history: BaselineHistory;
  clock: Clock;
  /** Returns a number in [0, 1) for the random start delay. */
  random: () => number;
  log: Logger;
  /** File of the saved event state; undefined keeps it in memory only, so it does not survive a restart. */
  stateDir: string | undefined;
  venId: string;
  /** Publishes an ack the VEN makes on its own: the `expired` restore. */
  publishAck: (ack: Ack) => void;
}

/**
 * The demand-response event lifecycle: schedules, starts, replaces, restores and expires events,
 * applies their curtailment to the site model, and keeps the state in the state directory so an
 * event survives a restart. Every time comes from the injected clock.
 */
export class EventManager {
  private current: EventRecord | undefined;
  private ended: EndedEvent[] = [];
  private readonly timer: AtTimer;
  private readonly path: string | undefined;
  private resumed = false;

  constructor(private readonly options: EventManagerOptions) {
    this.timer = new AtTimer(options.clock);
    this.path = options.stateDir === undefined ? undefined : stateFile(options.stateDir, EVENT_STATE_FILE);
  }

  /** The active or scheduled event, if any. */
  get event(): Readonly<EventRecord> | undefined {
    return this.current;
  }

  /**
   * Loads the saved state once: an event still running is resumed until its end, one that ended
   * while the VEN was down is closed with the `expired` ack, and a scheduled one is scheduled again.
   */
  resume(): void {
    if (this.resumed) return;
    this.resumed = true;
    const { clock, log } = this.options;
    const saved = this.path === undefined ? undefined : readStateJson(this.path, clock.now(), log, isEventStateFile);
    if (!saved) return;
    this.ended = saved.ended;
    const record = saved.current;
    if (!record) return;

    const now = clock.now();
    if (record.endMs <= now) {
      log.info(`Event ${JSON.stringify(record.eventId)} ended while the VEN was stopped; closing it`);
      this.current = record;
      this.expire();
      return;
    }
    this.current = record;
    if (record.phase === "active" && record.result) {
      this.applyResult(record.result);
      this.timer.set(record.endMs, () => this.expire());
      log.info(`Event ${JSON.stringify(record.eventId)} resumed until ${new Date(record.endMs).toISOString()}`);
    } else {
      record.phase = "scheduled";
      this.scheduleStart(record);
    }
  }

  /** Stops the timers without ending the event: its state stays saved for the next start. */
  stop(): void {
    this.timer.clear();
  }

  /** Event fields that telemetry reports while an event is active. */
  telemetry(): EventTelemetry | undefined {
    const record = this.current;
    if (!record || record.phase !== "active" || !record.result) return undefined;
    return { eventId: String(record.eventId), baselineKw: record.result.baselineKw, requestedKw: record.requestedKw };
  }

  /** Carries out an `event` command and returns its ack. */
  handleEvent(request: EventRequest, eventId: EchoedId, correlationId: EchoedId | null, context: AckContext, op: string): Ack {
    const { clock, log } = this.options;
    const fingerprint = JSON.stringify([request.shedKw, request.durationS, request.startTs ?? null, request.randomizeS]);
    const existing = this.current;
    if (existing && existing.eventId === eventId && existing.fingerprint === fingerprint) {
      log.info(`Event ${JSON.stringify(eventId)} received again with the same request; returning the original result`);
      return positiveAck(context, "accepted", { op, correlationId, eventId, extra: this.resultFields(existing) });
    }

    const now = clock.now();
    const delayMs = request.randomizeS > 0 ? Math.floor(this.options.random() * request.randomizeS * 1000) : 0;
    const startMs = (request.startTs === undefined ? now : request.startTs * 1000) + delayMs;
    const endMs = startMs + request.durationS * 1000;
    if (endMs <= now) {
      return negativeAck(context, "rejected", {
        op,
        correlationId,
        eventId,
        code: ACK_ERROR_CODES.invalidCommand,
        message: `start_ts ${request.startTs} plus duration ${request.durationS} s ended at ${Math.floor(endMs / 1000)}, before now (${Math.floor(now / 1000)}); send a start_ts in the future or leave it out`,
      });
    }

    if (existing) this.endCurrent(existing.eventId === eventId ? undefined : "replaced", `replaced by event ${JSON.stringify(eventId)}`);
    const record: EventRecord = {
      eventId,
      correlationId,
      fingerprint,
      requestedKw: request.shedKw,
      durationS: request.durationS,
      startMs: Math.max(startMs, now),
      endMs,
      phase: "scheduled",
    };
    this.current = record;
    if (record.startMs > now) this.scheduleStart(record);
    else this.activate(record);
    this.save();
    return positiveAck(context, "accepted", { op, correlationId, eventId, extra: this.resultFields(record) });
  }

  /** Carries out a `restore` command and returns its ack. */
  handleRestore(request: RestoreRequest, correlationId: EchoedId | null, context: AckContext, op: string): Ack {
    const record = this.current;
    const wanted = request.eventId;
    if (record && (wanted === undefined || wanted === record.eventId)) {
      const reason = record.phase === "active" ? "restored" : "cancelled";
      this.endCurrent(undefined, reason === "restored" ? "restored by command" : "cancelled before its start");
      this.save();
      return positiveAck(context, "success", { op, correlationId, eventId: record.eventId, extra: { reason } });
    }
    if (wanted === undefined) {
      return positiveAck(context, "success", { op, correlationId, extra: { reason: "already_ended" } });
    }
    if (this.recentlyEnded(wanted)) {
      return positiveAck(context, "success", { op, correlationId, eventId: wanted, extra: { reason: "already_ended" } });
    }
    const active = record ? `; the present event is ${JSON.stringify(record.eventId)}` : "; no event is active";
    return negativeAck(context, "rejected", {
      op,
      correlationId,
      eventId: wanted,
      code: ACK_ERROR_CODES.unknownEvent,
      message: `event_id ${JSON.stringify(wanted)} is neither active nor recently ended${active}`,
    });
  }

  private scheduleStart(record: EventRecord): void {
    this.options.log.info(`Event ${JSON.stringify(record.eventId)} scheduled to start at ${new Date(record.startMs).toISOString()}`);
    this.timer.set(record.startMs, () => {
      if (this.current !== record) return;
      this.activate(record);
      this.save();
    });
  }

  /** Plans curtailment from the uncurtailed site, applies it and arms the end timer. */
  private activate(record: EventRecord): void {
    const { site, history, log } = this.options;
    const now = this.options.clock.now();
    site.clearEventLimits();
    site.setBatteryDischarge(0);
    const readings = site.uncurtailed();
    const plan = planCurtailment(readings, record.requestedKw);
    const shortfall = Math.max(0, record.requestedKw - plan.achievedKw);
    const batteryKw = shortfall > 0 ? site.batteryAvailableKw(shortfall) : 0;
    const fromHistory = history.baselineAt(now);
    // With no sample in the window yet, the present uncurtailed draw is the one sample there is.
    const baselineKw = fromHistory?.kw ?? readings.reduce((sum, reading) => sum + reading.powerKw, 0);

    const result: EventResult = {
      baselineKw,
      achievedKw: plan.achievedKw,
      batteryKw,
      circuits: plan.steps.map((step) => ({
        id: step.spec.id,
        name: step.spec.name,
        breaker_amps: step.spec.breakerAmps,
        original_kw: round2(step.originalKw),
        curtailed_kw: round2(step.curtailedKw),
        final_kw: round2(step.finalKw),
        critical: step.spec.critical,
      })),
      limits: plan.steps.map((step) => [step.spec.id, step.finalKw]),
    };
    record.phase = "active";
    record.startMs = now;
    record.result = result;
    this.applyResult(result);
    this.timer.set(record.endMs, () => this.expire());
    const partial = plan.achievedKw + batteryKw + 0.005 < record.requestedKw ? " (partial: the site cannot shed more)" : "";
    log.info(
      `Event ${JSON.stringify(record.eventId)} started: ${round2(record.requestedKw)} kW requested, ${round2(plan.achievedKw)} kW curtailed, ${round2(batteryKw)} kW from the battery${partial}; baseline ${round2(baselineKw)} kW from ${fromHistory?.samples ?? 1} sample(s); ends ${new Date(record.endMs).toISOString()}`,
    );
  }

  private applyResult(result: EventResult): void {
    this.options.site.setEventLimits(new Map(result.limits));
    this.options.site.setBatteryDischarge(result.batteryKw);
  }

  /** Ends the event at its end time and publishes the `expired` restore ack. */
  private expire(): void {
    const record = this.current;
    if (!record) return;
    this.endCurrent(undefined, "expired");
    this.save();
    const timestamp = unixSeconds(this.options.clock);
    this.options.publishAck(
      positiveAck({ venId: this.options.venId, timestamp }, "success", { op: "restore", correlationId: null, eventId: record.eventId, extra: { reason: "expired" } }),
    );
  }

  /**
   * Restores the site and clears the current event. With `ackReason`, a restore ack with that
   * reason is published for it, so the backend's history of a replaced event gets an end.
   */
  private endCurrent(ackReason: string | undefined, why: string): void {
    const record = this.current;
    if (!record) return;
    this.timer.clear();
    this.options.site.clearEventLimits();
    this.options.site.setBatteryDischarge(0);
    this.current = undefined;
    const now = this.options.clock.now();
    this.ended = [...this.ended.filter((entry) => entry.eventId !== record.eventId && entry.endedAtMs >= now - ENDED_MEMORY_MS), { eventId: record.eventId, endedAtMs: now }].slice(-MAX_ENDED);
    this.options.log.info(`Event ${JSON.stringify(record.eventId)} ended: ${why}`);
    if (ackReason) {
      const timestamp = unixSeconds(this.options.clock);
      this.options.publishAck(
        positiveAck({ venId: this.options.venId, timestamp }, "success", { op: "restore", correlationId: null, eventId: record.eventId, extra: { reason: ackReason } }),
      );
    }
  }

  private recentlyEnded(eventId: EchoedId): boolean {
    const oldest = this.options.clock.now() - ENDED_MEMORY_MS;
    return this.ended.some((entry) => entry.eventId === eventId && entry.endedAtMs >= oldest);
  }

  /** Builds the fields of an event ack: the request, the achieved reduction and the event's times. */
  private resultFields(record: EventRecord): Record<string, unknown> {
    const result = record.result;
    const fields: Record<string, unknown> = {
      requested_shed_kw: round2(record.requestedKw),
      actual_shed_kw: result ? round2(result.achievedKw) : 0,
      circuits_curtailed: result ? result.circuits : [],
      start_ts: Math.floor(record.startMs / 1000),
      end_ts: Math.floor(record.endMs / 1000),
    };
    if (this.options.site.hasBattery) fields.battery_kw = result ? round2(result.batteryKw) : 0;
    if (record.phase === "scheduled") fields.scheduled = true;
    return fields;
  }

  private save(): void {
    const file: EventStateFile = { version: 1, current: this.current ?? null, ended: this.ended };
    if (this.path !== undefined) writeStateJson(this.path, file, this.options.log);
  }
}
