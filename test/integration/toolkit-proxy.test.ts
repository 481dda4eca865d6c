import { afterEach, describe, expect, test } from "bun:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { startProxy, type TcpProxy } from "../helpers/proxy.ts";

let broker: AedesHandle | undefined;
let proxy: TcpProxy | undefined;
const clients = new Set<MqttClient>();

afterEach(async () => {
  await Promise.all([...clients].map((client) => client.endAsync(true)));
  clients.clear();
  await proxy?.close();
  await broker?.close();
  proxy = undefined;
  broker = undefined;
});

async function startBehindProxy(): Promise<TcpProxy> {
  broker = await startAedes();
  proxy = await startProxy({ targetPort: broker.port });
  return proxy;
}

/**
 * Connects with MQTT 3.1.1, because aedes 1.2 has no MQTT 5, and without reconnects. Rejects on an
 * error or a close before CONNACK.
 */
function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 2000,
    clientId: `proxy-test-${Math.random().toString(16).slice(2, 10)}`,
    ...options,
  });
  clients.add(client);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

/** Subscribes to `topic`, publishes `text` with QoS 1 and resolves with the payload that comes back. */
async function roundTrip(client: MqttClient, topic: string, text: string): Promise<string> {
  await client.subscribeAsync(topic, { qos: 1 });
  const received = new Promise<string>((resolve) => {
    client.once("message", (_topic, payload) => resolve(payload.toString()));
  });
  await client.publishAsync(topic, text, { qos: 1 });
  return await received;
}

/** Resolves with "settled" when `promise` settles within `ms`, else with "pending". */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<"settled" | "pending"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  const result = await Promise.race([promise.then(
    () => "settled" as const,
    () => "settled" as const,
  ), pending]);
  clearTimeout(timer);
  return result;
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once("close", () => resolve()));
}

describe("tcp proxy", () => {
  test("pass mode forwards both ways", async () => {
    const proxy = await startBehindProxy();
    const client = await connect(proxy.url());

    expect(await roundTrip(client, "toolkit/proxy/pass", "hello")).toBe("hello");
    expect(proxy.connections).toBe(1);
    expect(proxy.active).toBe(1);
    expect(proxy.url("mqtts")).toBe(`mqtts://127.0.0.1:${proxy.port}`);
  }, 5000);

  test("blackhole holds link half-open", async () => {
    const proxy = await startBehindProxy();
    const client = await connect(proxy.url());
    await client.subscribeAsync("toolkit/proxy/hole", { qos: 1 });
    let messages = 0;
    client.on("message", () => messages++);
    let closes = 0;
    client.on("close", () => closes++);

    proxy.setMode("blackhole");
    const publish = client.publishAsync("toolkit/proxy/hole", "lost", { qos: 1 });
    publish.catch(() => {});

    expect(await settledWithin(publish, 500)).toBe("pending");
    expect(messages).toBe(0);
    expect(closes).toBe(0);
    expect(proxy.active).toBe(1);
    expect(broker!.published.some((message) => message.topic === "toolkit/proxy/hole")).toBe(false);
  }, 5000);

  test("pass after blackhole serves new connections", async () => {
    const proxy = await startBehindProxy();
    proxy.setMode("blackhole");
    const stuck = connect(proxy.url(), { connectTimeout: 300 });
    await expect(stuck).rejects.toThrow();

    proxy.setMode("pass");
    const client = await connect(proxy.url());

    expect(await roundTrip(client, "toolkit/proxy/again", "back")).toBe("back");
    expect(proxy.connections).toBe(2);
  }, 5000);

  test("reset closes and refuses clients", async () => {
    const proxy = await startBehindProxy();
    const client = await connect(proxy.url());
    const errors: string[] = [];
    client.on("error", (error) => errors.push((error as NodeJS.ErrnoException).code ?? error.message));
    const sawClose = closed(client);

    proxy.setMode("reset");
    await sawClose;

    expect(errors).toContain("ECONNRESET");
    await expect(connect(proxy.url())).rejects.toThrow();
    expect(proxy.connections).toBe(2);
    expect(proxy.active).toBe(0);
  }, 5000);

  test("dropAll closes once, stays in pass", async () => {
    const proxy = await startBehindProxy();
    const first = await connect(proxy.url());
    const second = await connect(proxy.url());
    const bothClosed = Promise.all([closed(first), closed(second)]);

    proxy.dropAll();
    await bothClosed;

    expect(proxy.mode).toBe("pass");
    const client = await connect(proxy.url());
    expect(await roundTrip(client, "toolkit/proxy/drop", "after")).toBe("after");
    await proxy.waitForConnections(3, 100);
    expect(proxy.connections).toBe(3);
    expect(proxy.active).toBe(1);
  }, 5000);

  test("rejects a target other than 127.0.0.1", async () => {
    await expect(startProxy({ targetPort: 1883, targetHost: "localhost" })).rejects.toThrow("only 127.0.0.1");
  });
});
