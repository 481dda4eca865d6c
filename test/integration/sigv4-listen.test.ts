import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt, { type MqttClient } from "mqtt";
import { presignIotWebSocketUrl } from "../../src/aws/presign.ts";
import { systemClock } from "../../src/clock.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { runCli } from "../helpers/cli.ts";
import { startFakeAws, TEST_CREDENTIALS, TEST_REGION, useAwsTestEnvironment, type AwsTestEnvironment, type FakeAws } from "../helpers/fake-aws.ts";
import { startFakeIotWebSocket, type FakeIotWebSocket } from "../helpers/fake-iot-websocket.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";

const VEN_ID = "ven-home-042";
const SESSION_TOKEN = "test-session-token/with+special=chars";

let pki: TestPki;
let broker: AedesHandle;
let gateway: FakeIotWebSocket;
let fake: FakeAws;
let aws: AwsTestEnvironment;
let publisher: MqttClient;
let ticker: ReturnType<typeof setInterval>;

beforeAll(async () => {
  pki = await makeTestPki();
  broker = await startAedes();
  gateway = await startFakeIotWebSocket(pki, broker.port);
  fake = await startFakeAws();
  aws = await useAwsTestEnvironment(fake.url, { AWS_SESSION_TOKEN: SESSION_TOKEN });
  publisher = await mqtt.connectAsync(broker.url, { clientId: "telemetry-source", protocolVersion: 4, reconnectPeriod: 0 });
  // Stands in for the VEN: telemetry every 100 ms on its monitoring topic.
  let seq = 0;
  ticker = setInterval(() => {
    seq += 1;
    publisher.publish(`ven/telemetry/${VEN_ID}`, JSON.stringify({ venId: VEN_ID, seq, usedPowerKw: 1.5, panelMaxKw: 48 }), { qos: 1 });
  }, 100);
});

afterAll(async () => {
  clearInterval(ticker);
  await publisher.endAsync();
  await gateway.close();
  await broker.close();
  await aws.restore();
  await fake.close();
});

function listenSigv4(extra: string[] = []) {
  const args = ["listen", "--auth", "sigv4", "--broker", `127.0.0.1:${gateway.port}`, "--region", TEST_REGION, "--ca", pki.files.caCert, "--ven-id", VEN_ID, "--count", "2", "--timeout", "10", "--mqtt-version", "3.1.1", ...extra];
  return runCli(args, { env: aws.env });
}

describe("ven listen --auth sigv4", () => {
  test("receives telemetry over WebSocket", async () => {
    const { code, stdout, stderr } = await listenSigv4();
    expect(stderr).not.toContain("ven:");
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { topic: string });
    expect(lines).toHaveLength(2);
    expect(lines[0]!.topic).toBe(`ven/telemetry/${VEN_ID}`);
  });

  test("URL is signed for iotdevicegateway", async () => {
    const before = gateway.checks.length;
    await listenSigv4();
    const check = gateway.checks[before]!;
    expect(check.signatureValid).toBe(true);
    expect(check.service).toBe("iotdevicegateway");
    expect(check.region).toBe(TEST_REGION);
    expect(check.subprotocol).toBe("mqtt");
  });

  test("session token is added after signing", async () => {
    const before = gateway.checks.length;
    await listenSigv4();
    expect(gateway.checks[before]!.sessionToken).toBe(SESSION_TOKEN);
    expect(gateway.checks[before]!.signatureValid).toBe(true);
  });

  test("wrong secret key is rejected", async () => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = "not-the-test-secret";
    try {
      const { code } = await listenSigv4();
      expect(code).toBe(4);
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
    expect(gateway.checks.at(-1)!.signatureValid).toBe(false);
  });
});

describe("ven send --auth sigv4", () => {
  test("publishes the command over WebSocket", async () => {
    const since = broker.published.length;
    const args = ["send", "ping", "--auth", "sigv4", "--broker", `127.0.0.1:${gateway.port}`, "--region", TEST_REGION, "--ca", pki.files.caCert, "--ven-id", VEN_ID, "--timeout", "1", "--mqtt-version", "3.1.1"];
    const { code } = await runCli(args, { env: aws.env, clock: systemClock });
    const command = await broker.waitFor((message) => message.topic === `ven/cmd/${VEN_ID}`, 5000, since);
    expect(JSON.parse(command.payload.toString("utf8")).op).toBe("ping");
    expect(code).toBe(3);
  });
});

describe("presignIotWebSocketUrl", () => {
  test("builds the wss URL", async () => {
    const url = new URL(await presignIotWebSocketUrl({ host: "abc-ats.iot.eu-west-1.amazonaws.com", port: 443, region: "eu-west-1", credentials: { ...TEST_CREDENTIALS }, nowMs: Date.UTC(2026, 0, 2, 3, 4, 5) }));
    expect(url.protocol).toBe("wss:");
    expect(url.host).toBe("abc-ats.iot.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/mqtt");
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Date")).toBe("20260102T030405Z");
    expect(url.searchParams.get("X-Amz-Credential")).toBe(`${TEST_CREDENTIALS.accessKeyId}/20260102/eu-west-1/iotdevicegateway/aws4_request`);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    expect(url.searchParams.get("X-Amz-Security-Token")).toBeNull();
  });
});
