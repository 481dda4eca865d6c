import { positiveAck } from "../../protocol/acks.ts";
import { SetConfigCommandSchema, type SetConfigRequest } from "../../protocol/ops/config.ts";
import type { OpHandler } from "../commands.ts";
import { parseOp } from "./parse.ts";

/** `set` and `setConfig`: apply the telemetry interval and the panel size at once. */
export function setConfigHandler(apply: (request: SetConfigRequest) => void): OpHandler {
  return (command, context) => {
    const parsed = parseOp(SetConfigCommandSchema, command, context, undefined);
    if (!parsed.ok) return parsed.ack;
    apply(parsed.value);
    const applied: Record<string, number> = {};
    if (parsed.value.reportIntervalS !== undefined) applied.report_interval_seconds = parsed.value.reportIntervalS;
    if (parsed.value.panelAmperage !== undefined) applied.panel_amperage = parsed.value.panelAmperage;
    return positiveAck(context, "success", { op: command.op, correlationId: command.correlationId ?? null, extra: { data: { applied } } });
  };
}
