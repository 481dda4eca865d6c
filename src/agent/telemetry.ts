import type { Logger } from "../logger.ts";
import type { LoadEntry, Telemetry } from "../protocol/telemetry.ts";
import { capacityKw, shedShare } from "../simulator/circuits.ts";
import type { SiteSnapshot } from "../simulator/site.ts";

export interface TelemetryContext {
  venId: string;
  seq: number;
  /** Unix seconds. */
  timestamp: number;
  /** Adds `ts`, `power_kw`, `shed_kw` and `message_num` for older consumers. */
  legacyFields: boolean;
}

/** Rounds to 2 decimals, the precision the backend displays. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Builds one telemetry message from a site snapshot. A reading that is not a finite number is
 * reported as 0 and logged, so one broken circuit never makes the backend drop the whole sample.
 */
export function buildTelemetry(snapshot: SiteSnapshot, context: TelemetryContext, log: Logger): Telemetry {
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

  const usedPowerKw = round2(Math.max(0, loads.reduce((sum, load) => sum + load.currentPowerKw, 0)));
  const panelMaxKw = round2((snapshot.panelAmperage * snapshot.panelVoltage) / 1000);
  const telemetry: Telemetry = {
    schemaVersion: "1",
    venId: context.venId,
    timestamp: context.timestamp,
    seq: context.seq,
    usedPowerKw,
    shedPowerKw: 0,
    requestedReductionKw: 0,
    eventId: null,
    baselinePowerKw: usedPowerKw,
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
