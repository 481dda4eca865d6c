import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { ExitCode } from "../../src/errors.ts";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

interface ConfigOutput {
  file: string | null;
  settings: Record<string, { value: unknown; source: string }>;
  warnings: string[];
}

function parseConfigOutput(stdout: string): ConfigOutput {
  return JSON.parse(stdout) as ConfigOutput;
}

describe("ven help and version", () => {
  test("--help exits 0", async () => {
    expect((await runCli(["--help"])).code).toBe(0);
  });

  test.each(["run", "listen", "config"])("--help lists %s", async (command) => {
    expect((await runCli(["--help"])).stdout).toMatch(new RegExp(`^\\s+${command}\\s`, "m"));
  });

  test("--help lists exit codes", async () => {
    const { stdout } = await runCli(["--help"]);
    for (const text of ["0 ok", "1 failed", "2 usage", "3 timed out", "4 broker unreachable", "5 already running"]) {
      expect(stdout).toContain(text);
    }
  });

  test("command --help exits 0", async () => {
    const { code, stdout } = await runCli(["listen", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--topic");
  });

  test("--version prints version", async () => {
    const { code, stdout } = await runCli(["--version"]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${packageJson.version}\n`);
  });

  test("no arguments is usage", async () => {
    const { code, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stderr).toContain("run");
  });
});

describe("ven usage errors", () => {
  test("unknown command suggests listen", async () => {
    const { code, stderr } = await runCli(["lsten"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command");
    expect(stderr).toContain("ven listen");
  });

  test.each([
    ["listen", "--tpoic", "x", "--topic"],
    ["run", "--keepalve", "30", "--keepalive"],
    ["config", "--intreval", "5", "--interval"],
  ])("%s %s suggests flag", async (command, typo, value, suggestion) => {
    const { code, stderr } = await runCli([command, typo, value]);
    expect(code).toBe(2);
    expect(stderr).toContain(`unknown option ${typo}`);
    expect(stderr).toContain(`Did you mean ${suggestion}?`);
  });

  test("flag without value", async () => {
    const { code, stderr } = await runCli(["config", "--interval"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--interval needs a value");
  });

  test("flag followed by flag", async () => {
    const { code, stderr } = await runCli(["config", "--interval", "--seed", "3"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--interval needs a value");
  });

  test("stray argument", async () => {
    const { code, stderr } = await runCli(["config", "extra"]);
    expect(code).toBe(2);
    expect(stderr).toContain('"extra"');
  });

  test("same flag twice differs", async () => {
    expect((await runCli(["config", "--interval", "5", "--interval", "6"])).code).toBe(2);
  });

  test("usage errors print nothing on stdout", async () => {
    expect((await runCli(["config", "--nope"])).stdout).toBe("");
  });
});

describe("ven config", () => {
  let pki: TestPki;
  let cwd: string;

  beforeAll(async () => {
    pki = await makeTestPki();
    cwd = await makeTempDir("ven-cli-config-");
  });

  afterAll(async () => {
    await removeTempDir(cwd);
  });

  test("invalid VEN_INTERVAL exits 2", async () => {
    const { code, stderr } = await runCli(["config"], { env: { VEN_INTERVAL: "abc" } });
    expect(code).toBe(2);
    expect(stderr).toContain("--interval");
    expect(stderr).toContain('"abc"');
    expect(stderr).toContain("VEN_INTERVAL");
  });

  test("jsonl prints one object", async () => {
    const { code, stdout } = await runCli(["config", "--output", "jsonl"]);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(parseConfigOutput(stdout).settings.venId?.value).toBe("ven-test-host");
  });

  test("jsonl is the default off a terminal", async () => {
    const { stdout } = await runCli(["config"]);
    expect(parseConfigOutput(stdout).settings.output?.source).toBe("default");
  });

  test("jsonl shows each source", async () => {
    const file = join(cwd, "ven.config.json");
    writeFileSync(file, JSON.stringify({ panelAmps: 150, interval: 30 }));
    const { stdout } = await runCli(["config", "--output", "jsonl", "--interval", "7"], { cwd, env: { VEN_KEEPALIVE: "45" } });
    const { settings, file: shownFile } = parseConfigOutput(stdout);
    expect(shownFile).toBe(file);
    expect(settings.interval).toEqual({ value: 7, source: "--interval" });
    expect(settings.keepalive).toEqual({ value: 45, source: "VEN_KEEPALIVE" });
    expect(settings.panelAmps).toEqual({ value: 150, source: `file ${file}` });
    expect(settings.logLevel).toEqual({ value: "info", source: "default" });
  });

  test("state dir under temp HOME", async () => {
    const { stdout } = await runCli(["config"]);
    expect(parseConfigOutput(stdout).settings.stateDir?.value).toMatch(/\/\.local\/state\/ven\/ven-test-host$/);
  });

  test("pretty lists every setting", async () => {
    const { code, stdout } = await runCli(["config", "--output", "pretty"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Configuration of ven-test-host");
    expect(stdout).toMatch(/^\s+interval\s+5\s+default$/m);
  });

  test.each(["jsonl", "pretty"])("hides password in %s", async (output) => {
    const { code, stdout, stderr } = await runCli(["config", "--output", output], { env: { VEN_PASSWORD: "s3cret-value" } });
    expect(code).toBe(0);
    expect(stdout).not.toContain("s3cret-value");
    expect(stderr).not.toContain("s3cret-value");
    expect(stdout).toContain("(redacted)");
  });

  test("hides password given as flag", async () => {
    const { stdout } = await runCli(["config", "--password", "s3cret-value"]);
    expect(stdout).not.toContain("s3cret-value");
  });

  test("mismatched key exits 2", async () => {
    const args = ["config", "--broker", "mqtts://127.0.0.1:8883", "--cert", pki.files.clientCert, "--key", pki.files.otherKey];
    const { code, stderr } = await runCli(args, { clock: new ManualClock(Date.now()) });
    expect(code).toBe(2);
    expect(stderr).toContain(pki.files.otherKey);
    expect(stderr).toContain(pki.files.clientCert);
  });

  test("matching key exits 0", async () => {
    const args = ["config", "--broker", "mqtts://127.0.0.1:8883", "--ca", pki.files.caCert, "--cert", pki.files.clientCert, "--key", pki.files.clientKey];
    const { code, stderr } = await runCli(args, { clock: new ManualClock(Date.now()) });
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  test("config warnings go to stderr", async () => {
    const { code, stderr } = await runCli(["config", "--interval", "60"]);
    expect(code).toBe(0);
    expect(stderr).toContain("WARN");
    expect(stderr).toContain("60 s");
  });
});

describe("ExitCode", () => {
  test("table is 0 to 5", () => {
    expect(ExitCode).toEqual({ ok: 0, failed: 1, usage: 2, timedOut: 3, brokerUnreachable: 4, alreadyRunning: 5 });
  });
});
