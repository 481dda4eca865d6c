import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { resolveConfig } from "../../src/config/resolve.ts";
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { json, startAgent, waitUntil, type AgentUnderTest } from "./agent-harness.ts";

let pki: TestPki;
let broker: AedesHandle;
let running: AgentUnderTest | undefined;

beforeAll(async () => {
  pki = await makeTestPki();
  broker = await startAedes({ tls: pki, requireCertificate: true });
});

afterEach(async () => {
  await running?.agent.stop(200);
  running = undefined;
});

afterAll(async () => {
  await broker.close();
});

describe("VEN agent over mutual TLS", () => {
  test("client certificate connects and publishes", async () => {
    running = await startAgent(broker.url, { ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey });
    const ven = running;
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    const message = await broker.waitFor((candidate) => candidate.topic === "volttron/metering");
    expect(v.safeParse(TelemetrySchema, json(message.payload)).issues).toBeUndefined();
  });

  test("foreign certificate: keeps retrying", async () => {
    const connectsBefore = broker.connects;
    running = await startAgent(broker.url, { ca: pki.files.caCert, cert: pki.files.foreignClientCert, key: pki.files.foreignClientKey });
    const ven = running;
    await waitUntil(() => ven.logs.filter((line) => line.includes("Disconnected:")).length >= 2, ven.clock);
    expect(ven.agent.supervisor.connected).toBe(false);
    expect(broker.connects).toBe(connectsBefore);
  });

  test("server from another CA is refused", async () => {
    running = await startAgent(broker.url, { ca: pki.files.foreignCaCert, cert: pki.files.clientCert, key: pki.files.clientKey });
    const ven = running;
    await waitUntil(() => ven.logs.some((line) => line.includes("Disconnected:")), ven.clock);
    const line = ven.logs.find((candidate) => candidate.includes("Disconnected:"))!;
    expect(line.toLowerCase()).toMatch(/certificate|verify|issuer/);
    expect(ven.agent.supervisor.connected).toBe(false);
  });
});

describe("certificate verification stays on", () => {
  test.each([
    ["empty VEN_INSECURE", { VEN_INSECURE: "" }],
    ["VEN_INSECURE=false", { VEN_INSECURE: "false" }],
    ["VEN_INSECURE=0", { VEN_INSECURE: "0" }],
  ])("%s keeps verification", (_name, env) => {
    const { config } = resolveConfig({ flags: { broker: broker.url, cert: pki.files.clientCert, key: pki.files.clientKey }, env, cwd: pki.dir, hostname: "h", homeDir: pki.dir });
    expect(config.tls.insecure).toBe(false);
  });

  test("--insecure connects to an unknown CA with a warning", async () => {
    running = await startAgent(broker.url, { ca: pki.files.foreignCaCert, cert: pki.files.clientCert, key: pki.files.clientKey, insecure: true });
    const ven = running;
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    expect(ven.logs.some((line) => line.includes("Certificate verification of the broker is off (--insecure)"))).toBe(true);
  });
});
