import { positiveAck } from "../../protocol/acks.ts";
import { SetLoadCommandSchema } from "../../protocol/ops/loads.ts";
import type { SiteModel } from "../../simulator/site.ts";
import type { OpHandler } from "../commands.ts";
import { parseOp, unknownLoadAck } from "./parse.ts";

/**
 * `setLoad`: switches one circuit on or off. During an event, a circuit that the event curtails
 * stays held at the event's limit after it is switched on.
 */
export function setLoadHandler(site: SiteModel): OpHandler {
  return (command, context) => {
    const parsed = parseOp(SetLoadCommandSchema, command, context, undefined);
    if (!parsed.ok) return parsed.ack;
    const { loadId, enabled } = parsed.value;
    if (!site.setEnabled(loadId, enabled)) return unknownLoadAck(command, context, loadId, site.circuitIds());
    return positiveAck(context, "success", {
      op: command.op,
      correlationId: command.correlationId ?? null,
      extra: { data: { loadId, enabled } },
    });
  };
}
