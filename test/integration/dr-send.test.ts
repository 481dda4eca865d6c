import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { systemClock } from "../../src/clock.ts";
import { AckSchema } from "../../src/protocol/acks.ts";
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { runCli } from "../helpers/cli.ts";
import { VEN_ID, json, startAgent, waitUntil, type AgentUnderTest } from "./agent-harness.ts";

const ACK_TOPIC = `ven/ack/${VEN_ID}`;
const METERING = "volttron/metering";

let broker: AedesHandle;
let running: AgentUnderTest | undefined;

beforeEach(async () => {
  broker = await startAedes();
});

afterEach(async () => {
  await running?.agent.stop(200);
  running = undefined;
  await broker.close();
});

async function startConnected(flags = {}): Promise<AgentUnderTest> {
  running = await startAgent(broker.url, flags);
  const ven = running;
  await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
  return ven;
}

function send(args: string[]) {
  return runCli(["send", ...args, "--broker", broker.url, "--mqtt-version", "3.1.1", "--output", "jsonl", "--log-level", "warn"], { clock: systemClock });
}

describe("ven send against an agent", () => {
  test("ping prints the ack", async () => {
    await startConnected();
    const result = await send(["ping", "--ven-id", VEN_ID]);
    expect(result.code, result.stderr).toBe(0);
    const ack = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(v.safeParse(AckSchema, ack).issues).toBeUndefined();
    expect(ack.pong).toBe(true);
    expect(String(ack.correlationId)).toMatch(/^send-[0-9a-f]{12}$/);
  });

  test("event is accepted, exit 0", async () => {
    await startConnected();
    const result = await send(["event", "--ven-id", VEN_ID, "--shed-kw", "3", "--duration", "60", "--event-id", "e-send"]);
    expect(result.code, result.stderr).toBe(0);
    const ack = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(ack.status).toBe("accepted");
    expect(ack.event_id).toBe("e-send");
  });

  test("rejection exits 1", async () => {
    await startConnected();
    const result = await send(["setConfig", "--ven-id", VEN_ID, "--data", '{"report_interval_seconds":0}']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { status: string }).status).toBe("rejected");
  });

  test("no VEN: exit 3", async () => {
    const result = await send(["ping", "--ven-id", "ven-nobody", "--timeout", "0.5"]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("No ack");
  });

  test("never uses the VEN's client ID", async () => {
    await startConnected();
    const clientIds: string[] = [];
    broker.broker.on("client", (client) => clientIds.push(client.id));
    await send(["ping", "--ven-id", VEN_ID]);
    expect(clientIds.length).toBe(1);
    expect(clientIds[0]).toMatch(new RegExp(`^${VEN_ID}-send-[0-9a-f]{8}$`));
  });

  test("telemetry drops after event", async () => {
    const ven = await startConnected({ interval: "5" });
    for (let tick = 0; tick < 6; tick++) {
      ven.clock.advance(5000);
      await Bun.sleep(5);
    }
    await waitUntil(() => broker.published.filter((message) => message.topic === METERING).length >= 6, undefined);
    const before = json(broker.published.filter((message) => message.topic === METERING).at(-1)!.payload);
    const since = broker.published.length;
    const result = await send(["event", "--ven-id", VEN_ID, "--shed-kw", "4", "--duration", "300", "--event-id", "e-drop"]);
    const ack = JSON.parse(result.stdout) as { actual_shed_kw: number };
    ven.clock.advance(5000);
    const during = json((await broker.waitFor((message) => message.topic === METERING, 5000, since)).payload);
    expect(v.safeParse(TelemetrySchema, during).issues).toBeUndefined();
    expect(during.eventId).toBe("e-drop");
    expect((before.usedPowerKw as number) - (during.usedPowerKw as number)).toBeCloseTo(ack.actual_shed_kw, 0);
  });

  test("expiry ack reaches the broker", async () => {
    const ven = await startConnected();
    await send(["event", "--ven-id", VEN_ID, "--shed-kw", "1", "--duration", "2", "--event-id", "e-exp"]);
    ven.clock.advance(2000);
    const expired = await broker.waitFor((message) => message.topic === ACK_TOPIC && json(message.payload).reason === "expired");
    expect(json(expired.payload)).toMatchObject({ op: "restore", status: "success", event_id: "e-exp", correlationId: null });
  });
});

describe("ven send usage", () => {
  test("op is required", async () => {
    const result = await runCli(["send", "--ven-id", VEN_ID]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("needs an op");
  });

  test("venId is required", async () => {
    const result = await runCli(["send", "ping"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--ven-id");
  });

  test("second positional is rejected", async () => {
    const result = await runCli(["send", "ping", "extra", "--ven-id", VEN_ID]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("takes one argument (<op>)");
  });

  test.each([
    ["--data", "[1]", "--data must be a JSON object"],
    ["--data", "{", "--data is not JSON"],
    ["--shed-kw", "0", "--shed-kw must be a positive number"],
    ["--start-ts", "1.5", "--start-ts must be a positive whole number"],
    ["--timeout", "abc", "--timeout must be a positive number"],
  ])("%s %s is a usage error", async (flag, value, message) => {
    const result = await runCli(["send", "event", "--ven-id", VEN_ID, flag, value]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test("run still takes no arguments", async () => {
    const result = await runCli(["run", "extra"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("takes no arguments");
  });

  test("broker unreachable: exit 4", async () => {
    const result = await runCli(["send", "ping", "--ven-id", VEN_ID, "--broker", "mqtt://127.0.0.1:1", "--mqtt-version", "3.1.1"], { clock: systemClock });
    expect(result.code).toBe(4);
  });
});
