import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { HEALTH_FILE, type HealthRecord } from "../../src/agent/health.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { startProxy, type TcpProxy } from "../helpers/proxy.ts";
import { ReasonCode, startScriptedBroker, type ScriptedBroker } from "../helpers/scripted-broker.ts";
import { VEN_ID, json, startAgent, waitUntil, type AgentUnderTest } from "./agent-harness.ts";

const METERING = "volttron/metering";
const COMMAND_TOPIC = `ven/cmd/${VEN_ID}`;
const STATUS_TOPIC = `ven/status/${VEN_ID}`;

let running: AgentUnderTest[] = [];
let closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const ven of running) await ven.agent.stop(200);
  running = [];
  for (const close of closers.reverse()) await close();
  closers = [];
});

async function scripted(): Promise<ScriptedBroker> {
  const broker = await startScriptedBroker();
  closers.push(() => broker.close());
  return broker;
}

async function aedes(): Promise<AedesHandle> {
  const broker = await startAedes();
  closers.push(() => broker.close());
  return broker;
}

async function agent(url: string, flags = {}, stateDir?: string): Promise<AgentUnderTest> {
  const ven = await startAgent(url, { mqttVersion: "5", ...flags }, stateDir);
  running.push(ven);
  return ven;
}

function health(ven: AgentUnderTest): HealthRecord {
  return JSON.parse(readFileSync(join(ven.stateDir, HEALTH_FILE), "utf8")) as HealthRecord;
}

function errors(ven: AgentUnderTest, text: string): string[] {
  return ven.logs.filter((line) => line.includes(text));
}

describe("connection resilience", () => {
  test("refused first connects: keeps retrying", async () => {
    const broker = await scripted();
    broker.refuseConnack(ReasonCode.notAuthorized, 4);
    const ven = await agent(broker.url);
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock, 10_000);
    expect(broker.connects.length).toBe(5);
    // The first refusal is logged in full at warn level; the repeats only at debug level.
    const warned = errors(ven, "broker refused the connection: 0x87 not authorized").filter((line) => line.includes("WARN"));
    expect(warned).toHaveLength(1);
  });

  test("DISCONNECT 0x8E names the takeover", async () => {
    const broker = await scripted();
    const ven = await agent(broker.url);
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    broker.disconnectWith(ReasonCode.sessionTakenOver, VEN_ID);
    await waitUntil(() => errors(ven, "another client connected with client ID").length > 0, ven.clock);
    await waitUntil(() => health(ven).takeoverSuspected !== null, ven.clock);
    expect(health(ven).takeoverSuspected).toContain(VEN_ID);
  });

  test("connections that keep dropping suggest a takeover", async () => {
    const broker = await scripted();
    const ven = await agent(broker.url);
    for (let round = 0; round < 3; round++) {
      await waitUntil(() => ven.agent.supervisor.connected && broker.clients().includes(VEN_ID), ven.clock);
      broker.disconnectWith(ReasonCode.serverBusy, VEN_ID);
      await waitUntil(() => !ven.agent.supervisor.connected, ven.clock);
    }
    await waitUntil(() => errors(ven, "another client is probably using client ID").length > 0, ven.clock);
  });

  test("retained status of another instance is reported", async () => {
    const broker = await aedes();
    const other = await mqtt.connectAsync(broker.url, { clientId: "other-copy", protocolVersion: 4, reconnectPeriod: 0 });
    const status = { venId: VEN_ID, status: "online", timestamp: 1796417000, version: "0.1.0", instance: "gw-9/77/1796416000" };
    await other.publishAsync(STATUS_TOPIC, JSON.stringify(status), { qos: 1, retain: true });
    await other.endAsync();
    const ven = await agent(broker.url, { mqttVersion: "3.1.1" });
    await waitUntil(() => errors(ven, "instance gw-9/77/1796416000").length > 0, ven.clock);
    expect(health(ven).takeoverSuspected).toContain("gw-9/77/1796416000");
  });

  test("close after SUBSCRIBE is a probable policy denial", async () => {
    const broker = await scripted();
    broker.closeOnSubscribe(COMMAND_TOPIC);
    const ven = await agent(broker.url);
    await waitUntil(() => errors(ven, `policy probably denies subscribing to that topic`).length > 0, ven.clock, 10_000);
    expect(errors(ven, `SUBSCRIBE on ${COMMAND_TOPIC}`)).toHaveLength(1);
  });

  test("SUBACK failure makes the VEN unhealthy", async () => {
    const broker = await scripted();
    broker.subackCode(COMMAND_TOPIC, ReasonCode.notAuthorized);
    const ven = await agent(broker.url);
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    await waitUntil(() => health(ven).refusedSubscriptions.length > 0, ven.clock);
    expect(health(ven).refusedSubscriptions).toEqual([COMMAND_TOPIC]);
    expect(errors(ven, "0x87 not authorized")).not.toHaveLength(0);
  });

  test("MQTT 5 refused: falls back once", async () => {
    const broker = await scripted();
    broker.refuseVersion5(true);
    const ven = await agent(broker.url, { mqttVersion: "auto" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    expect(ven.agent.supervisor.version).toBe(4);
  });

  test("half-open link detected by keep-alive", async () => {
    const broker = await aedes();
    const proxy = await startProxy({ targetPort: broker.port });
    closers.push(() => proxy.close());
    // Real time here: MQTT.js runs its keep-alive on its own timers.
    const ven = await agent(`mqtt://127.0.0.1:${proxy.port}`, { mqttVersion: "3.1.1", keepalive: "1" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    proxy.setMode("blackhole");
    const frozenAt = Date.now();
    await waitUntil(() => !ven.agent.supervisor.connected, undefined, 5000);
    const detectedAfterMs = Date.now() - frozenAt;
    // 1.5 x keep-alive plus scheduling slack.
    expect(detectedAfterMs).toBeLessThan(2500);
    expect(ven.agent.supervisor.lastDisconnectCause).toContain("Keepalive timeout");
    proxy.setMode("pass");
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock, 5000);
  }, 15_000);
});

describe("delivery through outages", () => {
  test("outage then recovery: every seq in order", async () => {
    const broker = await aedes();
    const ven = await agent(broker.url, { mqttVersion: "3.1.1", interval: "5" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    await broker.close();
    await waitUntil(() => !ven.agent.supervisor.connected, ven.clock);
    for (let tick = 0; tick < 12; tick++) ven.clock.advance(5000);
    expect(ven.agent.outboxDepth).toBeGreaterThanOrEqual(12);

    await broker.restart();
    await waitUntil(() => ven.agent.outboxDepth === 0 && ven.agent.supervisor.connected, ven.clock, 10_000);
    const seqs = broker.published.filter((message) => message.topic === METERING).map((message) => json(message.payload).seq as number);
    const unique = [...new Set(seqs)];
    expect(unique).toEqual(Array.from({ length: unique.length }, (_, index) => index + 1));
    expect(unique.length).toBe(ven.agent.lastSeq);
  }, 20_000);

  test("restart during an outage delivers the buffer", async () => {
    const broker = await aedes();
    const first = await agent(broker.url, { mqttVersion: "3.1.1", interval: "5" });
    await waitUntil(() => first.agent.supervisor.connected, first.clock);
    await broker.close();
    await waitUntil(() => !first.agent.supervisor.connected, first.clock);
    for (let tick = 0; tick < 6; tick++) first.clock.advance(5000);
    const lastSeq = first.agent.lastSeq;
    await first.agent.stop(200);
    running = running.filter((ven) => ven !== first);

    await broker.restart();
    const second = await agent(broker.url, { mqttVersion: "3.1.1", interval: "5" }, first.stateDir);
    await waitUntil(() => second.agent.outboxDepth === 0 && second.agent.supervisor.connected, second.clock, 10_000);
    const seqs = new Set(broker.published.filter((message) => message.topic === METERING).map((message) => json(message.payload).seq as number));
    for (let seq = 1; seq <= lastSeq; seq++) expect(seqs.has(seq)).toBe(true);
  }, 20_000);

  test("monitoring copy is live only", async () => {
    const broker = await aedes();
    const ven = await agent(broker.url, { mqttVersion: "3.1.1", interval: "5" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    await broker.close();
    await waitUntil(() => !ven.agent.supervisor.connected, ven.clock);
    const seqDuringOutage = ven.agent.lastSeq + 1;
    ven.clock.advance(5000);
    await broker.restart();
    await waitUntil(() => ven.agent.outboxDepth === 0 && ven.agent.supervisor.connected, ven.clock, 10_000);
    const perVen = broker.published.filter((message) => message.topic === `ven/telemetry/${VEN_ID}`).map((message) => json(message.payload).seq);
    expect(perVen).not.toContain(seqDuringOutage);
  }, 20_000);

  test("clock before build time holds telemetry", async () => {
    const broker = await aedes();
    const ven = await agent(broker.url, { mqttVersion: "3.1.1", interval: "5" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    const since = broker.published.length;
    const realNow = ven.clock.now();
    ven.clock.set(Date.UTC(1970, 0, 1));
    ven.clock.advance(5000);
    ven.clock.advance(5000);
    expect(errors(ven, "Waiting for the system clock")).toHaveLength(1);
    expect(health(ven).waitingForClock).toBe(true);
    ven.clock.set(realNow + 10_000);
    ven.clock.advance(5000);
    await waitUntil(() => broker.published.slice(since).some((message) => message.topic === METERING), ven.clock);
    const sample = json(broker.published.slice(since).find((message) => message.topic === METERING)!.payload);
    expect(sample.timestamp as number).toBeGreaterThan(1_700_000_000);
  });
});

describe("repeated restarts and long outages", () => {
  test("five broker restarts leave one connection", async () => {
    const broker = await aedes();
    const ven = await agent(broker.url, { mqttVersion: "3.1.1" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    for (let restart = 0; restart < 5; restart++) {
      const before = broker.connects;
      await broker.restart();
      await waitUntil(() => broker.connects > before && ven.agent.supervisor.connected, ven.clock, 10_000);
    }
    const settled = broker.connects;
    // No churn while the broker is healthy.
    for (let step = 0; step < 20; step++) {
      ven.clock.advance(1000);
      await Bun.sleep(10);
    }
    expect(broker.connects).toBe(settled);
    const clients = Object.keys((broker.broker as unknown as { clients: Record<string, unknown> }).clients);
    expect(clients.filter((id) => id === VEN_ID)).toHaveLength(1);

    const tester = await mqtt.connectAsync(broker.url, { clientId: "restart-tester", protocolVersion: 4, reconnectPeriod: 0 });
    const since = broker.published.length;
    await tester.publishAsync(COMMAND_TOPIC, JSON.stringify({ op: "ping", correlationId: "after-five" }), { qos: 1 });
    await broker.waitFor((message) => message.topic === `ven/ack/${VEN_ID}` && json(message.payload).correlationId === "after-five", 5000, since);
    await Bun.sleep(200);
    const acks = broker.published.slice(since).filter((message) => message.topic === `ven/ack/${VEN_ID}`);
    expect(acks).toHaveLength(1);
    await tester.endAsync();
  }, 30_000);

  test("long outage replays paced while live telemetry flows", async () => {
    const broker = await aedes();
    const ven = await agent(broker.url, { mqttVersion: "3.1.1", interval: "1", drainRate: "20" });
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    await broker.close();
    await waitUntil(() => !ven.agent.supervisor.connected, ven.clock);
    for (let tick = 0; tick < 400; tick++) ven.clock.advance(1000);
    const backlog = ven.agent.outboxDepth;
    expect(backlog).toBeGreaterThanOrEqual(400);

    await broker.restart();
    const since = broker.published.length;
    // Step simulated time in 50 ms slices; each slice allows one replayed message at 20 per second.
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock, 10_000);
    const startedAt = ven.clock.now();
    for (let slice = 0; slice < 100; slice++) {
      ven.clock.advance(50);
      await Bun.sleep(2);
    }
    const elapsedS = (ven.clock.now() - startedAt) / 1000;
    const replayed = broker.published.slice(since).filter((message) => message.topic === METERING);
    // Paced: about 20 per second of simulated time, plus the fresh samples made meanwhile.
    expect(replayed.length).toBeLessThanOrEqual(Math.ceil(elapsedS * 20) + Math.ceil(elapsedS) + 2);
    expect(replayed.length).toBeGreaterThan(elapsedS * 10);
    // Live telemetry made during the replay went out ahead of the backlog.
    const newest = Math.max(...replayed.map((message) => json(message.payload).seq as number));
    expect(newest).toBeGreaterThan(backlog);
  }, 30_000);
});

describe("a takeover fight", () => {
  test("after the first minute, at most 6 connects per minute", async () => {
    const broker = await scripted();
    const ven = await agent(broker.url, { reconnectMinDelay: "1", reconnectMaxDelay: "120" });
    const startedAt = ven.clock.now();
    const connectTimes: number[] = [];
    let seen = 0;
    // Five simulated minutes in 1 s steps; every connection of the VEN is taken over at once.
    for (let second = 0; second < 300; second++) {
      ven.clock.advance(1000);
      await Bun.sleep(15);
      while (broker.connects.length > seen) {
        seen++;
        connectTimes.push(ven.clock.now() - startedAt);
      }
      if (broker.clients().includes(VEN_ID)) broker.disconnectWith(ReasonCode.sessionTakenOver, VEN_ID);
    }
    for (let minute = 1; minute < 5; minute++) {
      const inMinute = connectTimes.filter((at) => at >= minute * 60_000 && at < (minute + 1) * 60_000);
      expect(inMinute.length).toBeLessThanOrEqual(6);
    }
    expect(connectTimes.length).toBeGreaterThan(3);
    expect(errors(ven, "another client connected with client ID")).toHaveLength(1);
  }, 30_000);
});
