import { describe, expect, test } from "bun:test";
import { regionFromIotHost } from "../../src/config/broker.ts";
import { resolveConfig } from "../../src/config/resolve.ts";
import type { SettingKey } from "../../src/config/settings.ts";
import { ConfigError } from "../../src/errors.ts";
import { AWS_IOT_MQTT_ALPN, buildClientOptions, type ConnectionSettings } from "../../src/transport/client-options.ts";

function resolve(flags: Partial<Record<SettingKey, string>>, env: Record<string, string> = {}) {
  return resolveConfig({ flags, env, cwd: "/nonexistent-ven-test", hostname: "h", homeDir: "/nonexistent-ven-test" }).config;
}

function resolveError(flags: Partial<Record<SettingKey, string>>): ConfigError {
  try {
    resolve(flags);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("resolveConfig did not throw");
}

const ENDPOINT = "abc123-ats.iot.eu-west-1.amazonaws.com";

describe("auth and region settings", () => {
  test("auth defaults to mtls", () => {
    expect(resolve({}).auth).toBe("mtls");
  });

  test("sigv4 defaults to port 443", () => {
    const config = resolve({ broker: ENDPOINT, auth: "sigv4" });
    expect(config.broker.port).toBe(443);
    expect(config.broker.url).toBe(`wss://${ENDPOINT}:443/mqtt`);
  });

  test("sigv4 needs no client certificate", () => {
    expect(resolve({ broker: ENDPOINT, auth: "sigv4" }).tls.cert).toBeUndefined();
  });

  test("region comes from the endpoint", () => {
    expect(resolve({ broker: ENDPOINT, auth: "sigv4" }).region).toBe("eu-west-1");
  });

  test("--region wins over the endpoint", () => {
    expect(resolve({ broker: ENDPOINT, auth: "sigv4", region: "us-east-1" }).region).toBe("us-east-1");
  });

  test("AWS_REGION is read", () => {
    expect(resolve({ broker: "127.0.0.1", auth: "sigv4" }, { AWS_REGION: "ap-south-1" }).region).toBe("ap-south-1");
  });

  test("sigv4 without region is invalid", () => {
    expect(resolveError({ broker: "127.0.0.1", auth: "sigv4" }).message).toContain("--region");
  });

  test("sigv4 without broker is invalid", () => {
    expect(resolveError({ auth: "sigv4" }).message).toContain("--broker auto");
  });

  test("sigv4 on plain MQTT is invalid", () => {
    expect(resolveError({ broker: "mqtt://127.0.0.1:1883", auth: "sigv4", region: "eu-west-1" }).message).toContain("plain MQTT");
  });

  test("unknown auth is invalid", () => {
    expect(resolveError({ auth: "iam" }).message).toContain("mtls or sigv4");
  });

  test("invalid region is rejected", () => {
    expect(resolveError({ region: "Europe" }).message).toContain("--region");
  });

  test("auto broker waits for discovery", () => {
    const config = resolve({ broker: "auto", username: "u" });
    expect(config.broker.discover).toBe(true);
    expect(config.broker.aws).toBe(true);
    expect(config.broker.port).toBe(8883);
  });

  test.each([
    [ENDPOINT, "eu-west-1"],
    ["abc-ats.iot.cn-north-1.amazonaws.com.cn", "cn-north-1"],
    ["broker.example.com", undefined],
    ["127.0.0.1", undefined],
  ])("region of %s", (host, region) => {
    expect(regionFromIotHost(host)).toBe(region);
  });
});

function settings(port: number, auth: "mtls" | "sigv4" = "mtls"): ConnectionSettings {
  return {
    broker: { url: `mqtts://${ENDPOINT}:${port}`, protocol: "mqtts", host: ENDPOINT, port, embedded: false, aws: true },
    clientId: "ven-home-042",
    tls: {},
    insecure: false,
    keepaliveS: 60,
    auth,
    region: "eu-west-1",
  };
}

describe("buildClientOptions", () => {
  test("port 443 offers the AWS ALPN protocol", () => {
    expect(buildClientOptions(settings(443), 5, undefined).ALPNProtocols).toEqual([AWS_IOT_MQTT_ALPN]);
  });

  test("port 8883 offers no ALPN", () => {
    expect(buildClientOptions(settings(8883), 5, undefined).ALPNProtocols).toBeUndefined();
  });

  test("sigv4 uses the WebSocket path", () => {
    const options = buildClientOptions(settings(443, "sigv4"), 5, undefined);
    expect(options.protocol).toBe("wss");
    expect(options.path).toBe("/mqtt");
    expect(options.ALPNProtocols).toBeUndefined();
  });
});

describe("ven run --auth sigv4", () => {
  test("is rejected before connecting", async () => {
    const { runCli } = await import("../helpers/cli.ts");
    const { code, stderr } = await runCli(["run", "--auth", "sigv4", "--broker", ENDPOINT]);
    expect(code).toBe(2);
    expect(stderr).toContain("operator tools");
  });
});
