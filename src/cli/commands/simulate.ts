import { defineCommand } from "citty";
import { resolve as resolvePath } from "node:path";
import { discoverBroker } from "../../aws/discover.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import { createLogger } from "../../logger.ts";
import { seedFromString } from "../../simulator/prng.ts";
import { parseDuration } from "../../simulate/duration.ts";
import { simulatedVenIds } from "../../simulate/ids.ts";
import { runSimulation } from "../../simulate/run.ts";
import { formatSummary } from "../../simulate/summary.ts";
import { settingArgs, type FlagValues } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

/** AWS IoT Core limits connects per second per account, so the default stays low. */
const DEFAULT_CONNECT_RATE = 100;
const MAX_COUNT = 1_000_000;
const MAX_CONNECT_RATE = 100_000;

export const simulateCommand = defineCommand({
  meta: {
    name: "simulate",
    description:
      "Run --count complete VENs in one process for load tests. Each keeps its sequence number, event state and outbox in memory (thousands of fsyncs per second would measure the disk), so nothing survives a restart and no state directory is used. Simulated VENs log warnings and errors only unless --log-level is debug or trace.",
  },
  args: {
    ...settingArgs(),
    count: { type: "string", description: `Number of simulated VENs, 1 to ${MAX_COUNT} (required)`, valueHint: "N" },
    "id-prefix": { type: "string", description: "venIds are PREFIX-000001, PREFIX-000002 and so on (default sim)", valueHint: "PREFIX" },
    "id-offset": {
      type: "string",
      description: "Numbers to skip before the first venId, so processes split a fleet: --id-offset 5000 starts at PREFIX-005001 (default 0)",
      valueHint: "K",
    },
    duration: { type: "string", description: "Stop after this long: seconds, or with a unit (40s, 5m, 2h); default: until SIGINT or SIGTERM", valueHint: "DURATION" },
    "connect-rate": {
      type: "string",
      description: `Max first connects per second (default ${DEFAULT_CONNECT_RATE}; AWS IoT Core limits connects per second per account). Reconnects are not paced`,
      valueHint: "R",
    },
    "certs-dir": {
      type: "string",
      description: "Folder with one subfolder per venId containing client.crt, client.key and optionally ca.pem (AWS IoT Core needs one identity per VEN); without it every VEN uses --cert and --key",
      valueHint: "DIR",
    },
  },
  async run({ data }) {
    const { io } = data as CommandData;
    const flags: FlagValues = { ...(data as CommandData).flags };
    const count = wholeNumber("count", flags.count, 1, MAX_COUNT);
    if (count === undefined) throw new UsageError("--count is required", { hint: "Example: ven simulate --count 1000 --duration 5m" });
    const prefix = typeof flags["id-prefix"] === "string" ? flags["id-prefix"] : "sim";
    const offset = wholeNumber("id-offset", flags["id-offset"], 0, Number.MAX_SAFE_INTEGER - MAX_COUNT) ?? 0;
    const venIds = simulatedVenIds({ prefix, offset, count });
    const durationMs = typeof flags.duration === "string" ? parseDuration("duration", flags.duration) : undefined;
    const connectRate = positiveRate(flags["connect-rate"]) ?? DEFAULT_CONNECT_RATE;
    const certsDirFlag = flags["certs-dir"];
    const certsDir = typeof certsDirFlag === "string" ? resolvePath(io.cwd, certsDirFlag) : undefined;

    // The interval also takes a unit here; the setting itself takes whole seconds.
    if (typeof flags.interval === "string" && !/^\d+$/.test(flags.interval.trim())) flags.interval = wholeSeconds("interval", flags.interval);
    // `--output json` is the name the summary uses; the setting calls one JSON object per line jsonl.
    const jsonRequested = flags.output === "json";
    if (jsonRequested) delete flags.output;

    const { resolved, log } = loadConfiguration({ io, flags }, { certificatesPending: certsDir !== undefined });
    const config = await discoverBroker(resolved.config, log);
    const explicitSeed = resolved.origins.seed.kind === "default" ? undefined : config.seed;
    const venLevel = config.logLevel === "info" ? "warn" : config.logLevel;

    const summary = await runSimulation({
      config,
      venIds,
      // An explicit --seed gives VEN number n the seed seed + n, so every process derives the same seeds.
      seedOf: (venId, index) => (explicitSeed === undefined ? seedFromString(venId) : (explicitSeed + offset + index + 1) >>> 0),
      connectRatePerSecond: connectRate,
      durationMs,
      certsDir,
      clock: io.clock,
      log,
      venLog: createLogger({ level: venLevel, format: config.logFormat, sink: io.stderr }),
      hostname: io.hostname,
      pid: io.pid,
      stopSignal: io.stopSignal,
      progress: io.stderr.isTTY ? io.stderr : undefined,
    });

    const json = jsonRequested || outputFormat(resolved, io) === "jsonl";
    io.stdout.write(json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
    return ExitCode.ok;
  },
});

function wholeNumber(flag: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value.trim()) || parsed < min || parsed > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function positiveRate(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (typeof value !== "string" || !/^\d+(\.\d+)?$/.test(value.trim()) || parsed <= 0 || parsed > MAX_CONNECT_RATE) {
    throw new UsageError(`--connect-rate must be a number of connects per second above 0 and at most ${MAX_CONNECT_RATE}; got ${JSON.stringify(value)}`, {
      hint: `Example: --connect-rate ${DEFAULT_CONNECT_RATE}`,
    });
  }
  return parsed;
}

function wholeSeconds(flag: string, text: string): string {
  const ms = parseDuration(flag, text);
  if (ms % 1000 !== 0) throw new UsageError(`--${flag} must be whole seconds; got ${JSON.stringify(text)}`, { hint: `Example: --${flag} 5s` });
  return String(ms / 1000);
}
