import { afterEach, describe, expect, test } from "bun:test";
import mqtt, { type IClientOptions, type IDisconnectPacket, type MqttClient } from "mqtt";
import { ReasonCode, startScriptedBroker, topicMatches, type ScriptedBroker } from "../helpers/scripted-broker.ts";

let broker: ScriptedBroker | undefined;
const clients = new Set<MqttClient>();

afterEach(async () => {
  await Promise.all([...clients].map((client) => client.endAsync(true)));
  clients.clear();
  await broker?.close();
  broker = undefined;
});

async function start(): Promise<ScriptedBroker> {
  broker = await startScriptedBroker();
  return broker;
}

/** Creates a client without reconnects; errors are left to the test's own listeners. */
function createClient(url: string, protocolVersion: 4 | 5, options: IClientOptions = {}): MqttClient {
  const client = mqtt.connect(url, {
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: 2000,
    clientId: `scripted-test-${Math.random().toString(16).slice(2, 10)}`,
    ...options,
  });
  client.on("error", () => {});
  clients.add(client);
  return client;
}

/** Connects and resolves on CONNACK; rejects with the client's first error or a close before CONNACK. */
function connect(url: string, protocolVersion: 4 | 5, options: IClientOptions = {}): Promise<MqttClient> {
  const client = createClient(url, protocolVersion, options);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once("close", () => resolve()));
}

/** Resolves with "settled" when `promise` settles within `ms`, else with "pending". */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<"settled" | "pending"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  const settled = promise.then(
    () => "settled" as const,
    () => "settled" as const,
  );
  const result = await Promise.race([settled, pending]);
  clearTimeout(timer);
  return result;
}

const VERSIONS = [
  { name: "MQTT 5", version: 5 },
  { name: "MQTT 3.1.1", version: 4 },
] as const;

describe("topicMatches", () => {
  const cases: Array<[string, string, boolean]> = [
    ["a/b", "a/b", true],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["#", "$SYS/x", false],
    ["+/x", "$SYS/x", false],
    ["a/b", "a/c", false],
  ];
  for (const [filter, topic, expected] of cases) {
    test(`${filter} against ${topic}`, () => {
      expect(topicMatches(filter, topic)).toBe(expected);
    });
  }
});

for (const { name, version } of VERSIONS) {
  describe(`scripted broker over ${name}`, () => {
    test("round trip and records", async () => {
      const broker = await start();
      const client = await connect(broker.url, version, { clientId: "ven-a" });
      await client.subscribeAsync("ven/cmd/+", { qos: 1 });
      const message = new Promise<string>((resolve) => client.once("message", (_topic, payload) => resolve(payload.toString())));

      await client.publishAsync("ven/cmd/ven-a", "hello", { qos: 1 });

      expect(await message).toBe("hello");
      expect(broker.clients()).toEqual(["ven-a"]);
      expect(broker.connects).toHaveLength(1);
      expect(broker.connects[0]?.protocolVersion).toBe(version);
      expect(broker.connects[0]?.connackCode).toBe(0);
      const [publish] = broker.publishes("ven/cmd/ven-a");
      expect(publish?.payload?.toString()).toBe("hello");
      expect(publish?.qos).toBe(1);
      expect(publish?.clientId).toBe("ven-a");
      expect(broker.received.map((entry) => entry.cmd)).toContain("subscribe");
    }, 5000);

    test("retained message and will", async () => {
      const broker = await start();
      const publisher = await connect(broker.url, version, { will: { topic: "ven/status/w", payload: Buffer.from("gone"), qos: 1, retain: true } });
      await publisher.publishAsync("ven/status/r", "kept", { qos: 1, retain: true });

      const subscriber = await connect(broker.url, version);
      const retained = new Promise<{ text: string; retain: boolean }>((resolve) =>
        subscriber.once("message", (_topic, payload, packet) => resolve({ text: payload.toString(), retain: packet.retain })),
      );
      await subscriber.subscribeAsync("ven/status/#", { qos: 1 });
      expect(await retained).toEqual({ text: "kept", retain: true });

      const will = new Promise<string>((resolve) => subscriber.once("message", (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
      publisher.stream.destroy();
      expect(await will).toBe("ven/status/w gone");
      expect(broker.wills).toHaveLength(1);
    }, 5000);

    test("clean disconnect sends no will", async () => {
      const broker = await start();
      const client = await connect(broker.url, version, { will: { topic: "ven/status/w", payload: Buffer.from("gone"), qos: 1, retain: false } });

      await client.endAsync();
      await broker.waitFor((entry) => entry.cmd === "disconnect", 1000);

      expect(broker.wills).toHaveLength(0);
    }, 5000);

    test("refused CONNACK code reaches client", async () => {
      const broker = await start();
      const code = version === 5 ? ReasonCode.notAuthorized : 5;
      broker.refuseConnack(code, 1);

      const refused = connect(broker.url, version);

      await expect(refused).rejects.toMatchObject({ code });
      expect(broker.connects[0]?.connackCode).toBe(code);
      const accepted = await connect(broker.url, version);
      expect(accepted.connected).toBe(true);
    }, 5000);

    test("closeOnSubscribe closes after SUBSCRIBE", async () => {
      const broker = await start();
      broker.closeOnSubscribe("ven/cmd/denied");
      const client = await connect(broker.url, version);
      const sawClose = closed(client);

      client.subscribe("ven/cmd/denied", { qos: 1 }, () => {});
      await sawClose;

      const subscribe = await broker.waitFor((entry) => entry.cmd === "subscribe", 1000);
      expect(subscribe.topic).toBe("ven/cmd/denied");
      expect(broker.clients()).toEqual([]);
    }, 5000);

    test("closeOnPublish closes after PUBLISH", async () => {
      const broker = await start();
      broker.closeOnPublish("ven/telemetry/denied");
      const client = await connect(broker.url, version);
      const sawClose = closed(client);

      const publish = client.publishAsync("ven/telemetry/denied", "x", { qos: 1 });
      publish.catch(() => {});
      await sawClose;

      expect(broker.publishes("ven/telemetry/denied")).toHaveLength(1);
    }, 5000);

    test("SUBACK failure code reaches client", async () => {
      const broker = await start();
      broker.subackCode("ven/cmd/denied", ReasonCode.notAuthorized);
      const client = await connect(broker.url, version);

      // MQTT.js 5.16 reports a failure code as an error that carries the SUBACK packet.
      const failed = new Promise<number | undefined>((resolve) => {
        client.subscribe("ven/cmd/denied", { qos: 1 }, (error) => resolve((error as { packet?: { granted?: number[] } } | null)?.packet?.granted?.[0]));
      });
      const granted = await client.subscribeAsync("ven/cmd/allowed", { qos: 1 });

      expect(await failed).toBe(version === 5 ? 0x87 : 0x80);
      expect(granted[0]?.qos).toBe(1);
    }, 5000);

    test("stopAcking leaves publish unacknowledged", async () => {
      const broker = await start();
      const client = await connect(broker.url, version);
      broker.stopAcking();

      const publish = client.publishAsync("ven/telemetry/x", "held", { qos: 1 });
      publish.catch(() => {});

      expect(await settledWithin(publish, 300)).toBe("pending");
      expect(broker.publishes("ven/telemetry/x")).toHaveLength(1);
      broker.resumeAcking();
      await client.publishAsync("ven/telemetry/x", "acked", { qos: 1 });
    }, 5000);

    test("freeze withholds every answer", async () => {
      const broker = await start();
      const client = await connect(broker.url, version);
      let pingresps = 0;
      client.on("packetreceive", (packet) => {
        if (packet.cmd === "pingresp") pingresps++;
      });
      const answered = new Promise<void>((resolve) => client.once("packetreceive", () => resolve()));
      client.sendPing();
      await answered;
      expect(pingresps).toBe(1);

      broker.freeze();
      const since = broker.received.length;
      client.sendPing();
      const publish = client.publishAsync("ven/telemetry/x", "frozen", { qos: 1 });
      publish.catch(() => {});

      expect(await settledWithin(publish, 300)).toBe("pending");
      const ping = await broker.waitFor((entry) => entry.cmd === "pingreq", 1000, since);
      expect(ping.clientId).toBe(broker.connects[0]?.clientId ?? "");
      expect(pingresps).toBe(1);
      expect(client.connected).toBe(true);
    }, 5000);

    test("stopAcking can withhold PINGRESP", async () => {
      const broker = await start();
      const client = await connect(broker.url, version);
      let pingresps = 0;
      client.on("packetreceive", (packet) => {
        if (packet.cmd === "pingresp") pingresps++;
      });
      broker.stopAcking({ pingresp: false });

      const since = broker.received.length;
      client.sendPing();
      await broker.waitFor((entry) => entry.cmd === "pingreq", 1000, since);
      await Bun.sleep(100);

      expect(pingresps).toBe(0);
    }, 5000);

    test("takeover disconnects first client", async () => {
      const broker = await start();
      const first = await connect(broker.url, version, { clientId: "ven-dup" });
      const disconnect = new Promise<IDisconnectPacket>((resolve) => first.once("disconnect", resolve));
      const firstClosed = closed(first);

      await connect(broker.url, version, { clientId: "ven-dup" });
      await firstClosed;

      if (version === 5) expect((await disconnect).reasonCode).toBe(0x8e);
      expect(broker.clients()).toEqual(["ven-dup"]);
      expect(broker.connects).toHaveLength(2);
    }, 5000);
  });
}

describe("scripted broker, MQTT 5 only", () => {
  test("DISCONNECT 0x8E reaches client", async () => {
    const broker = await start();
    const client = await connect(broker.url, 5, { clientId: "ven-b" });
    const disconnect = new Promise<IDisconnectPacket>((resolve) => client.once("disconnect", resolve));

    expect(broker.disconnectWith(ReasonCode.sessionTakenOver)).toBe(1);

    expect((await disconnect).reasonCode).toBe(0x8e);
  }, 5000);

  test("PUBACK 0x87 fails the publish", async () => {
    const broker = await start();
    broker.pubackCode("ven/telemetry/denied", ReasonCode.notAuthorized);
    const client = await connect(broker.url, 5);

    const publish = client.publishAsync("ven/telemetry/denied", "x", { qos: 1 });

    await expect(publish).rejects.toMatchObject({ code: 0x87 });
  }, 5000);

  test("refuseVersion5 rejects MQTT 5 with code 1", async () => {
    const broker = await start();
    broker.refuseVersion5();

    const refused = connect(broker.url, 5);

    await expect(refused).rejects.toMatchObject({ code: 1, message: expect.stringContaining("Unacceptable protocol version") });
    const fallback = await connect(broker.url, 4);
    expect(fallback.connected).toBe(true);
  }, 5000);
});

describe("scripted broker, MQTT 3.1.1 only", () => {
  test("disconnectWith closes the connection", async () => {
    const broker = await start();
    const client = await connect(broker.url, 4);
    const sawClose = closed(client);

    expect(broker.disconnectWith(ReasonCode.serverBusy)).toBe(1);
    await sawClose;

    expect(broker.clients()).toEqual([]);
  }, 5000);

  test("PUBACK failure code closes the connection", async () => {
    const broker = await start();
    broker.pubackCode("ven/telemetry/denied", ReasonCode.notAuthorized);
    const client = await connect(broker.url, 4);
    const sawClose = closed(client);

    const publish = client.publishAsync("ven/telemetry/denied", "x", { qos: 1 });
    publish.catch(() => {});
    await sawClose;

    expect(broker.publishes("ven/telemetry/denied")).toHaveLength(1);
  }, 5000);
});
