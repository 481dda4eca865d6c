import type { Clock } from "../../clock.ts";
import type { VenConfig } from "../../config/resolve.ts";
import type { Logger } from "../../logger.ts";
import type { Ack } from "../../protocol/acks.ts";
import type { SetConfigRequest } from "../../protocol/ops/config.ts";
import type { GetTarget } from "../../protocol/ops/get.ts";
import type { PanelAmperage } from "../../protocol/telemetry.ts";
import { SiteModel, type SiteSnapshot } from "../../simulator/site.ts";
import { VERSION } from "../../version.ts";
import type { OpHandler } from "../commands.ts";
import { eventHandler } from "../ops/event.ts";
import { getHandler } from "../ops/get.ts";
import { restoreHandler } from "../ops/restore.ts";
import { setConfigHandler } from "../ops/set-config.ts";
import { setLoadHandler } from "../ops/set-load.ts";
import { shedLoadHandler } from "../ops/shed-load.ts";
import { buildTelemetry, round2, type EventTelemetry } from "../telemetry.ts";
import { AckMemory } from "./ack-memory.ts";
import { BaselineHistory } from "./baseline.ts";
import { EventManager } from "./manager.ts";

export interface DemandResponseOptions {
  config: VenConfig;
  clock: Clock;
  log: Logger;
  /** Source of the random start delay of events; a number in [0, 1). */
  random: () => number;
  /** Publishes an ack the VEN makes on its own, such as the `expired` restore. */
  publishAck: (ack: Ack) => void;
  /** Applies a new telemetry interval, in seconds. */
  setIntervalS: (seconds: number) => void;
  /** Keeps event state and recent acks in memory instead of the state directory (default false). */
  inMemory?: boolean;
}

/** One site sample for telemetry, with the active event it belongs to. */
export interface SiteSample {
  snapshot: SiteSnapshot;
  event: EventTelemetry | undefined;
}

/**
 * The demand-response side of the agent: the simulated site, event lifecycle, baseline history,
 * the memory of recent acks, and the handlers of every op except `ping`.
 */
export class DemandResponse {
  readonly site: SiteModel;
  readonly events: EventManager;
  readonly acks: AckMemory;
  readonly handlers: Record<string, OpHandler>;
  private readonly history: BaselineHistory;
  private intervalS: number;

  constructor(private readonly options: DemandResponseOptions) {
    const { config, clock, log } = options;
    this.intervalS = config.intervalS;
    this.site = new SiteModel({ seed: config.seed, panelAmperage: config.panelAmps, clock, battery: config.battery, timeScale: config.timeScale });
    this.history = new BaselineHistory(config.baselineWindowMs);
    const stateDir = options.inMemory ? undefined : config.stateDir;
    this.acks = new AckMemory(stateDir, config.idempotenceWindowMs, clock, log.withTag("state"));
    this.events = new EventManager({
      site: this.site,
      history: this.history,
      clock,
      random: options.random,
      log: log.withTag("event"),
      stateDir,
      venId: config.venId,
      publishAck: options.publishAck,
    });
    const event = eventHandler(this.events);
    const set = setConfigHandler((request) => this.applyConfig(request));
    this.handlers = {
      event,
      shedPanel: event,
      restore: restoreHandler(this.events),
      get: getHandler((what) => this.report(what)),
      set,
      setConfig: set,
      setLoad: setLoadHandler(this.site),
      shedLoad: shedLoadHandler(this.site, clock),
    };
  }

  /** Resumes or closes the event saved by the previous run. */
  start(): void {
    this.events.resume();
  }

  stop(): void {
    this.events.stop();
  }

  /** Samples the site for telemetry and records the sample for future baselines. */
  sample(): SiteSample {
    const snapshot = this.site.sample();
    const event = this.events.telemetry();
    const circuitsKw = snapshot.circuits.reduce((sum, reading) => sum + reading.powerKw, 0);
    const usedKw = Math.max(0, circuitsKw + (snapshot.battery?.powerKw ?? 0));
    this.history.record({ atMs: snapshot.timestampMs, usedKw, duringEvent: event !== undefined });
    return { snapshot, event };
  }

  private applyConfig(request: SetConfigRequest): void {
    const log = this.options.log.withTag("cmd");
    if (request.reportIntervalS !== undefined) {
      this.intervalS = request.reportIntervalS;
      this.options.setIntervalS(request.reportIntervalS);
      log.info(`Telemetry interval set to ${request.reportIntervalS} s`);
    }
    if (request.panelAmperage !== undefined) {
      this.site.setPanelAmperage(request.panelAmperage);
      log.info(`Panel amperage set to ${request.panelAmperage} A`);
    }
  }

  private report(what: GetTarget): Record<string, unknown> {
    const { config } = this.options;
    if (what === "config") {
      return {
        report_interval_seconds: this.intervalS,
        panel_amperage: this.site.amperage,
        seed: config.seed,
        time_scale: config.timeScale,
        battery_capacity_kwh: config.battery?.capacityKwh ?? null,
        battery_power_kw: config.battery?.maxPowerKw ?? null,
        baseline_window_seconds: config.baselineWindowMs / 1000,
        idempotence_window_seconds: config.idempotenceWindowMs / 1000,
      };
    }
    const snapshot = this.site.sample();
    const telemetry = buildTelemetry(snapshot, { venId: config.venId, seq: 0, timestamp: Math.floor(snapshot.timestampMs / 1000), legacyFields: false }, this.options.log, this.events.telemetry());
    if (what === "loads") return { loads: telemetry.loads };

    const event = this.events.event;
    const limits = [...this.site.activeLoadLimits()].map(([loadId, limit]) => ({ loadId, limit_kw: round2(limit.maxKw), until_ts: Math.floor(limit.untilMs / 1000) }));
    return {
      venId: config.venId,
      version: VERSION,
      report_interval_seconds: this.intervalS,
      panel_amperage: this.site.amperage satisfies PanelAmperage,
      usedPowerKw: telemetry.usedPowerKw,
      shedPowerKw: telemetry.shedPowerKw,
      baselinePowerKw: telemetry.baselinePowerKw,
      ...(telemetry.batterySoc === undefined ? {} : { batterySoc: telemetry.batterySoc, netPowerKw: telemetry.netPowerKw }),
      event: event
        ? {
            event_id: event.eventId,
            phase: event.phase,
            start_ts: Math.floor(event.startMs / 1000),
            end_ts: Math.floor(event.endMs / 1000),
            requested_shed_kw: round2(event.requestedKw),
            actual_shed_kw: event.result ? round2(event.result.achievedKw) : 0,
          }
        : null,
      load_limits: limits,
    };
  }
}
