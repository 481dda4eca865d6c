import { instanceId } from "../agent/instance.ts";
import { startEmbeddedBroker, type EmbeddedBroker } from "../broker/embedded.ts";
import { unixSeconds, type Clock, type TimerHandle } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import type { OutputStream } from "../cli/io.ts";
import { LogLevels } from "consola/core";
import type { Logger } from "../logger.ts";
import { loadFleetTls } from "./certs.ts";
import { SimulatedFleet, type FleetCounters } from "./fleet.ts";
import { buildSummary, formatProgress, type SimulationSummary } from "./summary.ts";

const PROGRESS_INTERVAL_MS = 1000;

export interface SimulationOptions {
  config: VenConfig;
  venIds: readonly string[];
  seedOf: (venId: string, index: number) => number;
  connectRatePerSecond: number;
  /** Stops by itself after this long; undefined runs until `stopSignal`. */
  durationMs: number | undefined;
  certsDir: string | undefined;
  clock: Clock;
  /** Logger of the run itself. */
  log: Logger;
  /** Parent of the VENs' loggers; the run counts the error lines logged through it. */
  venLog: Logger;
  hostname: string;
  pid: number;
  stopSignal: AbortSignal;
  /** Stream for the progress line; undefined prints none. */
  progress: OutputStream | undefined;
  cpuUsage?: () => NodeJS.CpuUsage;
  /** Called once every VEN is queued, for tests that reach into the fleet. */
  onStarted?: (fleet: SimulatedFleet) => void;
}

/**
 * `ven simulate` from start to stop: checks every VEN's certificate files before any socket
 * opens, starts the embedded broker when no broker is configured, runs the fleet until the
 * duration ends or the stop signal comes, stops every VEN cleanly and returns the summary.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  const { config, clock, log } = options;
  const tlsOf = loadFleetTls(config, options.venIds, options.certsDir, clock);
  const cpuUsage = options.cpuUsage ?? (() => process.cpuUsage());
  const cpuAtStart = cpuUsage();

  let embedded: EmbeddedBroker | undefined;
  if (config.broker.embedded) {
    embedded = await startEmbeddedBroker(config.broker.host, config.broker.port, log.withTag("broker"));
    log.withTag("broker").info(`No broker configured: embedded MQTT broker listening on ${embedded.host}:${embedded.port} (MQTT 3.1.1)`);
  }

  let errorsLogged = 0;
  options.venLog.addReporter({
    log(logObj) {
      if (logObj.level <= LogLevels.error) errorsLogged++;
    },
  });

  const fleet = new SimulatedFleet({
    config,
    venIds: options.venIds,
    seedOf: options.seedOf,
    tlsOf,
    connectRatePerSecond: options.connectRatePerSecond,
    clock,
    venLog: options.venLog,
    instance: instanceId(options.hostname, options.pid, unixSeconds(clock)),
  });
  const startedAtMs = clock.now();
  log.info(`Starting ${options.venIds.length} simulated VEN(s), ${options.venIds[0]} to ${options.venIds.at(-1)}, at most ${options.connectRatePerSecond} connects per second`);
  fleet.start();
  options.onStarted?.(fleet);
  const progress = options.progress ? startProgress(fleet, clock, options.progress) : undefined;

  const reason = await waitForStop(options);
  progress?.stop();
  const connectedAtStop = fleet.counts.connected;
  log.info(`Stopping ${options.venIds.length} simulated VEN(s) on ${reason}`);
  await fleet.stop();
  await embedded?.close();

  const cpu = cpuUsage();
  return buildSummary({
    counts: fleet.counts,
    connectedAtStop,
    venIds: options.venIds,
    startedAtMs,
    stoppedAtMs: clock.now(),
    errorsLogged,
    cpuSeconds: (cpu.user - cpuAtStart.user + cpu.system - cpuAtStart.system) / 1e6,
  });
}

/** Resolves with the reason to stop: the end of the duration or the signal's reason. */
function waitForStop(options: SimulationOptions): Promise<string> {
  const { clock, stopSignal, durationMs } = options;
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    const onAbort = () => {
      if (timer) clock.clearTimeout(timer);
      const reason = stopSignal.reason;
      resolve(typeof reason === "string" ? reason : "the stop signal");
    };
    if (stopSignal.aborted) {
      onAbort();
      return;
    }
    stopSignal.addEventListener("abort", onAbort, { once: true });
    if (durationMs !== undefined) {
      timer = clock.setTimeout(() => {
        stopSignal.removeEventListener("abort", onAbort);
        resolve(`the end of --duration (${durationMs / 1000} s)`);
      }, durationMs);
    }
  });
}

/** Rewrites one status line on a terminal every second until stopped. */
function startProgress(fleet: SimulatedFleet, clock: Clock, out: OutputStream): { stop(): void } {
  let before: FleetCounters = fleet.counts;
  let beforeAt = clock.now();
  let timer: TimerHandle | undefined;
  const tick = () => {
    const now = fleet.counts;
    const at = clock.now();
    out.write(`\r\u001b[K${formatProgress(now, before, (at - beforeAt) / 1000)}`);
    before = now;
    beforeAt = at;
    timer = clock.setTimeout(tick, PROGRESS_INTERVAL_MS);
  };
  timer = clock.setTimeout(tick, PROGRESS_INTERVAL_MS);
  return {
    stop() {
      if (timer) clock.clearTimeout(timer);
      out.write("\r\u001b[K");
    },
  };
}
