import type { Clock } from "../../clock.ts";
import { ACK_ERROR_CODES, negativeAck, positiveAck } from "../../protocol/acks.ts";
import { ShedLoadCommandSchema } from "../../protocol/ops/loads.ts";
import type { SiteModel } from "../../simulator/site.ts";
import type { OpHandler } from "../commands.ts";
import { round2 } from "../telemetry.ts";
import { parseOp, unknownLoadAck } from "./parse.ts";

/**
 * `shedLoad`: limits one circuit to its present uncurtailed draw minus `reduceKw` for `durationS`.
 * Critical circuits are never shed. The limit applies next to an event's, and the lower one wins.
 */
export function shedLoadHandler(site: SiteModel, clock: Clock): OpHandler {
  return (command, context) => {
    const parsed = parseOp(ShedLoadCommandSchema, command, context, undefined);
    if (!parsed.ok) return parsed.ack;
    const { loadId, reduceKw, durationS } = parsed.value;
    const reading = site.uncurtailed().find((candidate) => candidate.spec.id === loadId);
    if (!reading) return unknownLoadAck(command, context, loadId, site.circuitIds());
    if (reading.spec.critical) {
      return negativeAck(context, "rejected", {
        op: command.op,
        correlationId: command.correlationId ?? null,
        code: ACK_ERROR_CODES.invalidCommand,
        message: `data.loadId ${JSON.stringify(loadId)} is a critical circuit, and critical circuits are never shed`,
      });
    }

    const maxKw = Math.max(0, reading.powerKw - reduceKw);
    const untilMs = clock.now() + durationS * 1000;
    site.setLoadLimit(loadId, maxKw, untilMs);
    return positiveAck(context, "accepted", {
      op: command.op,
      correlationId: command.correlationId ?? null,
      extra: {
        data: {
          loadId,
          requested_kw: round2(reduceKw),
          achieved_kw: round2(reading.powerKw - maxKw),
          limit_kw: round2(maxKw),
          until_ts: Math.floor(untilMs / 1000),
        },
      },
    });
  };
}
