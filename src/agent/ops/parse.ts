import * as v from "valibot";
import { ACK_ERROR_CODES, negativeAck, type Ack, type AckContext, type EchoedId } from "../../protocol/acks.ts";
import type { CommandEnvelope } from "../../protocol/commands.ts";
import { issueMessages } from "../../protocol/ops/fields.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; ack: Ack };

/**
 * Validates a command against its op's schema. A failure becomes a `rejected` ack whose message
 * names each field path, what was expected and what arrived.
 */
export function parseOp<T>(
  schema: v.GenericSchema<unknown, T>,
  command: CommandEnvelope,
  context: AckContext,
  eventId: EchoedId | undefined,
): Parsed<T> {
  const result = v.safeParse(schema, command);
  if (result.success) return { ok: true, value: result.output };
  return {
    ok: false,
    ack: negativeAck(context, "rejected", {
      op: command.op,
      correlationId: command.correlationId ?? null,
      eventId,
      code: ACK_ERROR_CODES.invalidCommand,
      message: issueMessages(result.issues),
    }),
  };
}

/** The rejection for a `loadId` the panel does not have, listing the ids it does have. */
export function unknownLoadAck(command: CommandEnvelope, context: AckContext, loadId: string, known: readonly string[]): Ack {
  return negativeAck(context, "rejected", {
    op: command.op,
    correlationId: command.correlationId ?? null,
    code: ACK_ERROR_CODES.unknownLoad,
    message: `data.loadId ${JSON.stringify(loadId)} is not a circuit of this panel; known ids: ${known.join(", ")}`,
  });
}
