import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { systemClock } from "../../src/clock.ts";
import type { SimulationSummary } from "../../src/simulate/summary.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

describe("ven simulate command", () => {
  let broker: AedesHandle;

  beforeAll(async () => {
    broker = await startAedes();
  });

  afterAll(async () => {
    await broker?.close();
  });

  test("runs for --duration and prints JSON", async () => {
    const result = await runCli(
      ["simulate", "--count", "3", "--id-prefix", "cli", "--id-offset", "20", "--duration", "2500ms", "--interval", "1s", "--broker", broker.url, "--mqtt-version", "3.1.1", "--output", "json"],
      { clock: systemClock },
    );
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);

    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as SimulationSummary;
    expect(summary.vens).toBe(3);
    expect(summary.firstVenId).toBe("cli-000021");
    expect(summary.lastVenId).toBe("cli-000023");
    expect(summary.connected).toBe(3);
    expect(summary.elapsedSeconds).toBeGreaterThanOrEqual(2.5);
    expect(summary.cpuSeconds).toBeGreaterThan(0);

    const metering = broker.published.filter((message) => message.topic === "volttron/metering");
    expect(summary.telemetryPublished).toBeGreaterThanOrEqual(6);
    expect(summary.telemetryAcknowledged).toBe(metering.length);
    expect(new Set(metering.map((message) => message.clientId))).toEqual(new Set(["cli-000021", "cli-000022", "cli-000023"]));
  }, 20_000);

  test("pretty summary lists the counters", async () => {
    const result = await runCli(["simulate", "--count", "2", "--duration", "1", "--broker", broker.url, "--mqtt-version", "3.1.1", "--output", "pretty"], { clock: systemClock });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Simulated 2 VEN(s), sim-000001 to sim-000002");
    for (const row of ["connected", "connect rate", "telemetry", "acks sent", "reconnects", "errors", "CPU"]) expect(result.stdout).toContain(`  ${row}`);
  }, 20_000);

  test("stop signal ends the run", async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort("SIGINT"), 500);
    const result = await runCli(["simulate", "--count", "2", "--broker", broker.url, "--mqtt-version", "3.1.1", "--output", "json"], { clock: systemClock, stopSignal: stop.signal });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("Stopping 2 simulated VEN(s) on SIGINT");
    expect((JSON.parse(result.stdout) as SimulationSummary).vens).toBe(2);
  }, 20_000);

  test("missing per-VEN folder is named", async () => {
    const dir = await makeTempDir("ven-sim-certs-");
    try {
      mkdirSync(join(dir, "sim-000001"));
      const result = await runCli(["simulate", "--count", "2", "--broker", "mqtts://127.0.0.1:8883", "--certs-dir", dir]);
      expect(result.code).toBe(2);
      // The first folder exists but is empty, so its certificate is reported first.
      expect(result.stderr).toContain("Simulated VEN sim-000001");
      expect(result.stderr).toContain(join(dir, "sim-000001", "client.crt"));

      mkdirSync(join(dir, "other"));
      const second = await runCli(["simulate", "--count", "2", "--id-offset", "1", "--broker", "mqtts://127.0.0.1:8883", "--certs-dir", dir]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`Certificate folder ${join(dir, "sim-000002")} for simulated VEN sim-000002 not found`);
    } finally {
      await removeTempDir(dir);
    }
  });
});
