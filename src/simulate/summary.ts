import type { FleetCounters } from "./fleet.ts";

/** The result of a simulation run, printed at the end and as JSON with `--output json`. */
export interface SimulationSummary {
  vens: number;
  firstVenId: string;
  lastVenId: string;
  /** Seconds from the first start to the stop, on the injected clock. */
  elapsedSeconds: number;
  /** VENs connected when the stop began. */
  connected: number;
  /** VENs that connected at least once. */
  everConnected: number;
  telemetryPublished: number;
  telemetryAcknowledged: number;
  acksSent: number;
  reconnects: number;
  connectionErrors: number;
  /** Error lines logged by the VENs; identical lines within a second count once. */
  errorsLogged: number;
  /** First connections per second, from the first start to the last VEN's first connection; null when that took no time. */
  connectRatePerSecond: number | null;
  /** Seconds until every VEN had connected once; null if some never did. */
  connectSeconds: number | null;
  /** User plus system CPU time of the whole process, from `process.cpuUsage()`. */
  cpuSeconds: number;
  /** Percent of one core used per 1,000 VENs, averaged over the run, ramp-up included. */
  cpuPercentPer1000Vens: number | null;
}

export interface SummaryInputs {
  counts: FleetCounters;
  /** VENs connected when the stop began. */
  connectedAtStop: number;
  venIds: readonly string[];
  startedAtMs: number;
  stoppedAtMs: number;
  errorsLogged: number;
  cpuSeconds: number;
}

export function buildSummary(inputs: SummaryInputs): SimulationSummary {
  const { counts } = inputs;
  const elapsedSeconds = Math.max(0, (inputs.stoppedAtMs - inputs.startedAtMs) / 1000);
  const connectSeconds = counts.lastFirstConnectAt !== undefined && counts.firstStartAt !== undefined ? (counts.lastFirstConnectAt - counts.firstStartAt) / 1000 : null;
  const rampEnd = counts.lastFirstConnectAt ?? inputs.stoppedAtMs;
  const rampSeconds = counts.firstStartAt === undefined ? 0 : (rampEnd - counts.firstStartAt) / 1000;
  return {
    vens: counts.vens,
    firstVenId: inputs.venIds[0] ?? "",
    lastVenId: inputs.venIds.at(-1) ?? "",
    elapsedSeconds: round(elapsedSeconds, 3),
    connected: inputs.connectedAtStop,
    everConnected: counts.everConnected,
    telemetryPublished: counts.telemetryPublished,
    telemetryAcknowledged: counts.telemetryAcknowledged,
    acksSent: counts.acksSent,
    reconnects: counts.reconnects,
    connectionErrors: counts.connectionErrors,
    errorsLogged: inputs.errorsLogged,
    connectRatePerSecond: rampSeconds > 0 ? round(counts.everConnected / rampSeconds, 1) : null,
    connectSeconds: connectSeconds === null ? null : round(connectSeconds, 3),
    cpuSeconds: round(inputs.cpuSeconds, 2),
    cpuPercentPer1000Vens: elapsedSeconds > 0 && counts.vens > 0 ? round((inputs.cpuSeconds / elapsedSeconds / (counts.vens / 1000)) * 100, 2) : null,
  };
}

/** Formats the summary as lines for a person. */
export function formatSummary(summary: SimulationSummary): string {
  const connectRate = summary.connectRatePerSecond === null ? "not measured (no time passed)" : `${summary.connectRatePerSecond} per second`;
  const allConnected = summary.connectSeconds === null ? `${summary.everConnected} of ${summary.vens} connected at least once` : `all connected once after ${summary.connectSeconds} s`;
  const cpuShare = summary.cpuPercentPer1000Vens === null ? "" : `, ${summary.cpuPercentPer1000Vens}% of one core per 1,000 VENs`;
  const rows: [string, string][] = [
    ["connected", `${summary.connected} of ${summary.vens} at the stop; ${allConnected}`],
    ["connect rate", connectRate],
    ["telemetry", `${summary.telemetryPublished} published, ${summary.telemetryAcknowledged} acknowledged by the broker`],
    ["acks sent", String(summary.acksSent)],
    ["reconnects", String(summary.reconnects)],
    ["errors", `${summary.connectionErrors} connection error(s), ${summary.errorsLogged} error line(s) logged`],
    ["CPU", `${summary.cpuSeconds} s${cpuShare}`],
  ];
  const head = `Simulated ${summary.vens} VEN(s), ${summary.firstVenId} to ${summary.lastVenId}, for ${summary.elapsedSeconds} s`;
  return `${[head, ...rows.map(([name, value]) => `  ${name.padEnd(14)}${value}`)].join("\n")}\n`;
}

/** Formats one progress line from two snapshots taken `seconds` apart. */
export function formatProgress(now: FleetCounters, before: FleetCounters, seconds: number): string {
  const perSecond = (count: number) => (seconds > 0 ? (count / seconds).toFixed(0) : "0");
  const published = perSecond(now.telemetryPublished - before.telemetryPublished);
  const acknowledged = perSecond(now.telemetryAcknowledged - before.telemetryAcknowledged);
  return `connected ${now.connected}/${now.vens}, telemetry ${published}/s published, ${acknowledged}/s acknowledged, acks ${now.acksSent}, reconnects ${now.reconnects}, errors ${now.connectionErrors}`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
