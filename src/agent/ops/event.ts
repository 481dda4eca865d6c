import { ACK_ERROR_CODES, negativeAck } from "../../protocol/acks.ts";
import { eventIdOf } from "../../protocol/commands.ts";
import { EventCommandSchema } from "../../protocol/ops/event.ts";
import type { OpHandler } from "../commands.ts";
import type { EventManager } from "../events/manager.ts";
import { parseOp } from "./parse.ts";

/**
 * `event` and its alias `shedPanel`: curtails the site for the requested time. Without an explicit
 * event id, the correlationId serves as the id, for the ack, the expiry ack and repeats alike.
 */
export function eventHandler(events: EventManager): OpHandler {
  return (command, context) => {
    const parsed = parseOp(EventCommandSchema, command, context, eventIdOf(command));
    if (!parsed.ok) return parsed.ack;
    const correlationId = command.correlationId ?? null;
    const eventId = parsed.value.eventId ?? command.correlationId;
    if (eventId === undefined) {
      return negativeAck(context, "rejected", {
        op: command.op,
        correlationId,
        code: ACK_ERROR_CODES.invalidCommand,
        message: "event_id is missing: expected a string or number in one of event_id, data.event_id, eventId, or a correlationId to serve as the id; got nothing",
      });
    }
    return events.handleEvent(parsed.value, eventId, correlationId, context, command.op);
  };
}
