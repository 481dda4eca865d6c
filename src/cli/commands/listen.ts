import { defineCommand } from "citty";
import { UsageError } from "../../errors.ts";
import { listen } from "../../listen/listener.ts";
import { settingArgs } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

export const LISTEN_REPEATABLE = ["topic"] as const;

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
  },
  async run({ data }) {
    const { io, flags } = data as CommandData;
    const count = positiveNumber("count", flags.count, true);
    const timeoutS = positiveNumber("timeout", flags.timeout, false);
    const { resolved, log } = loadConfiguration(data as CommandData);
    // Only an id that was asked for narrows the subscription; the host-name default does not.
    const venId = resolved.origins.venId.kind === "default" ? "+" : resolved.config.venId;
    const topics = Array.isArray(flags.topic) ? flags.topic : [];
    return await listen({
      config: resolved.config,
      venId,
      extraTopics: topics,
      count,
      timeoutS,
      format: outputFormat(resolved, io),
      out: io.stdout,
      clock: io.clock,
      log,
      stopSignal: io.stopSignal,
    });
  },
});
