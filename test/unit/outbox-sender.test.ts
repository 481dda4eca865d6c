import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/logger.ts";
import { MemoryDeadLetter } from "../../src/outbox/dead-letter.ts";
import { MAX_IN_FLIGHT, MAX_PAYLOAD_BYTES, OutboxSender } from "../../src/outbox/sender.ts";
import { DEFAULT_OUTBOX_LIMITS, MemoryOutbox } from "../../src/outbox/store.ts";
import type { ConnectionSupervisor } from "../../src/transport/supervisor.ts";
import { NotConnectedError } from "../../src/transport/supervisor.ts";
import { ManualClock } from "../helpers/clock.ts";

interface Sent {
  topic: string;
  payload: string;
  at: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Stands in for the connection: records publishes and lets the test answer each one. */
class FakeConnection {
  connected = false;
  readonly sent: Sent[] = [];
  private readonly connectedListeners: (() => void)[] = [];
  private readonly disconnectedListeners: (() => void)[] = [];

  constructor(private readonly clock: ManualClock) {}

  onConnected(listener: () => void) {
    this.connectedListeners.push(listener);
    return () => undefined;
  }

  onDisconnected(listener: () => void) {
    this.disconnectedListeners.push(listener);
    return () => undefined;
  }

  publish(topic: string, payload: string): Promise<void> {
    if (!this.connected) return Promise.reject(new NotConnectedError(topic));
    return new Promise((resolve, reject) => this.sent.push({ topic, payload, at: this.clock.now(), resolve, reject }));
  }

  connect(): void {
    this.connected = true;
    for (const listener of this.connectedListeners) listener();
  }

  disconnect(): void {
    this.connected = false;
    for (const entry of this.sent.splice(0)) entry.reject(new Error("connection closed"));
    for (const listener of this.disconnectedListeners) listener();
  }

  /** Acknowledges every publish still waiting. */
  ackAll(): void {
    for (const entry of this.sent.splice(0)) entry.resolve();
  }
}

function setup(options: { rate?: number } = {}) {
  const clock = new ManualClock();
  const connection = new FakeConnection(clock);
  const store = new MemoryOutbox(DEFAULT_OUTBOX_LIMITS);
  const deadLetter = new MemoryDeadLetter();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format: "pretty", sink: { write: (text) => lines.push(text) } });
  const sender = new OutboxSender({
    store,
    supervisor: connection as unknown as ConnectionSupervisor,
    clock,
    log,
    drainRatePerSecond: options.rate ?? 20,
    deadLetter,
    ackTopics: new Set(["ven/ack/v"]),
  });
  return { clock, connection, store, deadLetter, lines, sender };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("OutboxSender", () => {
  test("stores while disconnected, sends on connect", async () => {
    const { connection, sender, store } = setup();
    await sender.durable("volttron/metering", "m1", "m1");
    expect(store.depth).toBe(1);
    expect(connection.sent.length).toBe(0);
    connection.connect();
    expect(connection.sent.map((entry) => entry.payload)).toEqual(["m1"]);
  });

  test("removed only after PUBACK", async () => {
    const { connection, sender, store } = setup();
    connection.connect();
    await sender.durable("volttron/metering", "m1", "m1");
    expect(store.depth).toBe(1);
    connection.ackAll();
    await flush();
    expect(store.depth).toBe(0);
  });

  test("lost connection keeps the message", async () => {
    const { connection, sender, store } = setup();
    connection.connect();
    await sender.durable("volttron/metering", "m1", "m1");
    connection.disconnect();
    await flush();
    expect(store.depth).toBe(1);
    connection.connect();
    expect(connection.sent.map((entry) => entry.payload)).toEqual(["m1"]);
  });

  test("replay order and pacing", async () => {
    const { clock, connection, sender } = setup({ rate: 10 });
    for (let index = 1; index <= 5; index++) await sender.durable("volttron/metering", `m${index}`, "m");
    const start = clock.now();
    connection.connect();
    const order: string[] = [];
    const at: number[] = [];
    for (let step = 0; step < 20; step++) {
      for (const entry of connection.sent) {
        order.push(entry.payload);
        at.push(entry.at - start);
      }
      connection.ackAll();
      await flush();
      clock.advance(25);
    }
    expect(order).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    for (let index = 1; index < at.length; index++) expect(at[index]! - at[index - 1]!).toBeGreaterThanOrEqual(100);
  });

  test("fresh messages are not paced behind the backlog", async () => {
    const { connection, sender } = setup({ rate: 1 });
    for (let index = 1; index <= 5; index++) await sender.durable("volttron/metering", `old${index}`, "m");
    connection.connect();
    await sender.durable("volttron/metering", "fresh", "m");
    expect(connection.sent.map((entry) => entry.payload)).toEqual(["old1", "fresh"]);
  });

  test("at most 100 in flight", async () => {
    const { connection, sender } = setup({ rate: 100 });
    connection.connect();
    for (let index = 0; index < 150; index++) await sender.durable("volttron/metering", `m${index}`, "m");
    expect(connection.sent.length).toBe(MAX_IN_FLIGHT);
    connection.ackAll();
    await flush();
    expect(connection.sent.length).toBe(50);
  });

  test("oversize payload is never stored or sent", async () => {
    const { connection, sender, store, lines } = setup();
    connection.connect();
    await sender.durable("volttron/metering", "x".repeat(MAX_PAYLOAD_BYTES + 1), "big");
    expect(store.depth).toBe(0);
    expect(connection.sent.length).toBe(0);
    expect(lines.some((line) => line.includes(`${MAX_PAYLOAD_BYTES + 1} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit`))).toBe(true);
  });

  test("rejected PUBACK goes to dead letter after 3", async () => {
    const { connection, sender, store, deadLetter, clock } = setup({ rate: 100 });
    connection.connect();
    await sender.durable("ven/ack/v", "ack-1", "ack");
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = connection.sent.shift()!;
      entry.reject(Object.assign(new Error("refused"), { code: 0x87 }));
      await flush();
      clock.advance(100);
    }
    expect(store.depth).toBe(0);
    expect(deadLetter.records.length).toBe(1);
    expect(deadLetter.records[0]).toMatchObject({ kind: "ack", topic: "ven/ack/v", payload: "ack-1" });
    expect(deadLetter.records[0]!.reason).toContain("0x87 not authorized");
  });

  test("message that closes the connection is set aside", async () => {
    const { connection, sender, store, deadLetter, clock } = setup();
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt === 0) await sender.durable("forbidden/topic", "poison", "m");
      connection.connect();
      clock.advance(100);
      expect(connection.sent.at(-1)?.payload).toBe("poison");
      connection.disconnect();
      await flush();
    }
    expect(store.depth).toBe(0);
    expect(deadLetter.records[0]!.reason).toContain("policy may deny its topic");
  });

  test("acks are stored as acks", async () => {
    const { sender, store } = setup();
    await sender.durable("ven/ack/v", "a", "ack");
    await sender.durable("volttron/metering", "t", "telemetry");
    expect([...store.entries()].map((entry) => entry.kind)).toEqual(["ack", "telemetry"]);
  });
});
