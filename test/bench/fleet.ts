/**
 * Fleet and outbox measurements. Both depend on parts of the binary that are still being built,
 * so each checks the binary first and records why it was not measured instead of a figure.
 */
import { commandOutput, type BenchContext, type Measurement, type SectionResult } from "./lib.ts";

export const fleet: Measurement = {
  name: "fleet",
  title: "Fleet simulation",
  tools: [],
  async run(context: BenchContext): Promise<SectionResult> {
    const help = commandOutput([context.binary, "simulate", "--help"]);
    if (help === undefined) return { kind: "not measured", reason: "`ven simulate` is not available" };
    // TODO: measure VENs kept connected, connect rate and CPU per 1,000 VENs once `ven simulate` exists.
    return { kind: "not measured", reason: "`ven simulate` exists, but this harness has no fleet measurement yet" };
  },
};

export const outbox: Measurement = {
  name: "outbox",
  title: "Outbox drain",
  tools: [],
  async run(context: BenchContext): Promise<SectionResult> {
    const help = commandOutput([context.binary, "run", "--help"]);
    if (help === undefined || !help.includes("--outbox")) return { kind: "not measured", reason: "the binary has no outbox" };
    // TODO: measure the drain once the outbox can be filled quickly. At the default interval,
    // 10,000 buffered messages take about 14 hours of telemetry while the broker is down.
    return {
      kind: "not measured",
      reason: "the binary has an outbox, but the harness cannot fill it with 10,000 messages quickly yet",
    };
  },
};
