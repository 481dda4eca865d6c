import { defineCommand } from "citty";
import { UsageError } from "../../errors.ts";
import { discoverBroker } from "../../aws/discover.ts";
import { listen } from "../../listen/listener.ts";
import { checkShareGroup } from "../../listen/share.ts";
import { settingArgs } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

export const LISTEN_REPEATABLE = ["topic"] as const;
const DEFAULT_STATS_INTERVAL_S = 10;

function positiveNumber(flag: string, value: unknown, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (typeof value !== "string" || !/^\d+(\.\d+)?$/.test(value.trim()) || parsed <= 0 || (integer && !Number.isInteger(parsed))) {
    throw new UsageError(`--${flag} must be a positive ${integer ? "whole number" : "number of seconds"}; got ${JSON.stringify(value)}`);
  }
  return parsed;
}

export const listenCommand = defineCommand({
  meta: { name: "listen", description: "Show what VENs publish: telemetry of one VEN (--ven-id) or all, plus any --topic" },
  args: {
    ...settingArgs(),
    topic: { type: "string", description: "Also subscribe to this topic filter; repeatable, {venId} is replaced (e.g. ven/ack/{venId})", valueHint: "FILTER" },
    count: { type: "string", description: "Exit 0 after this many messages", valueHint: "N" },
    timeout: { type: "string", description: "Stop after this many seconds; exit 3 if nothing arrived", valueHint: "SECONDS" },
    share: {
      type: "string",
      description: "Join this MQTT 5 shared-subscription group, so listeners of one group split the stream (mosquitto 2, AWS IoT Core; not the embedded broker)",
      valueHint: "GROUP",
    },
    stats: { type: "boolean", description: "Print messages per second, VENs, seq gaps, duplicates and delay per interval, and a summary at exit, instead of each message" },
    "stats-interval": { type: "string", description: `Seconds between --stats reports (default ${DEFAULT_STATS_INTERVAL_S})`, valueHint: "SECONDS" },
  },
  async run({ data }) {
    const { io, flags } = data as CommandData;
    const count = positiveNumber("count", flags.count, true);
    const timeoutS = positiveNumber("timeout", flags.timeout, false);
    const statsIntervalS = positiveNumber("stats-interval", flags["stats-interval"], false);
    if (statsIntervalS !== undefined && flags.stats !== true) throw new UsageError("--stats-interval needs --stats");
    const share = typeof flags.share === "string" ? flags.share : undefined;
    const { resolved, log } = loadConfiguration(data as CommandData);
    if (share !== undefined) checkShareGroup(share, resolved.config);
    // Only an id that was asked for narrows the subscription; the host-name default does not.
    const venId = resolved.origins.venId.kind === "default" ? "+" : resolved.config.venId;
    const topics = Array.isArray(flags.topic) ? flags.topic : [];
    return await listen({
      config: await discoverBroker(resolved.config, log),
      venId,
      extraTopics: topics,
      count,
      timeoutS,
      share,
      stats: flags.stats === true ? { intervalMs: (statsIntervalS ?? DEFAULT_STATS_INTERVAL_S) * 1000 } : undefined,
      format: outputFormat(resolved, io),
      out: io.stdout,
      clock: io.clock,
      log,
      stopSignal: io.stopSignal,
    });
  },
});
