import { positiveAck } from "../../protocol/acks.ts";
import { GetCommandSchema, type GetTarget } from "../../protocol/ops/get.ts";
import type { OpHandler } from "../commands.ts";
import { parseOp } from "./parse.ts";

/** `get`: reports the status, the configuration or the loads in the ack's `data`. */
export function getHandler(report: (what: GetTarget) => Record<string, unknown>): OpHandler {
  return (command, context) => {
    const parsed = parseOp(GetCommandSchema, command, context, undefined);
    if (!parsed.ok) return parsed.ack;
    const what = parsed.value.what;
    return positiveAck(context, "success", {
      op: command.op,
      correlationId: command.correlationId ?? null,
      extra: { data: { what, ...report(what) } },
    });
  };
}
