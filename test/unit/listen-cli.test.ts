import { describe, expect, test } from "bun:test";
import { runCli } from "../helpers/cli.ts";

// Every case here fails before any connection is made; the broker port 9 is never dialled.
const BROKER = ["--broker", "mqtt://127.0.0.1:9"];

describe("listen --share checks", () => {
  test("embedded broker is rejected", async () => {
    const { code, stderr } = await runCli(["listen", "--share", "group"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--share needs a broker with MQTT 5 shared subscriptions");
    expect(stderr).toContain("--broker");
  });

  test("MQTT 3.1.1 is rejected", async () => {
    const { code, stderr } = await runCli(["listen", ...BROKER, "--mqtt-version", "3.1.1", "--share", "group"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--share needs MQTT 5");
  });

  test("MQTT 3.1.1 from variable is rejected", async () => {
    const { code, stderr } = await runCli(["listen", ...BROKER, "--share", "group"], { env: { VEN_MQTT_VERSION: "3.1.1" } });
    expect(code).toBe(2);
    expect(stderr).toContain("--share needs MQTT 5");
  });

  test.each(["a/b", "a+", "#", ""])("group %p is rejected", async (group) => {
    const { code, stderr } = await runCli(["listen", ...BROKER, `--share=${group}`]);
    expect(code).toBe(2);
    expect(stderr).toContain("Invalid --share");
  });
});

describe("listen --stats checks", () => {
  test("--stats-interval needs --stats", async () => {
    const { code, stderr } = await runCli(["listen", ...BROKER, "--stats-interval", "5"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--stats-interval needs --stats");
  });

  test.each(["0", "-1", "x"])("--stats-interval %p is rejected", async (value) => {
    const { code, stderr } = await runCli(["listen", ...BROKER, "--stats", `--stats-interval=${value}`]);
    expect(code).toBe(2);
    expect(stderr).toContain("--stats-interval must be a positive number of seconds");
  });

  test("help lists both flags", async () => {
    const { stdout } = await runCli(["listen", "--help"]);
    expect(stdout).toContain("--share");
    expect(stdout).toContain("--stats");
    expect(stdout).toContain("--stats-interval");
  });
});
