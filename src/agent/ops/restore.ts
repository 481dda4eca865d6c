import { eventIdOf } from "../../protocol/commands.ts";
import { RestoreCommandSchema } from "../../protocol/ops/restore.ts";
import type { OpHandler } from "../commands.ts";
import type { EventManager } from "../events/manager.ts";
import { parseOp } from "./parse.ts";

/** `restore`: ends the active event, or cancels a scheduled one, at once. */
export function restoreHandler(events: EventManager): OpHandler {
  return (command, context) => {
    const parsed = parseOp(RestoreCommandSchema, command, context, eventIdOf(command));
    if (!parsed.ok) return parsed.ack;
    return events.handleRestore(parsed.value, command.correlationId ?? null, context, command.op);
  };
}
