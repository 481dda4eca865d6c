import { defineCommand } from "citty";
import { discoverBroker } from "../../aws/discover.ts";
import { UsageError } from "../../errors.ts";
import { sendCommand } from "../../send/sender.ts";
import { settingArgs, type FlagValues } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

export const SEND_POSITIONALS = ["op"] as const;
const DEFAULT_TIMEOUT_S = 10;

/** Flags that set a top-level command field, as the backend sends them. */
const FIELD_FLAGS = [
  { flag: "shed-kw", field: "shed_kw", integer: false, zeroAllowed: false },
  { flag: "duration", field: "duration_sec", integer: false, zeroAllowed: false },
  { flag: "start-ts", field: "start_ts", integer: true, zeroAllowed: false },
  { flag: "randomize", field: "randomize_s", integer: false, zeroAllowed: true },
] as const;

function numberFlag(flag: string, value: string, integer: boolean, zeroAllowed: boolean): number {
  const parsed = Number(value);
  const valid = /^\d+(\.\d+)?$/.test(value.trim()) && (zeroAllowed || parsed > 0) && (!integer || Number.isInteger(parsed));
  if (!valid) {
    const kind = integer ? "whole number" : "number";
    throw new UsageError(`--${flag} must be a ${zeroAllowed ? "" : "positive "}${kind}; got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** Builds the command from the op, `--data` and the field flags; the correlationId is added later. */
export function buildCommand(op: string, venId: string, flags: FlagValues): Record<string, unknown> {
  const command: Record<string, unknown> = { op, venId };
  if (typeof flags.data === "string") {
    let data: unknown;
    try {
      data = JSON.parse(flags.data);
    } catch (error) {
      throw new UsageError(`--data is not JSON: ${(error as Error).message}; got ${JSON.stringify(flags.data)}`, { hint: `Example: --data '{"what":"status"}'` });
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw new UsageError(`--data must be a JSON object; got ${JSON.stringify(flags.data)}`, { hint: `Example: --data '{"loadId":"ev1","enabled":true}'` });
    }
    command.data = data;
  }
  if (typeof flags["event-id"] === "string") command.event_id = flags["event-id"];
  for (const { flag, field, integer, zeroAllowed } of FIELD_FLAGS) {
    const value = flags[flag];
    if (typeof value === "string") command[field] = numberFlag(flag, value, integer, zeroAllowed);
  }
  return command;
}

export const sendCommandDef = defineCommand({
  meta: { name: "send", description: "Send one command to a VEN, wait for its ack and print it (exit 0 success/accepted, 1 rejected/error, 3 timed out)" },
  args: {
    op: { type: "positional", required: false, description: "The op: ping, event, shedPanel, restore, get, set, setConfig, setLoad or shedLoad" },
    ...settingArgs(),
    data: { type: "string", description: "The command's data object, as JSON (e.g. '{\"what\":\"status\"}')", valueHint: "JSON" },
    "shed-kw": { type: "string", description: "Requested reduction in kW, sent as shed_kw", valueHint: "KW" },
    duration: { type: "string", description: "Event duration in seconds, sent as duration_sec", valueHint: "SECONDS" },
    "event-id": { type: "string", description: "Event id, sent as event_id", valueHint: "ID" },
    "start-ts": { type: "string", description: "Event start in Unix seconds, sent as start_ts", valueHint: "SECONDS" },
    randomize: { type: "string", description: "Largest random start delay in seconds, sent as randomize_s", valueHint: "SECONDS" },
    timeout: { type: "string", description: `Seconds to wait for the ack (default ${DEFAULT_TIMEOUT_S}); exit 3 when none arrives`, valueHint: "SECONDS" },
  },
  async run({ data }) {
    const { io, flags } = data as CommandData;
    const op = flags.op;
    if (typeof op !== "string" || op.length === 0) {
      throw new UsageError("ven send needs an op, such as: ven send ping --ven-id ven-home-042", { hint: "Run ven send --help for the ops and options." });
    }
    const timeoutS = typeof flags.timeout === "string" ? numberFlag("timeout", flags.timeout, false, false) : DEFAULT_TIMEOUT_S;
    const { resolved, log } = loadConfiguration(data as CommandData);
    if (resolved.origins.venId.kind === "default") {
      throw new UsageError("ven send needs the venId of the VEN to command", { hint: "Pass --ven-id ID (or set VEN_ID)." });
    }
    const venId = resolved.config.venId;
    return await sendCommand({
      config: await discoverBroker(resolved.config, log),
      venId,
      command: buildCommand(op, venId, flags),
      timeoutS,
      format: outputFormat(resolved, io),
      out: io.stdout,
      clock: io.clock,
      log,
      stopSignal: io.stopSignal,
    });
  },
});
