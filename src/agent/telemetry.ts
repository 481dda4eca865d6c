import type { Logger } from "../logger.ts";
import type { LoadEntry, Telemetry } from "../protocol/telemetry.ts";
import { BATTERY_ID, BATTERY_NAME } from "../simulator/battery.ts";
import { capacityKw, shedShare } from "../simulator/circuits.ts";
import type { BatteryReading, SiteSnapshot } from "../simulator/site.ts";

export interface TelemetryContext {
  venId: string;
  seq: number;
  /** Unix seconds. */
  timestamp: number;
  /** Adds `ts`, `power_kw`, `shed_kw` and `message_num` for older consumers. */
  legacyFields: boolean;
}

/** The active event as telemetry reports it. */
export interface EventTelemetry {
  /** Telemetry carries the id as a string, so a numeric event id is sent as its decimal text. */
  eventId: string;
  baselineKw: number;
  requestedKw: number;
}

/** Priority reported for the battery: below every circuit, because it is never shed. */
const BATTERY_PRIORITY = 9;

/** Rounds to 2 decimals, the precision the backend displays. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Builds one telemetry message from a site snapshot. A reading that is not a finite number is
 * reported as 0 and logged, so one broken circuit never makes the backend drop the whole sample.
 */
export function buildTelemetry(snapshot: SiteSnapshot, context: TelemetryContext, log: Logger, event?: EventTelemetry): Telemetry {
  const loads: LoadEntry[] = snapshot.circuits.map((reading) => {
    let power = reading.powerKw;
    // Only a battery or PV circuit may read negative (discharging or producing).
    const mayExport = reading.spec.type === "battery" || reading.spec.type === "pv";
    if (!Number.isFinite(power) || (power < 0 && !mayExport)) {
      log.warn(`Circuit ${reading.spec.id} read ${String(power)} kW, which is not a valid draw; reporting 0 kW for this sample`);
      power = 0;
    }
    const currentPowerKw = round2(power);
    return {
      id: reading.spec.id,
      name: reading.spec.name,
      type: reading.spec.type,
      capacityKw: round2(capacityKw(reading.spec)),
      currentPowerKw,
      shedCapabilityKw: reading.spec.critical ? 0 : round2(Math.max(0, currentPowerKw) * shedShare(reading.spec.id)),
      enabled: reading.enabled,
      critical: reading.spec.critical,
      priority: reading.spec.priority,
    };
  });

  if (snapshot.battery) loads.push(batteryEntry(snapshot.battery));

  const netPowerKw = round2(loads.reduce((sum, load) => sum + load.currentPowerKw, 0));
  const usedPowerKw = round2(Math.max(0, netPowerKw));
  const baselinePowerKw = event ? round2(Math.max(0, event.baselineKw)) : usedPowerKw;
  const panelMaxKw = round2((snapshot.panelAmperage * snapshot.panelVoltage) / 1000);
  const telemetry: Telemetry = {
    schemaVersion: "1",
    venId: context.venId,
    timestamp: context.timestamp,
    seq: context.seq,
    usedPowerKw,
    ...(snapshot.battery ? { netPowerKw } : {}),
    shedPowerKw: event ? round2(Math.max(0, baselinePowerKw - usedPowerKw)) : 0,
    requestedReductionKw: event ? round2(Math.max(0, event.requestedKw)) : 0,
    eventId: event ? event.eventId : null,
    baselinePowerKw,
    ...(snapshot.battery ? { batterySoc: Math.round(Math.min(1, Math.max(0, snapshot.battery.soc)) * 1000) / 1000 } : {}),
    panelAmperageRating: snapshot.panelAmperage,
    panelVoltage: snapshot.panelVoltage,
    panelMaxKw,
    currentAmps: round2((usedPowerKw * 1000) / snapshot.panelVoltage),
    panelUtilizationPercent: panelMaxKw > 0 ? round2((usedPowerKw / panelMaxKw) * 100) : 0,
    loads,
  };
  if (context.legacyFields) {
    telemetry.ts = telemetry.timestamp;
    telemetry.power_kw = telemetry.usedPowerKw;
    telemetry.shed_kw = telemetry.shedPowerKw;
    telemetry.message_num = telemetry.seq;
  }
  return telemetry;
}

function batteryEntry(battery: BatteryReading): LoadEntry {
  const powerKw = Number.isFinite(battery.powerKw) ? battery.powerKw : 0;
  return {
    id: BATTERY_ID,
    name: BATTERY_NAME,
    type: "battery",
    capacityKw: round2(battery.spec.maxPowerKw),
    currentPowerKw: round2(powerKw),
    shedCapabilityKw: 0,
    enabled: true,
    critical: false,
    priority: BATTERY_PRIORITY,
  };
}
