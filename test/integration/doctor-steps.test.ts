import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Client } from "aedes";
import mqtt from "mqtt";
import { resolveConfig } from "../../src/config/resolve.ts";
import type { SettingKey } from "../../src/config/settings.ts";
import { runDoctor, type DoctorReport } from "../../src/doctor/doctor.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { makeTestPki, TEST_CLIENT_CN, type TestPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";

let pki: TestPki;
let broker: AedesHandle;

beforeAll(async () => {
  pki = await makeTestPki();
  broker = await startAedes({ tls: pki, requireCertificate: true });
});

afterEach(() => {
  const aedes = broker.broker;
  aedes.authenticate = (_client, _user, _password, done) => done(null, true);
  aedes.authorizeSubscribe = (_client, subscription, done) => done(null, subscription);
});

afterAll(async () => {
  await broker.close();
});

function doctorConfig(flags: Partial<Record<SettingKey, string>> = {}) {
  return resolveConfig({
    flags: { broker: broker.url, venId: TEST_CLIENT_CN, ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey, mqttVersion: "3.1.1", ...flags },
    env: {},
    cwd: pki.dir,
    hostname: "h",
    homeDir: pki.dir,
  }).config;
}

async function doctor(flags: Partial<Record<SettingKey, string>> = {}, options: { resolver?: (host: string) => Promise<string[]>; force?: boolean } = {}): Promise<DoctorReport> {
  return await runDoctor({ config: doctorConfig(flags), clock: new ManualClock(Date.now()), timeoutMs: 3000, force: options.force ?? false, ...(options.resolver ? { resolver: options.resolver } : {}) });
}

function failure(report: DoctorReport) {
  return report.steps.find((step) => !step.ok)!;
}

describe("ven doctor steps", () => {
  test("all steps pass", async () => {
    const report = await doctor();
    expect(report.steps.map((step) => step.step)).toEqual(["config", "dns", "tcp", "tls", "status", "connect", "subscribe", "roundtrip"]);
    expect(report.ok).toBe(true);
  });

  test("unresolvable name fails dns", async () => {
    const resolver = async (host: string): Promise<string[]> => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    };
    const report = await doctor({ broker: "mqtts://broker.invalid:8883" }, { resolver });
    expect(report.failedStep).toBe("dns");
    expect(failure(report).detail).toContain("does not exist");
    expect(failure(report).hint).toContain("--broker");
  });

  test("refused port fails tcp", async () => {
    const port = await freePort();
    const report = await doctor({ broker: `mqtts://127.0.0.1:${port}` });
    expect(report.failedStep).toBe("tcp");
    expect(failure(report).hint).toContain("Nothing accepts connections");
  });

  test("wrong CA fails tls", async () => {
    const report = await doctor({ ca: pki.files.foreignCaCert });
    expect(report.failedStep).toBe("tls");
    expect(failure(report).hint).toContain("not signed by the CA");
  });

  test("expired certificate fails config", async () => {
    const report = await doctor({ cert: pki.files.expiredClientCert });
    expect(report.failedStep).toBe("config");
    expect(failure(report).detail).toContain("expired");
    expect(failure(report).hint).toContain("ven certs check");
  });

  test("refused CONNACK fails connect", async () => {
    broker.broker.authenticate = (client: Client, _user, _password, done) => {
      if (client.id === TEST_CLIENT_CN) done(Object.assign(new Error("not authorized"), { returnCode: 5 }), false);
      else done(null, true);
    };
    const report = await doctor();
    expect(report.failedStep).toBe("connect");
    expect(failure(report).detail).toContain("not authorized");
    expect(failure(report).hint).toContain(`client ${TEST_CLIENT_CN}`);
  });

  test("denied subscription fails subscribe", async () => {
    broker.broker.authorizeSubscribe = (_client, subscription, done) => {
      if (subscription.topic.startsWith("ven/cmd/")) done(null, null);
      else done(null, subscription);
    };
    const report = await doctor();
    expect(report.failedStep).toBe("subscribe");
    expect(failure(report).detail).toContain(`ven/cmd/${TEST_CLIENT_CN}`);
    expect(failure(report).hint).toContain("ACL");
  });

  describe("with a live VEN online", () => {
    let other: mqtt.MqttClient;

    beforeAll(async () => {
      other = await mqtt.connectAsync(broker.url, { ca: pki.pem.caCert, cert: pki.pem.clientCert, key: pki.pem.clientKey, protocolVersion: 4, clientId: "status-writer" });
      const status = { venId: TEST_CLIENT_CN, status: "online", timestamp: Math.floor(Date.now() / 1000), version: "0.1.0", instance: "site-gw/4121/1764849985" };
      await other.publishAsync(`ven/status/${TEST_CLIENT_CN}`, JSON.stringify(status), { qos: 1, retain: true });
    });

    afterAll(async () => {
      await other.publishAsync(`ven/status/${TEST_CLIENT_CN}`, "", { qos: 1, retain: true });
      await other.endAsync();
    });

    test("refuses to take over the session", async () => {
      const connectsBefore = broker.connects;
      const report = await doctor();
      expect(report.failedStep).toBe("status");
      expect(failure(report).detail).toContain("site-gw/4121/1764849985");
      expect(failure(report).hint).toContain("--force");
      expect(broker.connects).toBe(connectsBefore + 1);
    });

    test("--force goes on", async () => {
      const report = await doctor({}, { force: true });
      expect(report.ok).toBe(true);
    });
  });
});

describe("ven doctor command", () => {
  const args = (ca = pki.files.caCert) => ["doctor", "--broker", broker.url, "--ven-id", TEST_CLIENT_CN, "--ca", ca, "--cert", pki.files.clientCert, "--key", pki.files.clientKey, "--mqtt-version", "3.1.1", "--timeout", "3"];

  test("pretty output exits 0", async () => {
    const { code, stdout } = await runCli([...args(), "--output", "pretty"], { clock: new ManualClock(Date.now()) });
    expect(code).toBe(0);
    expect(stdout).toContain("PASS  roundtrip");
    expect(stdout).toContain("All steps passed.");
  });

  test("json names the failing step", async () => {
    const { code, stdout } = await runCli([...args(pki.files.foreignCaCert), "--output", "json"], { clock: new ManualClock(Date.now()) });
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.failedStep).toBe("tls");
    expect(report.steps.at(-1)!.hint).toBeDefined();
  });
});
