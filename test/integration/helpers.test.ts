import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { mosquittoAvailable, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { makeTestPki, TEST_CLIENT_CN, type TestPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";

// Under CI the mosquitto tier must run, so a missing binary fails instead of skipping.
const skipMosquitto = process.env.CI !== "true" && !mosquittoAvailable();

let pki: TestPki;
const openClients = new Set<MqttClient>();

beforeAll(async () => {
  pki = await makeTestPki();
});

afterAll(async () => {
  await Promise.all([...openClients].map((client) => client.endAsync(true)));
});

/** Connects with MQTT 3.1.1 and no reconnects, rejecting on the first error or close. */
function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    clientId: `helpers-test-${Math.random().toString(16).slice(2, 10)}`,
    ...options,
  });
  openClients.add(client);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (error) => {
      client.end(true);
      reject(error);
    });
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

function tlsOptions(cert: string | undefined, key: string | undefined, ca = pki.pem.caCert): IClientOptions {
  return { ca, ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

describe("test PKI", () => {
  test("stores every item as file and PEM", async () => {
    for (const [item, path] of Object.entries(pki.files)) {
      expect(path.startsWith(pki.dir)).toBe(true);
      expect(await Bun.file(path).text()).toBe(pki.pem[item as keyof typeof pki.pem]);
    }
    expect(pki.pem.clientKey).toContain("PRIVATE KEY");
    expect(pki.pem.clientCert).toContain("BEGIN CERTIFICATE");
  });

  test("is shared within the process", async () => {
    expect(await makeTestPki()).toBe(pki);
  });

  test("certificates have expected names and dates", () => {
    const client = new X509Certificate(pki.pem.clientCert);
    expect(client.subject).toContain(`CN=${TEST_CLIENT_CN}`);
    expect(client.checkIssued(new X509Certificate(pki.pem.caCert))).toBe(true);
    const now = Date.now();
    expect(Date.parse(new X509Certificate(pki.pem.expiredClientCert).validTo)).toBeLessThan(now);
    expect(Date.parse(new X509Certificate(pki.pem.futureClientCert).validFrom)).toBeGreaterThan(now);
    expect(new X509Certificate(pki.pem.serverCert).subjectAltName).toContain("IP Address:127.0.0.1");
  });
});

describe("freePort", () => {
  test("returns a bindable port", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    server.stop(true);
  });
});

describe("aedes over TCP", () => {
  let aedes: AedesHandle;
  beforeAll(async () => {
    aedes = await startAedes();
  });
  afterAll(async () => {
    await aedes.close();
  });

  test("records a QoS 1 publish", async () => {
    expect(aedes.url).toBe(`mqtt://127.0.0.1:${aedes.port}`);
    const client = await connect(aedes.url, { clientId: "plain-publisher" });
    await client.publishAsync("ven/test/plain", "hello", { qos: 1 });
    const seen = await aedes.waitFor((message) => message.topic === "ven/test/plain", 2000);
    expect(seen.payload.toString()).toBe("hello");
    expect(seen.clientId).toBe("plain-publisher");
    expect(aedes.connects).toBeGreaterThanOrEqual(1);
    await client.endAsync();
  });

  test("restart keeps the port and forgets retained messages", async () => {
    const first = await connect(aedes.url);
    await first.publishAsync("ven/test/retained", "kept", { qos: 1, retain: true });
    const port = aedes.port;
    const before = aedes.published.length;
    await aedes.restart();
    expect(aedes.port).toBe(port);

    const second = await connect(aedes.url);
    const arrived: string[] = [];
    second.on("message", (_topic, payload) => arrived.push(payload.toString()));
    await second.subscribeAsync("ven/test/retained", { qos: 1 });
    await second.publishAsync("ven/test/after", "fresh", { qos: 1 });
    const after = await aedes.waitFor((message) => message.topic.startsWith("ven/test/"), 2000, before);
    expect(after.topic).toBe("ven/test/after");
    expect(arrived).toEqual([]);
    await second.endAsync();
  });

  test("waitFor times out with the topics it saw", async () => {
    await expect(aedes.waitFor((message) => message.topic === "never", 50)).rejects.toThrow(/no matching publish/);
  });
});

describe("aedes over TLS", () => {
  let aedes: AedesHandle;
  beforeAll(async () => {
    aedes = await startAedes({ tls: pki });
  });
  afterAll(async () => {
    await aedes.close();
  });

  test("accepts the test client certificate", async () => {
    expect(aedes.url).toBe(`mqtts://127.0.0.1:${aedes.port}`);
    const client = await connect(aedes.url, tlsOptions(pki.pem.clientCert, pki.pem.clientKey));
    await client.publishAsync("ven/test/tls", "secure", { qos: 1 });
    const seen = await aedes.waitFor((message) => message.topic === "ven/test/tls", 2000);
    expect(seen.payload.toString()).toBe("secure");
    await client.endAsync();
  });

  test("rejects a client without a certificate", async () => {
    await expect(connect(aedes.url, tlsOptions(undefined, undefined))).rejects.toThrow();
  });

  test("rejects expired and foreign client certificates", async () => {
    await expect(connect(aedes.url, tlsOptions(pki.pem.expiredClientCert, pki.pem.clientKey))).rejects.toThrow();
    await expect(connect(aedes.url, tlsOptions(pki.pem.foreignClientCert, pki.pem.foreignClientKey))).rejects.toThrow();
  });

  test("client rejects an unverifiable server", async () => {
    await expect(
      connect(aedes.url, tlsOptions(pki.pem.clientCert, pki.pem.clientKey, pki.pem.foreignCaCert)),
    ).rejects.toThrow();
  });
});

describe("mosquitto", () => {
  let tlsBroker: MosquittoHandle;
  let plainBroker: MosquittoHandle;
  beforeAll(async () => {
    if (skipMosquitto) return;
    [tlsBroker, plainBroker] = await Promise.all([startMosquitto({ tls: pki }), startMosquitto({})]);
  });
  afterAll(async () => {
    await Promise.all([tlsBroker?.dispose(), plainBroker?.dispose()]);
  });

  test.skipIf(skipMosquitto)("with require_certificate accepts the client certificate", async () => {
    expect(tlsBroker.url).toBe(`mqtts://127.0.0.1:${tlsBroker.port}`);
    const accepted = await tlsBroker.pub("ven/test/mosquitto", "ok");
    expect(accepted.exitCode).toBe(0);
  }, 10_000);

  test.skipIf(skipMosquitto)("with require_certificate rejects a connection without one", async () => {
    const refused = await tlsBroker.pub("ven/test/mosquitto", "no-cert", { cert: false, timeoutMs: 5000 });
    expect(refused.exitCode).not.toBe(0);
    expect(await tlsBroker.readLog()).toContain("peer did not return a certificate");
  }, 10_000);

  test.skipIf(skipMosquitto)("delivers to mosquitto_sub and to MQTT.js over TLS", async () => {
    const subscription = tlsBroker.subscribe("ven/test/roundtrip", { count: 2, timeoutS: 5 });
    await subscription.ready;
    const client = await connect(tlsBroker.url, tlsOptions(pki.pem.clientCert, pki.pem.clientKey));
    await client.publishAsync("ven/test/roundtrip", "line one\nline two", { qos: 1 });
    expect((await tlsBroker.pub("ven/test/roundtrip", "from cli", { protocol: "311" })).exitCode).toBe(0);
    const received = await subscription.messages;
    expect(received.map((message) => message.text)).toEqual(["line one\nline two", "from cli"]);
    expect(received[0]?.topic).toBe("ven/test/roundtrip");
    await client.endAsync();
  }, 10_000);

  test.skipIf(skipMosquitto)("retained messages are readable and gone after a restart", async () => {
    expect((await plainBroker.pub("ven/test/state", "on", { retain: true })).exitCode).toBe(0);
    expect(await plainBroker.sub("ven/test/#", { count: 1, timeoutS: 2, retainedOnly: true })).toEqual(["on"]);
    const port = plainBroker.port;
    await plainBroker.restart();
    expect(plainBroker.port).toBe(port);
    expect(await plainBroker.sub("ven/test/#", { count: 1, timeoutS: 1, retainedOnly: true })).toEqual([]);
  }, 10_000);

  test.skipIf(skipMosquitto)("a frozen broker answers nothing until thawed", async () => {
    plainBroker.freeze();
    const stalled = await plainBroker.pub("ven/test/frozen", "x", { timeoutMs: 1000 });
    expect(stalled.exitCode).not.toBe(0);
    plainBroker.thaw();
    expect((await plainBroker.pub("ven/test/frozen", "x")).exitCode).toBe(0);
  }, 10_000);
});
