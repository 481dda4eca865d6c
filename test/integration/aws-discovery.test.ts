import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { discoverBroker } from "../../src/aws/discover.ts";
import { resolveConfig } from "../../src/config/resolve.ts";
import { createLogger } from "../../src/logger.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { startFakeAws, useAwsTestEnvironment, type AwsTestEnvironment, type FakeAws } from "../helpers/fake-aws.ts";
import { makeTestPki, TEST_CLIENT_CN, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const ENDPOINT = "a1b2c3d4e5f6g7-ats.iot.eu-central-1.amazonaws.com";

let pki: TestPki;
let fake: FakeAws;
let aws: AwsTestEnvironment;
let cwd: string;

beforeAll(async () => {
  pki = await makeTestPki();
  fake = await startFakeAws({
    iotEndpoint: ENDPOINT,
    secrets: { "dev-volttron-tls": JSON.stringify({ ca_cert: pki.pem.caCert, client_cert: pki.pem.clientCert, private_key: pki.pem.clientKey }) },
  });
  aws = await useAwsTestEnvironment(fake.url);
  cwd = await makeTempDir("ven-discovery-");
});

afterAll(async () => {
  await aws.restore();
  await fake.close();
  await removeTempDir(cwd);
});

function resolveAuto(flags: Record<string, string>) {
  return resolveConfig({ flags: { broker: "auto", venId: "ven-home-042", username: "u", ...flags }, env: {}, cwd, hostname: "h", homeDir: cwd }).config;
}

const silent = createLogger({ level: "silent", format: "pretty", sink: { write: () => undefined } });

describe("--broker auto", () => {
  test("DescribeEndpoint fills in the host", async () => {
    const config = await discoverBroker(resolveAuto({}), silent);
    expect(config.broker.host).toBe(ENDPOINT);
    expect(config.broker.url).toBe(`mqtts://${ENDPOINT}:8883`);
    expect(config.broker.discover).toBe(false);
  });

  test("region comes from the endpoint", async () => {
    expect((await discoverBroker(resolveAuto({}), silent)).region).toBe("eu-central-1");
  });

  test("sigv4 uses port 443", async () => {
    const config = await discoverBroker(resolveAuto({ auth: "sigv4" }), silent);
    expect(config.broker.port).toBe(443);
  });

  test("call is signed for the iot service", async () => {
    const before = fake.requests.length;
    await discoverBroker(resolveAuto({}), silent);
    const seen = fake.requests.slice(before);
    expect(seen.map((request) => request.operation)).toEqual(["iot.DescribeEndpoint"]);
    expect(seen[0]!.signingService).toBe("iot");
    expect(seen[0]!.signatureValid).toBe(true);
  });

  test("explicit broker skips AWS", async () => {
    const before = fake.requests.length;
    const config = resolveAuto({ broker: "mqtts://127.0.0.1:8883" });
    expect(await discoverBroker(config, silent)).toBe(config);
    expect(fake.requests.length).toBe(before);
  });
});

describe("ven run --fetch-certs", () => {
  let broker: AedesHandle;

  beforeAll(async () => {
    broker = await startAedes({ tls: pki, requireCertificate: true });
  });

  afterAll(async () => {
    await broker.close();
  });

  test("fetches missing files, then connects", async () => {
    const stop = new AbortController();
    const args = ["run", "--broker", broker.url, "--ven-id", TEST_CLIENT_CN, "--fetch-certs", "dev-volttron-tls", "--state-dir", join(cwd, "state"), "--mqtt-version", "3.1.1"];
    const running = runCli(args, { cwd, env: aws.env, stopSignal: stop.signal, clock: new ManualClock(Date.now()) });
    try {
      await broker.waitFor((message) => message.clientId === TEST_CLIENT_CN && message.topic === `ven/status/${TEST_CLIENT_CN}`, 10_000);
    } finally {
      stop.abort("SIGTERM");
    }
    const { code, stderr } = await running;
    expect(code).toBe(0);
    expect(stderr).toContain("Fetching certificates from secret dev-volttron-tls");
    expect(existsSync(join(cwd, "certs/client.key"))).toBe(true);
  });

  test("present files are not fetched again", async () => {
    const before = fake.requests.length;
    const stop = new AbortController();
    stop.abort("SIGTERM");
    const args = ["run", "--broker", broker.url, "--ven-id", TEST_CLIENT_CN, "--fetch-certs", "dev-volttron-tls", "--state-dir", join(cwd, "state")];
    const { code } = await runCli(args, { cwd, env: aws.env, stopSignal: stop.signal, clock: new ManualClock(Date.now()) });
    expect(code).toBe(0);
    expect(fake.requests.length).toBe(before);
  });
});
