import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import * as v from "valibot";
import { AckSchema } from "../../src/protocol/acks.ts";
import { StatusSchema } from "../../src/protocol/status.ts";
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { VEN_ID, connectClient, json, startAgent, waitUntil, type AgentUnderTest } from "./agent-harness.ts";

const TELEMETRY_TOPICS = ["volttron/metering", `ven/telemetry/${VEN_ID}`];
const COMMAND_TOPIC = `ven/cmd/${VEN_ID}`;
const ACK_TOPIC = `ven/ack/${VEN_ID}`;
const STATUS_TOPIC = `ven/status/${VEN_ID}`;

let broker: AedesHandle;
let running: AgentUnderTest | undefined;
let clients: MqttClient[] = [];

beforeEach(async () => {
  broker = await startAedes();
});

afterEach(async () => {
  for (const client of clients) await client.endAsync(true);
  clients = [];
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

async function sendCommand(payload: string | Buffer, options: { retain?: boolean } = {}): Promise<void> {
  const client = await connectClient(broker);
  clients.push(client);
  await client.publishAsync(COMMAND_TOPIC, payload, { qos: 1, retain: options.retain ?? false });
}

function ackFor(correlationId: string, since = 0) {
  return broker.waitFor((message) => message.topic === ACK_TOPIC && json(message.payload).correlationId === correlationId, 5000, since);
}

describe("VEN agent on an in-process broker", () => {
  test("telemetry validates on both topics", async () => {
    await startConnected();
    for (const topic of TELEMETRY_TOPICS) {
      const message = await broker.waitFor((candidate) => candidate.topic === topic);
      const result = v.safeParse(TelemetrySchema, json(message.payload));
      expect(result.issues).toBeUndefined();
      expect(message.qos).toBe(1);
    }
  });

  test("telemetry seq counts up each interval", async () => {
    const ven = await startConnected({ interval: "5" });
    await broker.waitFor((message) => message.topic === TELEMETRY_TOPICS[0]);
    ven.clock.advance(5000);
    ven.clock.advance(5000);
    await waitUntil(() => broker.published.filter((message) => message.topic === TELEMETRY_TOPICS[0]).length >= 3, undefined);
    const samples = broker.published.filter((message) => message.topic === TELEMETRY_TOPICS[0]).map((message) => json(message.payload));
    expect(samples.map((sample) => sample.seq)).toEqual([1, 2, 3]);
    expect((samples[1]!.timestamp as number) - (samples[0]!.timestamp as number)).toBe(5);
  });

  test("online status is retained on connect", async () => {
    await startConnected();
    const message = await broker.waitFor((candidate) => candidate.topic === STATUS_TOPIC);
    expect(message.retain).toBe(true);
    const status = v.parse(StatusSchema, json(message.payload));
    expect(status.status).toBe("online");
    expect(status.instance).toBe("it-host/4242/1764849985");
  });

  test("ping is acked", async () => {
    await startConnected();
    await sendCommand(JSON.stringify({ op: "ping", correlationId: "ping-0001" }));
    const ack = json((await ackFor("ping-0001")).payload);
    expect(v.safeParse(AckSchema, ack).issues).toBeUndefined();
    expect(ack).toMatchObject({ op: "ping", status: "success", ok: true, pong: true, venId: VEN_ID });
  });

  test("malformed command then ping", async () => {
    await startConnected();
    await sendCommand('{"op": "ping", "correlationId": "broken-1", ');
    const rejected = json((await ackFor("broken-1")).payload);
    expect(rejected.status).toBe("rejected");
    expect((rejected.error as { code: string }).code).toBe("invalid_command");

    await sendCommand(JSON.stringify({ op: "ping", correlationId: "after-broken" }));
    const ack = json((await ackFor("after-broken")).payload);
    expect(ack.status).toBe("success");
  });

  test("junk payloads never stop the agent", async () => {
    const ven = await startConnected();
    const junk: (string | Buffer)[] = ["", "{", "null", "[]", '"text"', Buffer.from([0xff, 0xfe, 0x7b]), "x".repeat(1_000_000)];
    for (const payload of junk) await sendCommand(payload);
    await sendCommand(JSON.stringify({ op: "ping", correlationId: "after-junk" }));
    expect(json((await ackFor("after-junk")).payload).status).toBe("success");
    expect(ven.logs.filter((line) => line.includes("Invalid command on")).length).toBe(junk.length);
  });

  test("unknown op is rejected", async () => {
    await startConnected();
    await sendCommand(JSON.stringify({ op: "dance", correlationId: "op-1" }));
    const ack = json((await ackFor("op-1")).payload);
    expect(ack.status).toBe("rejected");
    expect((ack.error as { code: string }).code).toBe("unsupported_op");
  });

  test("retained command is never executed", async () => {
    await sendCommand(JSON.stringify({ op: "ping", correlationId: "stale-1" }), { retain: true });
    const ven = await startConnected();
    await sendCommand(JSON.stringify({ op: "ping", correlationId: "fresh-1" }));
    await ackFor("fresh-1");
    expect(broker.published.some((message) => message.topic === ACK_TOPIC && json(message.payload).correlationId === "stale-1")).toBe(false);
    expect(ven.logs.filter((line) => line.includes("Ignored a retained message")).length).toBe(1);
  });

  test("broker restart: resubscribes and answers", async () => {
    const ven = await startConnected();
    const connectsBefore = broker.connects;
    const since = broker.published.length;
    await broker.restart();
    await waitUntil(() => broker.connects > connectsBefore && ven.agent.supervisor.connected, ven.clock);
    await broker.waitFor((message) => message.topic === STATUS_TOPIC && json(message.payload).status === "online", 5000, since);
    await sendCommand(JSON.stringify({ op: "ping", correlationId: "after-restart" }));
    expect(json((await ackFor("after-restart", since)).payload).status).toBe("success");
  });

  test("stop leaves a retained offline status", async () => {
    const ven = await startConnected();
    await ven.agent.stop(1000);
    running = undefined;
    const message = await broker.waitFor((candidate) => candidate.topic === STATUS_TOPIC && json(candidate.payload).status === "offline");
    expect(message.retain).toBe(true);
    expect(json(message.payload).reason).toBe("shutdown");
    // A clean DISCONNECT means the broker never publishes the last will.
    await Bun.sleep(100);
    expect(broker.published.some((candidate) => candidate.topic === STATUS_TOPIC && json(candidate.payload).reason === "connection_lost")).toBe(false);
  });

  test("lost connection publishes the last will", async () => {
    const ven = await startConnected();
    const client = broker.broker;
    const since = broker.published.length;
    // Closing the broker side of the VEN's socket makes aedes publish the will.
    const connection = [...(client as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients ? Object.values((client as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients) : []].find(Boolean);
    connection?.conn.destroy();
    const will = await broker.waitFor((message) => message.topic === STATUS_TOPIC && json(message.payload).status === "offline", 5000, since);
    expect(json(will.payload).reason).toBe("connection_lost");
    expect(will.retain).toBe(true);
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
  });

  test("MQTT 5 refused: falls back to 3.1.1", async () => {
    const ven = await startConnected({ mqttVersion: "auto" });
    expect(ven.agent.supervisor.version).toBe(4);
    expect(ven.logs.some((line) => line.includes("does not accept MQTT 5; using MQTT 3.1.1"))).toBe(true);
  });

  test("refused subscription is reported", async () => {
    // A null subscription makes aedes answer the SUBSCRIBE with the failure code 0x80.
    broker.broker.authorizeSubscribe = (_client, _subscription, callback) => callback(null, null);
    const ven = await startConnected();
    expect(ven.agent.supervisor.refusedSubscriptions.get(COMMAND_TOPIC)).toBe(0x80);
    expect(ven.logs.some((line) => line.includes(`Broker rejected the subscription to ${COMMAND_TOPIC}`))).toBe(true);
  });
});
