/** Formats an ack for `ven send`: one JSON line, or a summary line and the indented JSON for a terminal. */
export function formatAck(ack: Record<string, unknown>, format: "pretty" | "jsonl"): string {
  if (format === "jsonl") return `${JSON.stringify(ack)}\n`;
  const parts = [`${String(ack.op)} ${String(ack.status)}`];
  if (ack.event_id !== undefined) parts.push(`event_id ${JSON.stringify(ack.event_id)}`);
  if (typeof ack.requested_shed_kw === "number") parts.push(`requested ${ack.requested_shed_kw} kW`);
  if (typeof ack.actual_shed_kw === "number") parts.push(`curtailed ${ack.actual_shed_kw} kW`);
  if (typeof ack.battery_kw === "number") parts.push(`battery ${ack.battery_kw} kW`);
  if (typeof ack.reason === "string") parts.push(`reason ${ack.reason}`);
  const error = ack.error as { code?: unknown; message?: unknown } | undefined;
  if (error && typeof error === "object") parts.push(`error ${String(error.code)}: ${String(error.message)}`);
  return `${parts.join(", ")}\n${JSON.stringify(ack, null, 2)}\n`;
}

/** Exit status for an ack status: 0 for success and accepted, 1 for rejected, error or anything else. */
export function ackSucceeded(status: unknown): boolean {
  return status === "success" || status === "accepted";
}
