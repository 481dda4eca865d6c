import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { resolveConfig } from "../../src/config/resolve.ts";
import { createLogger } from "../../src/logger.ts";
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";
import { seedFromString } from "../../src/simulator/prng.ts";
import type { SimulatedFleet } from "../../src/simulate/fleet.ts";
import { simulatedVenIds } from "../../src/simulate/ids.ts";
import { runSimulation } from "../../src/simulate/run.ts";
import type { SimulationSummary } from "../../src/simulate/summary.ts";
import { startAedes, type AedesHandle, type RecordedPublish } from "../helpers/brokers.ts";
import { ManualClock } from "../helpers/clock.ts";
import { connectClient, json, waitUntil } from "./agent-harness.ts";

const COUNT = 50;
const INTERVALS = 3;

describe("ven simulate fleet against aedes", () => {
  let broker: AedesHandle;
  let clock: ManualClock;
  let fleet: SimulatedFleet;
  let summary: SimulationSummary;
  let pingAck: RecordedPublish;
  let publishedBeforeStop: RecordedPublish[];
  const venIds = simulatedVenIds({ prefix: "sim", offset: 100, count: COUNT });
  const logs: string[] = [];

  beforeAll(async () => {
    broker = await startAedes();
    const { config } = resolveConfig({
      flags: { broker: broker.url, mqttVersion: "3.1.1", reconnectMinDelay: "0.05", reconnectMaxDelay: "0.2" },
      env: {},
      cwd: "/nonexistent-state",
      hostname: "sim-host",
      homeDir: "/nonexistent-state",
    });
    clock = new ManualClock(Date.now());
    const sink = { write: (text: string) => logs.push(text) };
    const stop = new AbortController();
    let started: SimulatedFleet | undefined;
    const running = runSimulation({
      config,
      venIds,
      seedOf: (venId) => seedFromString(venId),
      connectRatePerSecond: 1000,
      durationMs: undefined,
      certsDir: undefined,
      clock,
      log: createLogger({ level: "warn", format: "pretty", sink }),
      venLog: createLogger({ level: "warn", format: "pretty", sink }),
      hostname: "sim-host",
      pid: 4242,
      stopSignal: stop.signal,
      progress: undefined,
      onStarted: (value) => (started = value),
    });
    await waitUntil(() => started !== undefined, clock);
    fleet = started!;
    await waitUntil(() => fleet.counts.connected === COUNT, clock, 10_000);

    // Several intervals of telemetry, stepping the clock while the broker's I/O runs in real time.
    for (let step = 0; step < (INTERVALS * 5000) / 100; step++) {
      clock.advance(100);
      await Bun.sleep(2);
    }
    await waitUntil(() => fleet.counts.telemetryAcknowledged === fleet.counts.telemetryPublished, clock, 5000);

    const tester = await connectClient(broker);
    const since = broker.published.length;
    await tester.publishAsync(`ven/cmd/${venIds[6]}`, JSON.stringify({ op: "ping", correlationId: "c-fleet-7" }), { qos: 1 });
    pingAck = await broker.waitFor((message) => message.topic.startsWith("ven/ack/"), 5000, since);
    await waitUntil(() => fleet.counts.acksSent === 1, clock);
    await tester.endAsync();

    publishedBeforeStop = [...broker.published];
    stop.abort("SIGTERM");
    summary = await running;
  }, 60_000);

  afterAll(async () => {
    await broker?.close();
  });

  const meteringOf = (messages: RecordedPublish[]) => messages.filter((message) => message.topic === "volttron/metering");

  test("every VEN connects with its own client ID", () => {
    const clients = new Set(meteringOf(publishedBeforeStop).map((message) => message.clientId));
    expect([...clients].sort()).toEqual([...venIds].sort());
  });

  test("telemetry validates against the schema", () => {
    const invalid = meteringOf(publishedBeforeStop)
      .map((message) => v.safeParse(TelemetrySchema, json(message.payload)))
      .filter((result) => !result.success);
    expect(invalid).toEqual([]);
  });

  test("each VEN has its own seq from 1", () => {
    for (const venId of venIds) {
      const payloads = meteringOf(publishedBeforeStop)
        .filter((message) => message.clientId === venId)
        .map((message) => json(message.payload));
      expect(payloads.every((payload) => payload.venId === venId)).toBe(true);
      const seqs = payloads.map((payload) => payload.seq as number);
      expect(seqs.length).toBeGreaterThanOrEqual(INTERVALS);
      expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    }
  });

  test("sites differ between VENs", () => {
    const first = (venId: string) => json(meteringOf(publishedBeforeStop).find((message) => message.clientId === venId)!.payload);
    expect(first(venIds[0]!).usedPowerKw).not.toEqual(first(venIds[1]!).usedPowerKw);
  });

  test("ping is acked by its VEN only", () => {
    expect(pingAck.topic).toBe(`ven/ack/${venIds[6]}`);
    expect(pingAck.clientId).toBe(venIds[6]!);
    expect(json(pingAck.payload)).toMatchObject({ op: "ping", status: "success", venId: venIds[6], correlationId: "c-fleet-7" });
    const acks = publishedBeforeStop.filter((message) => message.topic.startsWith("ven/ack/"));
    expect(acks.length).toBe(1);
  });

  test("summary counts match the broker", () => {
    expect(summary.vens).toBe(COUNT);
    expect(summary.connected).toBe(COUNT);
    expect(summary.everConnected).toBe(COUNT);
    expect(summary.telemetryPublished).toBe(meteringOf(broker.published).length);
    expect(summary.telemetryAcknowledged).toBe(meteringOf(broker.published).length);
    expect(summary.acksSent).toBe(1);
    expect(summary.reconnects).toBe(0);
    expect(summary.connectionErrors).toBe(0);
    expect(summary.errorsLogged).toBe(0);
    expect(summary.firstVenId).toBe("sim-000101");
    expect(summary.lastVenId).toBe("sim-000150");
  });

  test("every VEN publishes offline on stop", () => {
    const offline = broker.published.filter((message) => message.topic.startsWith("ven/status/") && json(message.payload).status === "offline");
    expect(new Set(offline.map((message) => message.clientId)).size).toBe(COUNT);
    expect(offline.every((message) => message.retain && json(message.payload).reason === "shutdown")).toBe(true);
  });

  test("telemetry ticks spread over the interval", () => {
    // VEN i ticks i/50 of the way into each 5 s interval, so the fleet's first samples fall in
    // many different 100 ms slots instead of one burst.
    const firstAt = venIds.map((venId) => meteringOf(publishedBeforeStop).find((message) => message.clientId === venId)!);
    const slots = new Set(firstAt.map((message) => Math.floor(json(message.payload).timestamp as number)));
    expect(slots.size).toBeGreaterThan(3);
  });
});
