import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { AckSchema } from "../../src/protocol/acks.ts";
import { TelemetrySchema, type Telemetry } from "../../src/protocol/telemetry.ts";
import { findRuntimeNoise, skipEndToEnd, type VenProcess } from "../helpers/binary.ts";
import { type BinaryAndBroker, listenArgs, parseJsonLine, runArgs, useBinaryAndBroker, waitForStatus } from "./support.ts";

const VEN_ID = "ven-e2e-send";
/**
 * How far usedPowerKw may differ from "before minus actual_shed_kw". Between two samples 1 s apart
 * the random walk takes one step of at most 2 % of each circuit's capacity, 0.86 kW summed over a
 * 200 A panel, so two consecutive samples stay within it.
 */
const TOLERANCE_KW = 1;

let env: BinaryAndBroker;

/** Parses the telemetry lines `ven listen --output jsonl` has printed so far. */
function telemetryLines(listen: VenProcess): Telemetry[] {
  return listen.stdout
    .split("\n")
    .map((line) => parseJsonLine(line) as { payload?: unknown } | undefined)
    .filter((record): record is { payload: Telemetry } => record?.payload !== undefined)
    .map((record) => record.payload);
}

async function waitForTelemetry(listen: VenProcess, predicate: (sample: Telemetry, index: number) => boolean, timeoutMs: number): Promise<Telemetry> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = telemetryLines(listen).find(predicate);
    if (found) return found;
    await Bun.sleep(50);
  }
  throw new Error(`no matching telemetry within ${timeoutMs} ms; listen stderr:\n${listen.stderr}`);
}

function sendArgs(op: string, extra: readonly string[]): string[] {
  return ["send", op, "--broker", env.broker.url, "--ven-id", VEN_ID, "--output", "jsonl", ...extra];
}

describe.skipIf(skipEndToEnd())("ven send against the binary", () => {
  env = useBinaryAndBroker(VEN_ID);

  test("event lowers use; restore brings it back", async () => {
    const ven = env.install.spawn(runArgs(env.target, env.install.newStateDir()));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
    const listen = env.install.spawn(listenArgs(env.target, ["--output", "jsonl"]));
    await waitForTelemetry(listen, (_sample, index) => index >= 2, 10_000);

    const event = await env.install.run(sendArgs("event", ["--shed-kw", "3", "--duration", "120", "--event-id", "e2e-1"]));
    expect(event.exitCode, event.stderr).toBe(0);
    const ack = JSON.parse(event.stdout) as Record<string, unknown>;
    expect(v.safeParse(AckSchema, ack).issues).toBeUndefined();
    expect(ack.status).toBe("accepted");
    const actual = ack.actual_shed_kw as number;
    expect(actual).toBeGreaterThan(0);

    const lines = telemetryLines(listen);
    const before = lines.filter((sample) => sample.eventId === null).at(-1)!;
    // One interval is 1 s; the first sample after the ack must already show the event.
    const during = await waitForTelemetry(listen, (sample) => sample.eventId === "e2e-1", 2500);
    expect(v.safeParse(TelemetrySchema, during).issues).toBeUndefined();
    expect(Math.abs(before.usedPowerKw - actual - during.usedPowerKw)).toBeLessThan(TOLERANCE_KW);
    expect(during.requestedReductionKw).toBe(3);

    const restore = await env.install.run(sendArgs("restore", ["--event-id", "e2e-1"]));
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect((JSON.parse(restore.stdout) as { reason: string }).reason).toBe("restored");
    const seenBefore = telemetryLines(listen).length;
    const after = await waitForTelemetry(listen, (sample, index) => index >= seenBefore && sample.eventId === null, 2500);
    // Several walk steps lie between these two samples, so this bound is an estimate: the steps are
    // independent and uniform, and a drift above 1.5 kW is far in their tail.
    expect(Math.abs(after.usedPowerKw - before.usedPowerKw)).toBeLessThan(TOLERANCE_KW * 1.5);
    for (const entry of ack.circuits_curtailed as { id: string; final_kw: number }[]) {
      if (entry.final_kw === 0) expect(after.loads.find((load) => load.id === entry.id)!.currentPowerKw).toBeGreaterThan(0);
    }
    expect(after.shedPowerKw).toBe(0);
  }, 30_000);

  test("rejection exits 1, timeout exits 3", async () => {
    const ven = env.install.spawn(runArgs(env.target, env.install.newStateDir()));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
    const rejected = await env.install.run(sendArgs("dance", []));
    expect(rejected.exitCode).toBe(1);
    expect((JSON.parse(rejected.stdout) as { error: { code: string } }).error.code).toBe("unsupported_op");

    const timedOut = await env.install.run(["send", "ping", "--broker", env.broker.url, "--ven-id", "ven-nobody", "--timeout", "1"]);
    expect(timedOut.exitCode).toBe(3);
  }, 30_000);

  test("no runtime noise on stderr", () => {
    const noise = findRuntimeNoise(env.install.results);
    expect(noise.stackTraces).toEqual([]);
    expect(noise.runtimeWarnings).toEqual([]);
  });
});
