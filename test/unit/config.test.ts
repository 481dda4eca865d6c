import { afterEach, beforeEach, describe, expect, setSystemTime, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig, type ConfigSources, type ResolvedConfig } from "../../src/config/resolve.ts";
import type { SettingKey } from "../../src/config/settings.ts";
import { ConfigError } from "../../src/errors.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

// Parsed only, never contacted: the AWS IoT limits apply to host names of this form.
const AWS_HOST = "ven-test-ats.iot.example-region.amazonaws.com";
const TLS_FLAGS = { cert: "client.crt", key: "client.key" } as const;

let cwd: string;
let home: string;

beforeEach(async () => {
  cwd = await makeTempDir("ven-config-cwd-");
  home = await makeTempDir("ven-config-home-");
});

afterEach(async () => {
  await removeTempDir(cwd);
  await removeTempDir(home);
});

function resolve(sources: Partial<ConfigSources> = {}): ResolvedConfig {
  return resolveConfig({ flags: {}, env: {}, cwd, hostname: "test-host", homeDir: home, ...sources });
}

/** Runs `resolve` and returns the ConfigError it throws. */
function configError(sources: Partial<ConfigSources>): ConfigError {
  try {
    resolve(sources);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("resolveConfig did not throw");
}

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value));
  return path;
}

function touch(relativePath: string): string {
  const path = join(cwd, relativePath);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "");
  return path;
}

describe("resolveConfig precedence", () => {
  test.each([
    ["flag", { interval: "7" }, { VEN_INTERVAL: "8" }, { interval: 9 }, 7, "flag"],
    ["env", {}, { VEN_INTERVAL: "8" }, { interval: 9 }, 8, "env"],
    ["file", {}, {}, { interval: 9 }, 9, "file"],
    ["default", {}, {}, {}, 5, "default"],
  ] as const)("%s wins", (_name, flags, env, file, expected, origin) => {
    writeJson(join(cwd, "ven.config.json"), file);
    const resolved = resolve({ flags, env });
    expect(resolved.config.intervalS).toBe(expected);
    expect(resolved.origins.interval.kind).toBe(origin);
  });

  test("origin names the flag", () => {
    expect(resolve({ flags: { interval: "7" } }).origins.interval).toEqual({ kind: "flag", name: "interval" });
  });

  test("origin names the variable", () => {
    expect(resolve({ env: { VEN_INTERVAL: "8" } }).origins.interval).toEqual({ kind: "env", name: "VEN_INTERVAL" });
  });

  test("origin names the file", () => {
    const path = writeJson(join(cwd, "ven.config.json"), { interval: 9 });
    expect(resolve().origins.interval).toEqual({ kind: "file", path });
  });

  test("blank variable counts as unset", () => {
    expect(resolve({ env: { VEN_INTERVAL: "  " } }).origins.interval.kind).toBe("default");
  });

  test("null in file counts as unset", () => {
    writeJson(join(cwd, "ven.config.json"), { interval: null });
    expect(resolve().origins.interval.kind).toBe("default");
  });
});

describe("resolveConfig variable names", () => {
  test.each([
    ["IOT_ENDPOINT", "mqtt://127.0.0.1:1884", "broker", (r: ResolvedConfig) => r.config.broker.url],
    ["CLIENT_ID", "ven-old-1", "venId", (r: ResolvedConfig) => r.config.venId],
    ["IOT_THING_NAME", "ven-old-2", "venId", (r: ResolvedConfig) => r.config.venId],
    ["CA_CERT", "/pki/ca.pem", "ca", (r: ResolvedConfig) => r.config.tls.ca],
    ["CLIENT_CERT", "/pki/client.crt", "cert", (r: ResolvedConfig) => r.config.tls.cert],
    ["PRIVATE_KEY", "/pki/client.key", "key", (r: ResolvedConfig) => r.config.tls.key],
    ["TELEMETRY_TOPIC", "old/telemetry/{venId}", "telemetryTopic", (r: ResolvedConfig) => r.config.topics.telemetry],
    ["CMD_TOPIC", "old/cmd/{venId}", "commandTopic", (r: ResolvedConfig) => r.config.topics.command],
    ["ACK_TOPIC", "old/ack/{venId}", "ackTopic", (r: ResolvedConfig) => r.config.topics.ack],
  ] as const)("accepts %s", (name, value, key, read) => {
    const resolved = resolve({ env: { [name]: value } });
    expect(read(resolved)).toBe(value);
    expect(resolved.origins[key as SettingKey]).toEqual({ kind: "env", name });
  });

  test("VEN name wins over old name", () => {
    expect(resolve({ env: { VEN_ID: "ven-new", CLIENT_ID: "ven-old" } }).config.venId).toBe("ven-new");
  });

  test("disagreeing names are warned", () => {
    const [warning] = resolve({ env: { VEN_ID: "ven-new", CLIENT_ID: "ven-old" } }).warnings;
    expect(warning).toContain("VEN_ID");
    expect(warning).toContain("CLIENT_ID");
  });

  test("agreeing names are quiet", () => {
    expect(resolve({ env: { VEN_ID: "ven-same", CLIENT_ID: "ven-same" } }).warnings).toEqual([]);
  });
});

describe("resolveConfig broker", () => {
  test.each([
    ["mqtts URL", "mqtts://127.0.0.1:8883", "mqtts", "127.0.0.1", 8883],
    ["mqtt URL", "mqtt://127.0.0.1:1883", "mqtt", "127.0.0.1", 1883],
    ["mqtt without port", "mqtt://127.0.0.1", "mqtt", "127.0.0.1", 1883],
    ["bare host", "localhost", "mqtts", "localhost", 8883],
    ["bare address", "127.0.0.1", "mqtts", "127.0.0.1", 8883],
    ["host and port", "127.0.0.1:9883", "mqtts", "127.0.0.1", 9883],
    ["IPv6 loopback", "[::1]:8884", "mqtts", "::1", 8884],
    ["upper-case scheme", "MQTT://127.0.0.1:1885", "mqtt", "127.0.0.1", 1885],
  ] as const)("parses %s", (_name, value, protocol, host, port) => {
    const { broker } = resolve({ flags: { broker: value, ...TLS_FLAGS } }).config;
    expect(broker.protocol).toBe(protocol);
    expect(broker.host).toBe(host);
    expect(broker.port).toBe(port);
    expect(broker.embedded).toBe(false);
  });

  test.each([
    ["http scheme", "http://127.0.0.1:8080", "scheme"],
    ["ws scheme", "ws://127.0.0.1:8080", "scheme"],
    ["path", "mqtt://127.0.0.1:1883/mqtt", "path"],
    ["query", "mqtt://127.0.0.1:1883?x=1", "query"],
    ["credentials", "mqtt://user:pw@127.0.0.1:1883", "credentials"],
    ["port out of range", "mqtt://127.0.0.1:70000", "not a valid URL"],
  ] as const)("rejects %s", (_name, value, reason) => {
    const error = configError({ flags: { broker: value } });
    expect(error.message).toContain(reason);
    expect(error.message).toContain("--broker");
    expect(error.message).toContain("Fix");
  });

  // A client cannot connect to port 0.
  test("rejects port 0", () => {
    expect(configError({ flags: { broker: "mqtt://127.0.0.1:0" } }).message).toContain("--broker");
  });

  test("unset means embedded", () => {
    const { broker } = resolve().config;
    expect(broker).toEqual({ url: "mqtt://127.0.0.1:1883", protocol: "mqtt", host: "127.0.0.1", port: 1883, embedded: true, aws: false });
  });

  test("embedded uses MQTT 3.1.1", () => {
    expect(resolve().config.mqttVersion).toBe("3.1.1");
  });

  test("remote broker uses auto", () => {
    expect(resolve({ flags: { broker: "mqtt://127.0.0.1:1884" } }).config.mqttVersion).toBe("auto");
  });

  test("embedded origin is default", () => {
    expect(resolve().origins.broker.kind).toBe("default");
  });

  test("amazonaws host is AWS", () => {
    expect(resolve({ flags: { broker: AWS_HOST, ...TLS_FLAGS } }).config.broker.aws).toBe(true);
  });
});

describe("resolveConfig TLS files", () => {
  const TLS_BROKER = { broker: "mqtts://127.0.0.1:8883" };

  test("certs folder is the default", () => {
    const files = { ca: touch("certs/ca.pem"), cert: touch("certs/client.crt"), key: touch("certs/client.key") };
    const { tls } = resolve({ flags: TLS_BROKER }).config;
    expect(tls.ca).toBe(files.ca);
    expect(tls.cert).toBe(files.cert);
    expect(tls.key).toBe(files.key);
  });

  test("default cert origin notes file", () => {
    touch("certs/client.crt");
    touch("certs/client.key");
    expect(resolve({ flags: TLS_BROKER }).origins.cert).toEqual({ kind: "default", note: "certs/client.crt exists" });
  });

  test("missing certs folder leaves none", () => {
    expect(resolve().config.tls).toEqual({ insecure: false });
  });

  test("embedded broker ignores certs folder", () => {
    touch("certs/client.crt");
    touch("certs/client.key");
    expect(resolve().config.tls.cert).toBeUndefined();
  });

  test("flag paths resolve from cwd", () => {
    expect(resolve({ flags: { ...TLS_BROKER, ...TLS_FLAGS } }).config.tls.cert).toBe(join(cwd, "client.crt"));
  });

  test("mqtts without cert fails", () => {
    const error = configError({ flags: TLS_BROKER });
    expect(error.message).toContain("--cert");
    expect(error.message).toContain("--key");
    expect(error.message).toContain("mqtts://127.0.0.1:8883");
    expect(error.message).toContain("Fix");
  });

  test("mqtts with username needs no cert", () => {
    expect(resolve({ flags: { ...TLS_BROKER, username: "ven" } }).config.tls.cert).toBeUndefined();
  });

  test("cert without key fails", () => {
    const error = configError({ flags: { ...TLS_BROKER, cert: "client.crt" } });
    expect(error.message).toContain("--key");
    expect(error.message).toContain("--cert");
    expect(error.message).toContain("Fix");
  });

  test("key without cert fails", () => {
    const error = configError({ flags: { ...TLS_BROKER, key: "client.key" } });
    expect(error.message).toContain("--cert");
    expect(error.message).toContain("Fix");
  });

  test("default cert without key fails", () => {
    touch("certs/client.crt");
    expect(configError({ flags: TLS_BROKER }).message).toContain("--key");
  });

  // The message names the flag but not the file that was set.
  test("cert without key names file", () => {
    expect(configError({ flags: { ...TLS_BROKER, cert: "client.crt" } }).message).toContain("client.crt");
  });
});

describe("resolveConfig keepalive", () => {
  test("10 s rejected for AWS", () => {
    const error = configError({ flags: { broker: AWS_HOST, keepalive: "10", ...TLS_FLAGS } });
    expect(error.message).toContain("--keepalive");
    expect(error.message).toContain("10 s");
    expect(error.message).toContain("Fix");
  });

  test("1201 s rejected for AWS", () => {
    expect(configError({ flags: { broker: AWS_HOST, keepalive: "1201", ...TLS_FLAGS } }).message).toContain("--keepalive");
  });

  test("10 s accepted for loopback", () => {
    expect(resolve({ flags: { broker: "mqtt://127.0.0.1:1883", keepalive: "10" } }).config.keepaliveS).toBe(10);
  });

  test("10 s accepted for embedded", () => {
    expect(resolve({ flags: { keepalive: "10" } }).config.keepaliveS).toBe(10);
  });
});

describe("resolveConfig interval", () => {
  test.each([
    ["0", '"0"'],
    ["3601", '"3601"'],
    ["abc", '"abc"'],
    ["5.5", '"5.5"'],
    ["-5", '"-5"'],
    ["", '""'],
  ])("rejects %p", (value, received) => {
    const error = configError({ flags: { interval: value } });
    expect(error.message).toContain("--interval");
    expect(error.message).toContain(`got ${received}`);
    expect(error.message).toContain("Fix");
  });

  test("rejects number in file", () => {
    writeJson(join(cwd, "ven.config.json"), { interval: 0 });
    expect(configError({}).message).toContain("got 0");
  });

  test("60 accepted with warning", () => {
    const resolved = resolve({ flags: { interval: "60" } });
    expect(resolved.config.intervalS).toBe(60);
    expect(resolved.warnings).toHaveLength(1);
    expect(resolved.warnings[0]).toContain("60 s");
  });

  test("59 accepted quietly", () => {
    expect(resolve({ flags: { interval: "59" } }).warnings).toEqual([]);
  });

  test("accepts surrounding spaces", () => {
    expect(resolve({ env: { VEN_INTERVAL: " 10 " } }).config.intervalS).toBe(10);
  });
});

describe("resolveConfig other values", () => {
  test.each([
    ["panel-amps", { panelAmps: "120" }, '"120"'],
    ["ven-id", { venId: "ven home" }, '"ven home"'],
    ["mqtt-version", { mqttVersion: "4" }, '"4"'],
    ["log-level", { logLevel: "loud" }, '"loud"'],
    ["insecure", { insecure: "maybe" }, '"maybe"'],
    ["seed", { seed: "-1" }, '"-1"'],
  ] as const)("rejects bad --%s", (flag, flags, received) => {
    const error = configError({ flags });
    expect(error.message).toContain(`--${flag}`);
    expect(error.message).toContain(received);
    expect(error.message).toContain("Fix");
  });

  test("rejects wildcard topic", () => {
    const error = configError({ flags: { commandTopic: "ven/cmd/+" } });
    expect(error.message).toContain("--cmd-topic");
    expect(error.message).toContain('"ven/cmd/+"');
    expect(error.message).toContain("Fix");
  });

  test("rejects min above max delay", () => {
    const error = configError({ flags: { reconnectMinDelay: "30", reconnectMaxDelay: "10" } });
    expect(error.message).toContain("--reconnect-min-delay");
    expect(error.message).toContain("30 s");
    expect(error.message).toContain("Fix");
  });

  test("error names variable origin", () => {
    expect(configError({ env: { VEN_PANEL_AMPS: "120" } }).message).toContain("from VEN_PANEL_AMPS");
  });

  test.each([
    ["true", true],
    ["FALSE", false],
    ["1", true],
    ["no", false],
  ] as const)("reads boolean %p", (value, expected) => {
    expect(resolve({ env: { VEN_LEGACY_FIELDS: value } }).config.legacyFields).toBe(expected);
  });

  test("seed follows the venId", () => {
    const first = resolve({ flags: { venId: "ven-a" } }).config.seed;
    expect(resolve({ flags: { venId: "ven-a" } }).config.seed).toBe(first);
    expect(resolve({ flags: { venId: "ven-b" } }).config.seed).not.toBe(first);
  });
});

describe("resolveConfig venId", () => {
  test.each([
    ["My Host.local", "ven-My-Host"],
    ["gw_7:a", "ven-gw_7:a"],
    ["site  gw!!7", "ven-site-gw-7"],
    ["höst", "ven-h-st"],
    ["-edge-", "ven-edge"],
    [".local", "ven-host"],
    ["", "ven-host"],
  ])("derives from host %p", (hostname, expected) => {
    const resolved = resolve({ hostname });
    expect(resolved.config.venId).toBe(expected);
  });

  test("derived id uses allowed characters", () => {
    expect(resolve({ hostname: "My Host.local" }).config.venId).toMatch(/^[A-Za-z0-9:_-]{1,128}$/);
  });

  test("derived id is at most 128", () => {
    expect(resolve({ hostname: "h".repeat(300) }).config.venId).toHaveLength(128);
  });

  test("derived id ignores the clock", () => {
    try {
      setSystemTime(new Date("2026-01-01T00:00:00Z"));
      const first = resolve({ hostname: "gw" }).config.venId;
      setSystemTime(new Date("2031-06-15T08:30:00Z"));
      expect(resolve({ hostname: "gw" }).config.venId).toBe(first);
    } finally {
      setSystemTime();
    }
  });

  test("default origin names host", () => {
    expect(resolve({ hostname: "gw" }).origins.venId).toEqual({ kind: "default", note: "from host name gw" });
  });
});

describe("resolveConfig state dir", () => {
  test("uses XDG_STATE_HOME", () => {
    const xdg = join(home, "xdg-state");
    expect(resolve({ env: { XDG_STATE_HOME: xdg }, flags: { venId: "ven-a" } }).config.stateDir).toBe(join(xdg, "ven", "ven-a"));
  });

  test("falls back to home", () => {
    expect(resolve({ flags: { venId: "ven-a" } }).config.stateDir).toBe(join(home, ".local", "state", "ven", "ven-a"));
  });

  test("ignores relative XDG_STATE_HOME", () => {
    expect(resolve({ env: { XDG_STATE_HOME: "rel" }, flags: { venId: "ven-a" } }).config.stateDir).toBe(join(home, ".local", "state", "ven", "ven-a"));
  });

  test("follows the derived venId", () => {
    expect(resolve({ hostname: "gw" }).config.stateDir).toBe(join(home, ".local", "state", "ven", "ven-gw"));
  });

  test("relative flag resolves from cwd", () => {
    expect(resolve({ flags: { stateDir: "state" } }).config.stateDir).toBe(join(cwd, "state"));
  });
});

describe("resolveConfig file", () => {
  test("reads ven.config.json in cwd", () => {
    const path = writeJson(join(cwd, "ven.config.json"), { venId: "ven-file" });
    const resolved = resolve();
    expect(resolved.config.venId).toBe("ven-file");
    expect(resolved.file).toBe(path);
  });

  test("no file is fine", () => {
    expect(resolve().file).toBeUndefined();
  });

  test("reads --config path", () => {
    mkdirSync(join(cwd, "etc"));
    const path = writeJson(join(cwd, "etc", "site.json"), { venId: "ven-flag-file" });
    const resolved = resolve({ configFile: "etc/site.json" });
    expect(resolved.config.venId).toBe("ven-flag-file");
    expect(resolved.file).toBe(path);
  });

  test("--config replaces cwd file", () => {
    writeJson(join(cwd, "ven.config.json"), { venId: "ven-cwd" });
    const path = writeJson(join(home, "other.json"), { venId: "ven-other" });
    expect(resolve({ configFile: path }).config.venId).toBe("ven-other");
  });

  test("reads VEN_CONFIG path", () => {
    const path = writeJson(join(home, "env.json"), { venId: "ven-env-file" });
    expect(resolve({ env: { VEN_CONFIG: path } }).config.venId).toBe("ven-env-file");
  });

  test("missing --config file fails", () => {
    const error = configError({ configFile: "absent.json" });
    expect(error.message).toContain(join(cwd, "absent.json"));
    expect(error.message).toContain("not found");
    expect(error.message).toContain("--config");
    expect(error.message).toContain("Fix");
  });

  test("unknown key suggests name", () => {
    const path = writeJson(join(cwd, "ven.config.json"), { intervall: 5 });
    const error = configError({});
    expect(error.message).toContain('"intervall"');
    expect(error.message).toContain('Did you mean "interval"?');
    expect(error.message).toContain(path);
  });

  test("invalid JSON names file", () => {
    const path = join(cwd, "ven.config.json");
    writeFileSync(path, '{"interval": 5,');
    const error = configError({});
    expect(error.message).toContain(path);
    expect(error.message).toContain("not valid JSON");
    expect(error.message).toContain("Fix");
  });

  test("array file is rejected", () => {
    writeJson(join(cwd, "ven.config.json"), [1]);
    expect(configError({}).message).toContain("must contain a JSON object");
  });

  test("relative paths follow the file", () => {
    const folder = join(cwd, "site");
    mkdirSync(folder);
    writeJson(join(folder, "ven.json"), { broker: "mqtts://127.0.0.1:8883", ca: "pki/ca.pem", cert: "pki/c.crt", key: "/abs/c.key", stateDir: "state" });
    const { config } = resolve({ configFile: "site/ven.json" });
    expect(config.tls.ca).toBe(join(folder, "pki", "ca.pem"));
    expect(config.tls.cert).toBe(join(folder, "pki", "c.crt"));
    expect(config.tls.key).toBe("/abs/c.key");
    expect(config.stateDir).toBe(join(folder, "state"));
  });

  test("file error names file origin", () => {
    const path = writeJson(join(cwd, "ven.config.json"), { panelAmps: 120 });
    expect(configError({}).message).toContain(`from file ${path}`);
  });
});

describe("ConfigError", () => {
  test("exits with code 2", () => {
    expect(new ConfigError("x").exitCode).toBe(2);
  });

  test("thrown errors exit with code 2", () => {
    expect(configError({ flags: { interval: "0" } }).exitCode).toBe(2);
  });
});
