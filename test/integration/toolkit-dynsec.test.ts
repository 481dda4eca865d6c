import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { missingDynsecPrerequisites, startMosquittoWithDynsec, type MosquittoDynsecHandle } from "../helpers/mosquitto-dynsec.ts";
import { mosquittoAvailable } from "../helpers/mosquitto.ts";
import { makeTestPki } from "../helpers/pki.ts";

// Under CI the mosquitto tier must run, so missing binaries fail the tests instead of skipping them.
const skipDynsec = process.env.CI !== "true" && (!mosquittoAvailable() || missingDynsecPrerequisites().length > 0);

const DENIED = "ven/cmd/ven-dynsec-001";
const ALLOWED = "ven/telemetry/ven-dynsec-001";

let broker: MosquittoDynsecHandle | undefined;
const clients = new Set<MqttClient>();

afterEach(async () => {
  await Promise.all([...clients].map((client) => client.endAsync(true)));
  clients.clear();
});

function connect(options: IClientOptions, target: MosquittoDynsecHandle | undefined = broker): Promise<MqttClient> {
  const client = mqtt.connect(target!.url, {
    reconnectPeriod: 0,
    connectTimeout: 2000,
    clientId: `dynsec-test-${Math.random().toString(16).slice(2, 10)}`,
    ...options,
  });
  clients.add(client);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

/** Subscribes with QoS 1 and resolves with the SUBACK code, taken from the error MQTT.js 5.16 raises for a failure code. */
function subackCode(client: MqttClient, filter: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    client.subscribe(filter, { qos: 1 }, (error, granted) => {
      if (error) resolve((error as { packet?: { granted?: number[] } }).packet?.granted?.[0]);
      else resolve(granted?.[0]?.qos);
    });
  });
}

describe.skipIf(skipDynsec)("mosquitto with dynamic security", () => {
  beforeAll(async () => {
    broker = await startMosquittoWithDynsec({ deniedSubscriptions: [DENIED], username: "ven-user", password: "ven-password" });
  }, 15_000);

  afterAll(async () => {
    await broker?.dispose();
  });

  for (const { name, version, deniedCode } of [
    { name: "MQTT 3.1.1", version: 4, deniedCode: 0x80 },
    { name: "MQTT 5", version: 5, deniedCode: 0x87 },
  ] as const) {
    test(`${name} denied filter gets 0x${deniedCode.toString(16)}`, async () => {
      const client = await connect({ protocolVersion: version, username: "ven-user", password: "ven-password" });

      expect(await subackCode(client, DENIED)).toBe(deniedCode);
      expect(await subackCode(client, ALLOWED)).toBe(1);
      expect(await subackCode(client, "ven/cmd/other")).toBe(1);
    }, 5000);
  }

  test("anonymous client is rejected", async () => {
    await expect(connect({ protocolVersion: 5 })).rejects.toMatchObject({ code: 0x87 });
  }, 5000);

  test("handle pub and sub use the tester", async () => {
    const subscription = broker!.subscribe(DENIED, { count: 1, timeoutS: 3 });
    await subscription.ready;

    const published = await broker!.pub(DENIED, "on");
    expect(published.exitCode, published.stderr).toBe(0);

    expect((await subscription.messages).map((message) => message.text)).toEqual(["on"]);
  }, 5000);
});

describe.skipIf(skipDynsec)("mosquitto with dynamic security over TLS", () => {
  let tlsBroker: MosquittoDynsecHandle | undefined;

  afterAll(async () => {
    await tlsBroker?.dispose();
  });

  test("binds the user to its client ID", async () => {
    const pki = await makeTestPki();
    tlsBroker = await startMosquittoWithDynsec({ tls: pki, deniedSubscriptions: [DENIED], username: "ven-user", password: "ven-password", clientId: "ven-dynsec-001" });
    const tlsOptions: IClientOptions = { ca: pki.pem.caCert, cert: pki.pem.clientCert, key: pki.pem.clientKey, username: "ven-user", password: "ven-password", protocolVersion: 5 };
    expect(tlsBroker.url.startsWith("mqtts://")).toBe(true);

    const bound = await connect({ ...tlsOptions, clientId: "ven-dynsec-001" }, tlsBroker);
    expect(await subackCode(bound, DENIED)).toBe(0x87);
    await expect(connect({ ...tlsOptions, clientId: "ven-other-002" }, tlsBroker)).rejects.toMatchObject({ code: 0x87 });
  }, 10_000);
});
